"""Implicit differentiation of the solution of ``f(x, theta) = 0``.

One small module used by all three suites. The forward pass runs any solver; the
backward pass applies the implicit function theorem at the solver's output::

    dx*/dtheta = -(df/dx)^{-1} df/dtheta

so for a cotangent ``g`` on ``x*`` the cotangent on ``theta`` is ``-(df/dtheta)^T v``
with ``(df/dx)^T v = g``. ``method`` says how ``v`` is obtained:

=========== ===================================================================
identity    ``v = g`` (the paper's default approximation, one VJP, no solve)
cg          conjugate gradient on ``(df/dx + damping I) v = g``; ``df/dx`` must be
            symmetric positive (semi-)definite, as for ``f = grad_x L``
gmres       restarted GMRES on ``(df/dx)^T v = g``: any non-singular Jacobian,
            e.g. ``f = x - T(x, theta)`` for a fixed point of ``T``
bicgstab    BiCGSTAB on the same non-symmetric system
dense       materialise ``df/dx`` and solve exactly (tiny problems only)
=========== ===================================================================

Where ``f`` is the gradient of a loss in ``x`` (the minimiser of an inner loss, as in
OMD), ``argmin_solve`` takes the loss itself: the same derivative, with every product
by the Hessian taken forward-over-reverse (a JVP in ``x`` of the loss or its gradient)
instead of as a VJP of the gradient: the same FLOPs, which XLA:CPU runs faster
(``docs/results/performance.md``).

The backward pass is a ``jax.custom_vjp`` rather than ``lax.custom_root`` because
reverse-mode through ``custom_root`` with an iterative tangent solve fails on
current JAX. Values that ``f`` closes over (batches, targets, network constants)
are hoisted with ``jax.closure_convert`` so they receive their cotangents too.

Where ``f`` (or the loss) must be evaluated at more of the solver's output than ``x``
itself (OMD's inner loss needs the target, actor and temperature its inner SAC steps
produced), ``f_takes_aux=True`` / ``loss_takes_aux=True`` passes the solver's ``aux``
as a third argument, without gradient: ``f(x, theta, aux)``. It is the same as closing
``f`` over that ``aux``, so ``solve`` keeps the ``solve(x0, theta) -> (x, aux)``
contract and the callers need no value computed outside it.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

import jax
import jax.numpy as jnp
from jax import lax
from jax.flatten_util import ravel_pytree

METHODS = ("identity", "cg", "gmres", "bicgstab", "dense")

# Defaults per option; ``damping`` only applies to ``cg`` unless given explicitly.
_DEFAULTS = {"damping": None, "maxiter": 100, "tol": 1e-5, "restart": 20}


def root_solve(
    f: Callable[[Any, Any], Any],
    solve: Callable[[Any, Any], tuple[Any, Any]],
    x0: Any,
    theta: Any,
    method: str = "identity",
    *,
    f_takes_aux: bool = False,
    **options: Any,
) -> tuple[Any, Any]:
    """Solve ``f(x, theta) = 0`` with ``solve`` and differentiate ``x*`` implicitly.

    Args:
      f: ``f(x, theta)`` returns a pytree shaped like ``x`` that is zero at the
        solution. Write it so that ``df/dx`` is close to the identity or
        positive definite: ``x - T(x, theta)`` for a fixed point, ``grad_x L`` for
        a minimiser.
      solve: ``solve(x0, theta) -> (x, aux)`` with ``f(x, theta) ~ 0``. It is
        never differentiated; ``aux`` is returned unchanged, without gradient.
      x0: initial guess; no gradient flows to it.
      theta: parameters (any pytree) that the derivative is taken against.
      method: one of ``METHODS`` (see the module docstring).
      f_takes_aux: call ``f(x, theta, aux)`` with the solver's ``aux`` (no
        gradient flows to it): for an ``f`` that depends on more of the solved
        state than ``x``.
      **options: ``damping`` (``cg`` default 1e-5, others 0), ``maxiter``
        (default 100), ``tol`` (relative residual, default 1e-5) and ``restart``
        (GMRES, default 20).

    Returns:
      ``(x_star, aux)``; ``x_star`` carries the implicit derivative w.r.t. ``theta``.
    """
    x, aux, opts = _solve_forward(solve, x0, theta, method, options)
    f_closed, consts = jax.closure_convert(_bind_aux(f, aux) if f_takes_aux else f, x, theta)
    return _implicit(f_closed, method, opts, x, theta, *consts), aux


def argmin_solve(
    loss: Callable[[Any, Any], jax.Array],
    solve: Callable[[Any, Any], tuple[Any, Any]],
    x0: Any,
    theta: Any,
    method: str = "identity",
    *,
    loss_takes_aux: bool = False,
    **options: Any,
) -> tuple[Any, Any]:
    """``root_solve`` of ``f = grad_x loss``: ``x*`` minimises the scalar ``loss(x, theta)``.

    Same arguments and derivative as ``root_solve(jax.grad(loss), ...)`` (``df/dx``, the
    Hessian, is symmetric, so every method applies); the backward pass takes
    Hessian-vector products forward-over-reverse (see the module docstring).
    ``loss_takes_aux=True`` calls ``loss(x, theta, aux)`` with the solver's ``aux``,
    without gradient (as ``f_takes_aux`` of ``root_solve``).
    """
    x, aux, opts = _solve_forward(solve, x0, theta, method, options)
    loss_closed, consts = jax.closure_convert(_bind_aux(loss, aux) if loss_takes_aux else loss, x, theta)
    return _implicit_min(loss_closed, method, opts, x, theta, *consts), aux


def _bind_aux(fn, aux):
    """``fn(x, theta, aux)`` as ``(x, theta) -> ...``; ``aux`` is already stop-gradiented, so
    ``closure_convert`` hoists it like any closed-over value and its cotangent is dropped."""
    return lambda x, theta: fn(x, theta, aux)


def _solve_forward(solve, x0, theta, method, options):
    """Check the method and options, run ``solve``; returns ``(x, aux, frozen options)``."""
    if method not in METHODS:
        raise ValueError(f"Unknown implicit method {method!r}; choose one of {METHODS}.")
    unknown = set(options) - set(_DEFAULTS)
    if unknown:
        raise TypeError(f"Unknown root_solve options {sorted(unknown)}; allowed: {sorted(_DEFAULTS)}.")
    opts = {**_DEFAULTS, **options}
    if opts["damping"] is None:
        opts["damping"] = 1e-5 if method == "cg" else 0.0
    x, aux = solve(lax.stop_gradient(x0), lax.stop_gradient(theta))
    x, aux = lax.stop_gradient((x, aux))
    return x, aux, tuple(sorted(opts.items()))


@functools.partial(jax.custom_vjp, nondiff_argnums=(0, 1, 2))
def _implicit(f, method, opts, x, theta, *consts):
    del f, method, opts, theta, consts
    return x


def _implicit_fwd(f, method, opts, x, theta, *consts):
    return x, (x, theta, consts)


def _implicit_bwd(f, method, opts, res, g):
    x, theta, consts = res
    v = _transpose_solve(lambda y: f(y, theta, *consts), x, g, method, **dict(opts))
    _, vjp_params = jax.vjp(lambda t, c: f(x, t, *c), theta, consts)
    theta_bar, consts_bar = vjp_params(jax.tree.map(jnp.negative, v))
    return (jax.tree.map(jnp.zeros_like, x), theta_bar, *consts_bar)


_implicit.defvjp(_implicit_fwd, _implicit_bwd)


@functools.partial(jax.custom_vjp, nondiff_argnums=(0, 1, 2))
def _implicit_min(loss, method, opts, x, theta, *consts):
    del loss, method, opts, theta, consts
    return x


def _implicit_min_bwd(loss, method, opts, res, g):
    x, theta, consts = res
    grad_x = jax.grad(loss)

    def hvp(v):  # the Hessian is symmetric: H^T v = H v, a JVP of the gradient
        return jax.jvp(lambda y: grad_x(y, theta, *consts), (x,), (v,))[1]

    v = _transpose_solve(lambda y: grad_x(y, theta, *consts), x, g, method, matvec=hvp, **dict(opts))

    def directional(t, c):  # -<grad_x loss, v>, whose gradient in (t, c) is -(df/d(t, c))^T v
        return -jax.jvp(lambda y: loss(y, t, *c), (x,), (v,))[1]

    value, vjp_params = jax.vjp(directional, theta, consts)
    theta_bar, consts_bar = vjp_params(jnp.ones_like(value))
    return (jax.tree.map(jnp.zeros_like, x), theta_bar, *consts_bar)


_implicit_min.defvjp(_implicit_fwd, _implicit_min_bwd)


def _tree_dot(a: Any, b: Any) -> jax.Array:
    return sum(jnp.vdot(x, y) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)))


def conjugate_gradient(matvec: Callable[[Any], Any], b: Any, tol: float = 1e-5, maxiter: int = 100) -> Any:
    """``x`` with ``matvec(x) = b`` by conjugate gradient from ``x = 0``, on pytrees.

    SciPy's and ``jax.scipy.sparse.linalg.cg``'s iteration without a preconditioner (and the
    original's solver): it stops once ``|r|^2 <= tol^2 |b|^2`` or after ``maxiter`` products.

    Why not ``jax.scipy.sparse.linalg.cg`` itself: vmapped over seeds on XLA:CPU (jax 0.10.2),
    its result for the same inputs changed from one process to the next. CartPole's OMD at model
    hidden size 2 with ``--with_inv_jac``, 5 seeds, the first update from one saved state: in 8
    of 13 processes every seed's value network came out NaN or different (in the other 5, as
    unvmapped), also with its inner ``_cg_solve`` called directly; this loop gave the unvmapped
    result in all 14 processes tried. So multi-seed CG runs went NaN at their first update
    (docs/results/cartpole.md, "The conjugate-gradient inverse Jacobian").
    """
    def cond(carry):
        _, _, _, rs, k = carry
        return (rs > tol**2 * b_sq) & (k < maxiter)

    def body(carry):
        x, r, p, rs, k = carry
        ap = matvec(p)
        alpha = rs / _tree_dot(p, ap)
        x = jax.tree.map(lambda xi, pi: xi + alpha * pi, x, p)
        r = jax.tree.map(lambda ri, api: ri - alpha * api, r, ap)
        rs_new = _tree_dot(r, r)
        p = jax.tree.map(lambda ri, pi: ri + (rs_new / rs) * pi, r, p)
        return x, r, p, rs_new, k + 1

    b_sq = _tree_dot(b, b)
    start = (jax.tree.map(jnp.zeros_like, b), b, b, b_sq, 0)
    return lax.while_loop(cond, body, start)[0]


def _transpose_solve(fx: Callable[[Any], Any], x: Any, g: Any, method: str,
                    matvec: Callable[[Any], Any] | None = None, **opts: Any) -> Any:
    """Return ``v`` with ``(J + damping I)^T v = g``, ``J`` the Jacobian of ``fx`` at ``x``.

    ``identity`` returns ``g`` itself. ``matvec(v)`` gives ``J^T v`` to the iterative
    methods where there is a cheaper way than a VJP of ``fx`` (default).
    """
    if method == "identity":
        return g
    damping = opts.get("damping") or 0.0
    maxiter, tol = opts.get("maxiter", 100), opts.get("tol", 1e-5)
    if matvec is None:
        _, vjp_x = jax.vjp(fx, x)
        transposed = lambda v: vjp_x(v)[0]  # noqa: E731
    else:
        transposed = matvec

    def damped(v):
        return jax.tree.map(lambda a, b: a + damping * b, transposed(v), v)

    if method == "cg":
        v = conjugate_gradient(damped, g, tol=tol, maxiter=maxiter)
    elif method == "gmres":
        v, _ = jax.scipy.sparse.linalg.gmres(
            damped, g, tol=tol, maxiter=maxiter, restart=opts.get("restart", 20), solve_method="batched"
        )
    elif method == "bicgstab":
        v, _ = jax.scipy.sparse.linalg.bicgstab(damped, g, tol=tol, maxiter=maxiter)
    elif method == "dense":
        flat_x, unravel = ravel_pytree(x)
        flat_fx = lambda z: ravel_pytree(fx(unravel(z)))[0]
        jac = jax.jacfwd(flat_fx)(flat_x)
        jac = jac + damping * jnp.eye(jac.shape[0], dtype=jac.dtype)
        v = unravel(jnp.linalg.solve(jac.T, ravel_pytree(g)[0]))
    else:
        raise ValueError(f"Unknown implicit method {method!r}; choose one of {METHODS}.")
    return v
