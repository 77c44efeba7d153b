"""omd.implicit.root_solve and argmin_solve against closed forms, finite differences, unrolled
solvers and each other.

All checks run in float64 (a local x64 scope) so that tolerances can be tight.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest


from omd.implicit import METHODS, argmin_solve, root_solve

EXACT = ("cg", "gmres", "bicgstab", "dense")
NONSYM = ("gmres", "bicgstab", "dense")  # methods that accept a non-symmetric Jacobian
TIGHT = dict(tol=1e-12, maxiter=500)


@pytest.fixture(autouse=True)
def x64():
    with jax.enable_x64(True):
        yield


# --- a linear problem: x* = A^{-1} B theta, symmetric positive definite A --------------------

A = np.array([[4.0, 1.0, 0.5], [1.0, 3.0, 0.2], [0.5, 0.2, 2.0]])
B = np.array([[1.0, -2.0], [0.5, 1.0], [3.0, 0.0]])
C = np.array([1.0, -1.0, 2.0])  # outer loss c . x


def linear_f(x, theta):
    return A @ x - B @ theta  # gradient of 1/2 x'Ax - x'B theta


def linear_solve(x0, theta):
    return jnp.linalg.solve(A, B @ theta), {"iters": jnp.int32(1)}


@pytest.mark.parametrize("method", EXACT)
def test_linear_exact_methods_match_closed_form(method):
    theta = jnp.array([0.3, -0.7])
    options = dict(TIGHT, damping=0.0) if method == "cg" else TIGHT
    grad = jax.grad(lambda t: C @ root_solve(linear_f, linear_solve, jnp.zeros(3), t, method=method, **options)[0])(
        theta
    )
    analytic = B.T @ np.linalg.solve(A.T, C)
    np.testing.assert_allclose(grad, analytic, rtol=1e-9, atol=1e-10)


def test_cg_damping_default_is_small_and_applied():
    theta = jnp.array([0.3, -0.7])
    grad = jax.grad(lambda t: C @ root_solve(linear_f, linear_solve, jnp.zeros(3), t, method="cg", tol=1e-14)[0])(theta)
    damped = B.T @ np.linalg.solve(A.T + 1e-5 * np.eye(3), C)
    np.testing.assert_allclose(grad, damped, rtol=1e-9)
    assert not np.allclose(grad, B.T @ np.linalg.solve(A.T, C), rtol=1e-9, atol=0)


def test_identity_is_minus_vjp_of_f_in_theta():
    theta = jnp.array([0.3, -0.7])
    grad = jax.grad(lambda t: C @ root_solve(linear_f, linear_solve, jnp.zeros(3), t)[0])(theta)
    # -(df/dtheta)^T c with df/dtheta = -B
    np.testing.assert_allclose(grad, B.T @ C, rtol=1e-12)


def test_forward_value_and_aux_pass_through_and_x0_gets_no_gradient():
    theta = jnp.array([0.3, -0.7])
    x, aux = root_solve(linear_f, linear_solve, jnp.ones(3), theta, method="dense")
    np.testing.assert_allclose(x, np.linalg.solve(A, B @ theta), rtol=1e-12)
    assert int(aux["iters"]) == 1
    g_x0 = jax.grad(lambda x0: root_solve(linear_f, linear_solve, x0, theta, method="dense")[0].sum())(jnp.ones(3))
    np.testing.assert_array_equal(g_x0, np.zeros(3))


def test_bad_method_and_option_are_refused():
    with pytest.raises(ValueError, match="choose one of"):
        root_solve(linear_f, linear_solve, jnp.zeros(3), jnp.zeros(2), method="newton")
    with pytest.raises(TypeError, match="Unknown root_solve options"):
        root_solve(linear_f, linear_solve, jnp.zeros(3), jnp.zeros(2), method="cg", iters=3)


# --- the soft-Q fixed point of a small random MDP (temperature 1, gamma 0.9) -----------------

S, NA, GAMMA = 3, 2, 0.9


def random_mdp(seed=0):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(S, NA, S))
    rewards = rng.normal(size=(S, NA))
    return {"logits": jnp.asarray(logits), "r": jnp.asarray(rewards)}


def bellman(q, theta):
    p = jax.nn.softmax(theta["logits"], axis=-1)
    v = jax.nn.logsumexp(q, axis=-1)  # soft max with temperature 1
    return theta["r"] + GAMMA * p @ v


def fixed_point_f(q, theta):
    return q - bellman(q, theta)


def iterate(q0, theta, n=500):
    return jax.lax.fori_loop(0, n, lambda _, q: bellman(q, theta), q0)


def fp_solve(q0, theta):
    return iterate(q0, theta), None


def outer(q):
    return jnp.sum(jnp.sin(q) * jnp.arange(1.0, q.size + 1).reshape(q.shape))


def finite_difference(fun, theta, eps=1e-6):
    # One compilation for all 2n evaluations; eagerly, each would trace and compile its solver's loop again.
    fun = jax.jit(fun)
    flat, unravel = jax.flatten_util.ravel_pytree(theta)
    grads = []
    for i in range(flat.size):
        e = jnp.zeros_like(flat).at[i].set(eps)
        grads.append((fun(unravel(flat + e)) - fun(unravel(flat - e))) / (2 * eps))
    return jnp.stack(grads)


@pytest.mark.parametrize("method", NONSYM)
def test_soft_q_fixed_point_matches_finite_differences_and_unrolling(method):
    theta = random_mdp()
    q0 = jnp.zeros((S, NA))
    implicit = jax.grad(lambda t: outer(root_solve(fixed_point_f, fp_solve, q0, t, method=method, **TIGHT)[0]))(theta)
    unrolled = jax.grad(lambda t: outer(iterate(q0, t)))(theta)
    fd = finite_difference(lambda t: outer(iterate(q0, t)), theta)
    flat = jax.flatten_util.ravel_pytree(implicit)[0]
    np.testing.assert_allclose(flat, jax.flatten_util.ravel_pytree(unrolled)[0], rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(flat, fd, rtol=1e-6, atol=1e-8)


def test_identity_on_fixed_point_equals_hand_computed_vjp():
    theta = random_mdp(1)
    q_star = iterate(jnp.zeros((S, NA)), theta)
    g = jax.grad(outer)(q_star)
    # identity: theta_bar = -(d f / d theta)^T g = (d B / d theta)^T g
    _, vjp = jax.vjp(lambda t: bellman(q_star, t), theta)
    (expected,) = vjp(g)
    got = jax.grad(lambda t: outer(root_solve(fixed_point_f, fp_solve, jnp.zeros((S, NA)), t)[0]))(theta)
    for key in theta:
        np.testing.assert_allclose(got[key], expected[key], rtol=1e-12, atol=1e-14)


def test_cg_on_a_minimiser_matches_finite_differences():
    """f = grad_x L for a strictly convex L(x, theta); CG solves the Hessian system."""

    def loss(x, theta):
        return 0.5 * jnp.sum((x - theta["c"]) ** 2 * jnp.exp(theta["w"])) + 0.25 * jnp.sum(x**4)

    f = jax.grad(loss)

    def solve(x0, theta):
        # Newton iterations from x0: converges quadratically on this convex problem.
        def step(_, x):
            hess = jax.hessian(loss)(x, theta)
            return x - jnp.linalg.solve(hess, f(x, theta))

        return jax.lax.fori_loop(0, 50, step, x0), None

    theta = {"c": jnp.array([0.5, -1.0, 2.0]), "w": jnp.array([0.1, -0.3, 0.2])}
    outer_fn = lambda x: jnp.sum(x**3)
    via_cg = jax.grad(lambda t: outer_fn(root_solve(f, solve, jnp.zeros(3), t, method="cg", damping=0.0, **TIGHT)[0]))(
        theta
    )
    fd = finite_difference(lambda t: outer_fn(solve(jnp.zeros(3), t)[0]), theta)
    np.testing.assert_allclose(jax.flatten_util.ravel_pytree(via_cg)[0], fd, rtol=1e-6, atol=1e-8)


# --- transformations and pytrees ---------------------------------------------------------------


def implicit_grad(theta, method):
    return jax.grad(lambda t: outer(root_solve(fixed_point_f, fp_solve, jnp.zeros((S, NA)), t, method=method, **TIGHT)[0]))(
        theta
    )


@pytest.mark.parametrize("method", ("identity", "gmres", "dense"))
def test_jit_and_vmap_agree_with_eager(method):
    thetas = [random_mdp(s) for s in range(3)]
    eager = [implicit_grad(t, method) for t in thetas]
    batched = jax.tree.map(lambda *xs: jnp.stack(xs), *thetas)
    vmapped = jax.jit(jax.vmap(lambda t: implicit_grad(t, method)))(batched)
    for i, e in enumerate(eager):
        np.testing.assert_allclose(vmapped["r"][i], e["r"], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(vmapped["logits"][i], e["logits"], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("method", ("identity", "cg", "dense"))
def test_dict_of_arrays_x_and_closed_over_values(method):
    """x is a dict (as flax params are); f closes over a batch that gets its own gradient."""
    target = jnp.array([1.0, 2.0, -1.0])

    def run(theta, target):
        def f(x, th):  # gradient of 1/2|a - th*target|^2 + 1/2|b - 2 a|^2 ... in a and b
            return {"a": x["a"] - th * target - 2.0 * (x["b"] - 2.0 * x["a"]), "b": x["b"] - 2.0 * x["a"]}

        def solve(x0, th):
            return {"a": th * target, "b": 2.0 * th * target}, None

        options = dict(TIGHT, damping=0.0) if method == "cg" else TIGHT
        x, _ = root_solve(f, solve, {"a": jnp.zeros(3), "b": jnp.zeros(3)}, theta, method=method, **options)
        return jnp.sum(x["a"] * x["b"])

    theta = jnp.array(0.7)
    # exact: sum(a*b) = 2 th^2 |target|^2, d/dth = 4 th |t|^2, d/dtarget = 4 th^2 target
    g_theta, g_target = jax.jit(jax.grad(run, argnums=(0, 1)))(theta, target)
    if method == "identity":
        # -(df/dtheta)^T g with df/dth = (-target, 0), g = (b, a)
        np.testing.assert_allclose(g_theta, jnp.dot(target, 2.0 * theta * target), rtol=1e-12)
    else:
        np.testing.assert_allclose(g_theta, 4 * theta * jnp.sum(target**2), rtol=1e-8)
        np.testing.assert_allclose(g_target, 4 * theta**2 * target, rtol=1e-8)


# --- argmin_solve: root_solve of grad_x loss, backward pass forward-over-reverse ---------------


def convex_loss(x, theta, weight):
    """Strictly convex in x; ``weight`` is a closed-over value that gets a gradient too."""
    return 0.5 * jnp.sum(weight * (x - theta["c"]) ** 2 * jnp.exp(theta["w"])) + 0.25 * jnp.sum(x**4)


def newton_solve(x0, theta, weight):
    def step(_, x):
        grad = jax.grad(convex_loss)(x, theta, weight)
        return x - jnp.linalg.solve(jax.hessian(convex_loss)(x, theta, weight), grad)

    return jax.lax.fori_loop(0, 50, step, x0), None


# numpy float64: jnp arrays made at import, outside the x64 scope, would be float32.
CONVEX_THETA = {"c": np.array([0.5, -1.0, 2.0]), "w": np.array([0.1, -0.3, 0.2])}
WEIGHT = np.array([1.0, 2.0, 0.5])


def minimiser_grads(solver, method, loss_or_f):
    def run(theta, weight):
        options = dict(TIGHT, damping=0.0) if method == "cg" else TIGHT
        x, _ = solver(lambda x, t: loss_or_f(x, t, weight), lambda x0, t: newton_solve(x0, t, weight), jnp.zeros(3),
                      theta, method=method, **options)
        return jnp.sum(x**3)

    return jax.jit(jax.grad(run, argnums=(0, 1)))(CONVEX_THETA, WEIGHT)


@pytest.mark.parametrize("method", METHODS)
def test_argmin_solve_matches_root_solve_of_the_gradient(method):
    """Same derivative for theta and for a closed-over value, by every method."""
    got = minimiser_grads(argmin_solve, method, convex_loss)
    want = minimiser_grads(root_solve, method, jax.grad(convex_loss))
    for g, w in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
        np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12)
    if method != "identity":  # the exact methods give the true derivative
        fd = finite_difference(lambda t: jnp.sum(newton_solve(jnp.zeros(3), t, WEIGHT)[0] ** 3), CONVEX_THETA)
        np.testing.assert_allclose(jax.flatten_util.ravel_pytree(got[0])[0], fd, rtol=1e-6, atol=1e-8)
        fd_weight = finite_difference(lambda w: jnp.sum(newton_solve(jnp.zeros(3), CONVEX_THETA, w)[0] ** 3), WEIGHT)
        np.testing.assert_allclose(got[1], fd_weight, rtol=1e-6, atol=1e-8)


def test_argmin_solve_identity_is_minus_the_mixed_second_derivative():
    theta = CONVEX_THETA
    x_star = newton_solve(jnp.zeros(3), theta, WEIGHT)[0]
    g = 3 * x_star**2
    expected = jax.grad(lambda t: -jnp.dot(jax.grad(convex_loss)(x_star, t, WEIGHT), g))(theta)
    got = jax.grad(lambda t: jnp.sum(argmin_solve(lambda x, th: convex_loss(x, th, WEIGHT),
                                                  lambda x0, th: newton_solve(x0, th, WEIGHT), jnp.zeros(3), t)[0] ** 3))(theta)
    for key in theta:
        np.testing.assert_allclose(got[key], expected[key], rtol=1e-12, atol=1e-14)


def test_argmin_solve_checks_its_method_and_options():
    with pytest.raises(ValueError, match="Unknown implicit method 'newton'"):
        argmin_solve(convex_loss, newton_solve, jnp.zeros(3), CONVEX_THETA, method="newton")
    with pytest.raises(TypeError, match="Unknown root_solve options"):
        argmin_solve(convex_loss, newton_solve, jnp.zeros(3), CONVEX_THETA, iters=3)


# --- loss_takes_aux / f_takes_aux: the loss also reads the solver's aux, without gradient -------

X0 = np.array([0.1, -0.2, 0.3])


def aux_solve(x0, theta):
    """Minimises ``convex_loss`` with a weight the solver makes from ``x0``: its aux, a constant for d/dtheta."""
    weight = WEIGHT * jnp.exp(x0)
    return newton_solve(x0, theta, weight)[0], {"weight": weight}


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("solver", ["argmin_solve", "root_solve"])
def test_takes_aux_matches_the_closure_form_and_finite_differences(solver, method):
    options = dict(TIGHT, damping=0.0) if method == "cg" else TIGHT
    fn, call, flag = ((convex_loss, argmin_solve, "loss_takes_aux") if solver == "argmin_solve"
                      else (jax.grad(convex_loss), root_solve, "f_takes_aux"))
    weight = WEIGHT * np.exp(X0)

    def with_aux(theta):
        x, aux = call(lambda x, t, a: fn(x, t, a["weight"]), aux_solve, X0, theta, method=method,
                      **{flag: True}, **options)
        return jnp.sum(x**3), aux

    def closure(theta):
        x, _ = call(lambda x, t: fn(x, t, weight), aux_solve, X0, theta, method=method, **options)
        return jnp.sum(x**3)

    (_, aux), got = jax.jit(jax.value_and_grad(with_aux, has_aux=True))(CONVEX_THETA)
    want = jax.jit(jax.grad(closure))(CONVEX_THETA)
    np.testing.assert_allclose(aux["weight"], weight, rtol=1e-15)
    for key in CONVEX_THETA:
        np.testing.assert_allclose(got[key], want[key], rtol=1e-12, atol=1e-14)
    if method != "identity":
        fd = finite_difference(lambda t: jnp.sum(aux_solve(X0, t)[0] ** 3), CONVEX_THETA)
        np.testing.assert_allclose(jax.flatten_util.ravel_pytree(got)[0], fd, rtol=1e-6, atol=1e-8)
    else:  # identity: minus the mixed second derivative at the solution, with the aux weight
        x_star = aux_solve(X0, CONVEX_THETA)[0]
        mixed = jax.grad(lambda t: -jnp.dot(jax.grad(convex_loss)(x_star, t, weight), 3 * x_star**2))(CONVEX_THETA)
        for key in CONVEX_THETA:
            np.testing.assert_allclose(got[key], mixed[key], rtol=1e-12, atol=1e-14)


# --- the conjugate-gradient loop itself ------------------------------------------------------

def _spd(key, n):
    m = jax.random.normal(key, (n, n))
    return m @ m.T + 0.1 * jnp.eye(n)


def test_conjugate_gradient_solves_pytree_systems_vmapped_as_one_by_one():
    """Against a dense solve; vmapped over systems of different conditioning (so members stop at
    different iterations), each member's answer is the one it gets alone, as
    ``jax.scipy.sparse.linalg.cg``'s was not on XLA:CPU (``conjugate_gradient``'s docstring)."""
    from omd.implicit import conjugate_gradient

    mats = jnp.stack([_spd(k, 5) for k in jax.random.split(jax.random.key(0), 4)])
    mats = mats.at[1].multiply(1e3)  # one ill-scaled member
    rhs = jax.random.normal(jax.random.key(1), (4, 5))

    def solve(m, b):  # the unknown as a pytree {"a": 2 entries, "b": 3 entries}
        tree = {"a": b[:2], "b": b[2:]}
        matvec = lambda t: (lambda y: {"a": y[:2], "b": y[2:]})(m @ jnp.concatenate([t["a"], t["b"]]))  # noqa: E731
        out = conjugate_gradient(matvec, tree, tol=1e-12, maxiter=50)
        return jnp.concatenate([out["a"], out["b"]])

    batched = jax.jit(jax.vmap(solve))(mats, rhs)
    for i in range(4):
        np.testing.assert_allclose(batched[i], np.linalg.solve(mats[i], rhs[i]), rtol=1e-9)
        np.testing.assert_allclose(batched[i], jax.jit(solve)(mats[i], rhs[i]), rtol=1e-12)  # to rounding


def test_conjugate_gradient_stops_at_maxiter():
    """One iteration from x = 0 is the steepest-descent step (r.r / r.Ar) r."""
    from omd.implicit import conjugate_gradient

    m, b = _spd(jax.random.key(2), 4), jnp.arange(1.0, 5.0)
    step = conjugate_gradient(lambda v: m @ v, b, tol=1e-12, maxiter=1)
    np.testing.assert_allclose(step, (b @ b) / (b @ m @ b) * b, rtol=1e-12)
