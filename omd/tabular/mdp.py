"""The 2-state, 2-action MDP of the paper and exact soft dynamic programming on it.

All functions are pure and shape-generic (``P[a, s, s']``, ``r[s, a]``, ``Q[s, a]``);
call them inside ``jax.enable_x64(True)`` to get the float64 precision the tests
and the published numbers assume.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax
from jax.scipy.special import logsumexp

GAMMA = 0.9
ALPHA = 0.01  # softmax temperature of the policy, the value backup and the model logits

# Dadashi et al. (2019), App. A(d): P[a][s][s'] and r[s][a].
TRUE_TRANSITION = ((0.7, 0.3), (0.2, 0.8)), ((0.99, 0.01), (0.99, 0.01))
TRUE_REWARD = (-0.45, -0.1), (0.5, 0.5)
INITIAL_DISTRIBUTION = (0.5, 0.5)

# Reference values of the original notebook (soft optimal Q and the return of its policy).
Q_STAR_REFERENCE = (0.16363807, 0.06282009), (1.89091046, 0.66282009)
J_STAR_REFERENCE = 1.0272727


class MDP(NamedTuple):
    """Transition ``P[a, s, s']``, reward ``r[s, a]``, start distribution ``mu[s]``."""

    transition: jax.Array
    reward: jax.Array
    initial: jax.Array
    gamma: float = GAMMA
    alpha: float = ALPHA


def true_mdp() -> MDP:
    """The paper's MDP in the current default float precision."""
    dtype = jnp.result_type(float)
    return MDP(
        jnp.asarray(TRUE_TRANSITION, dtype),
        jnp.asarray(TRUE_REWARD, dtype),
        jnp.asarray(INITIAL_DISTRIBUTION, dtype),
    )


def solve_dominant(a: jax.Array, b: jax.Array) -> jax.Array:
    """Solve ``a x = b`` for a small strictly diagonally dominant ``a`` (unrolled elimination).

    Every system here is ``I - gamma M`` with ``M`` row-stochastic and ``gamma < 1``, so
    elimination without pivoting is stable; unrolled, it vectorises across a sweep
    where a batched LAPACK call pays a fixed cost per tiny matrix.
    """
    n = a.shape[-1]
    a = jnp.concatenate([a, b[..., None]], axis=-1)
    for k in range(n):
        row = a[..., k, :] / a[..., k, k, None]
        a = a - a[..., :, k, None] * row[..., None, :]
        a = a.at[..., k, :].set(row)
    return a[..., :, n]


def soft_value(q: jax.Array, alpha: float = ALPHA) -> jax.Array:
    """``V(s) = alpha * log sum_a exp(Q(s, a) / alpha)``."""
    return alpha * logsumexp(q / alpha, axis=-1)


def policy(q: jax.Array, alpha: float = ALPHA) -> jax.Array:
    """Softmax policy ``pi(a|s)`` of ``Q`` at temperature ``alpha``."""
    return jax.nn.softmax(q / alpha, axis=-1)


def bellman(q: jax.Array, transition: jax.Array, reward: jax.Array,
            gamma: float = GAMMA, alpha: float = ALPHA) -> jax.Array:
    """Soft Bellman optimality operator ``r + gamma * P V_alpha(Q)`` of any model."""
    return reward + gamma * jnp.einsum("ast,t->sa", transition, soft_value(q, alpha))


def bellman_residual(q, transition, reward, gamma=GAMMA, alpha=ALPHA):
    """``Q - B Q``: zero at the fixed point, Jacobian ``I - gamma P pi`` (near identity)."""
    return q - bellman(q, transition, reward, gamma, alpha)


@jax.jit
def solve_fixed_point(q0, transition, reward, gamma=GAMMA, alpha=ALPHA,
                      tol: float = 1e-12, max_iter: int = 100):
    """Fixed point of the soft Bellman operator by Newton's method from ``q0``.

    Newton on ``Q - B Q`` is soft policy iteration: each step evaluates the current
    softmax policy exactly (one 4x4 solve here), so a warm start converges in two or
    three steps where plain value iteration would need hundreds (contraction 0.9).
    Stops when ``max |Q - B Q| <= tol`` or after ``max_iter`` steps.

    Returns ``(q, (residual, iterations))``.
    """
    n_s, n_a = q0.shape
    n = n_s * n_a
    eye = jnp.eye(n, dtype=q0.dtype)

    def residual(q):
        return bellman_residual(q, transition, reward, gamma, alpha)

    def step(carry):
        q, res, _, it = carry
        # d(Q - B Q)/dQ[s,a; t,b] = delta - gamma P[a,s,t] pi[t,b]: the soft policy evaluation system.
        jac = eye - gamma * jnp.einsum("ast,tb->satb", transition, policy(q, alpha)).reshape(n, n)
        q = q - solve_dominant(jac, res.reshape(n)).reshape(n_s, n_a)
        res = residual(q)
        return q, res, jnp.max(jnp.abs(res)), it + 1

    def cond(carry):
        _, _, err, it = carry
        return (err > tol) & (it < max_iter)

    res0 = residual(q0)
    q, _, err, it = lax.while_loop(cond, step, (q0, res0, jnp.max(jnp.abs(res0)), jnp.asarray(0, jnp.int32)))
    return q, (err, it)


def policy_return(pi, mdp: MDP) -> jax.Array:
    """Exact return ``mu^T (I - gamma P_pi)^{-1} r_pi`` of policy ``pi[s, a]`` in ``mdp``."""
    p_pi = jnp.einsum("ast,sa->st", mdp.transition, pi)
    r_pi = jnp.sum(mdp.reward * pi, axis=-1)
    v = solve_dominant(jnp.eye(p_pi.shape[0], dtype=p_pi.dtype) - mdp.gamma * p_pi, r_pi)
    return mdp.initial @ v


@jax.jit
def expected_return(q, mdp: MDP) -> jax.Array:
    """Exact return of the softmax policy ``softmax(Q / alpha)`` in ``mdp`` (no entropy bonus)."""
    return policy_return(policy(q, mdp.alpha), mdp)


def deterministic_policies(mdp: MDP) -> jax.Array:
    """All ``|A|^|S|`` deterministic policies as one-hot ``pi[k, s, a]``."""
    n_s, n_a = mdp.reward.shape
    choices = jnp.stack(jnp.meshgrid(*[jnp.arange(n_a)] * n_s, indexing="ij"), -1).reshape(-1, n_s)
    return jax.nn.one_hot(choices, n_a, dtype=mdp.reward.dtype)


def policy_values(pi, mdp: MDP) -> jax.Array:
    """State values ``V^pi[s]`` (no entropy) of a batch of policies ``pi[k, s, a]``."""
    def one(p):
        p_pi = jnp.einsum("ast,sa->st", mdp.transition, p)
        r_pi = jnp.sum(mdp.reward * p, axis=-1)
        return solve_dominant(jnp.eye(p_pi.shape[0], dtype=p_pi.dtype) - mdp.gamma * p_pi, r_pi)
    return jax.vmap(one)(pi)


@jax.jit
def optimal_return(mdp: MDP) -> jax.Array:
    """Best return over deterministic policies (an optimal one is always deterministic)."""
    return jnp.max(policy_values(deterministic_policies(mdp), mdp) @ mdp.initial)


@jax.jit
def bellman_error(q, mdp: MDP) -> jax.Array:
    """Mean squared residual of the *true* soft Bellman operator at ``Q``."""
    return jnp.mean(bellman_residual(q, mdp.transition, mdp.reward, mdp.gamma, mdp.alpha) ** 2)


@jax.jit
def optimal_q(mdp: MDP, tol: float = 1e-12) -> jax.Array:
    """Soft-optimal ``Q*`` of ``mdp`` (Newton from zero)."""
    q, _ = solve_fixed_point(jnp.zeros_like(mdp.reward), mdp.transition, mdp.reward,
                             mdp.gamma, mdp.alpha, tol)
    return q
