"""Tabular suite: reference values, exact fixed points, implicit gradients, projections, Figure 1."""

import jax
import jax.flatten_util
import jax.numpy as jnp
import numpy as np
import pytest

from omd import tabular
from omd.tabular import agents, mdp as mdp_lib, model as model_lib, train
from omd.tabular.plots import PUBLISHED_FIGURE_1


@pytest.fixture(autouse=True)
def x64():
    with jax.enable_x64(True):
        yield


def test_true_mdp_references():
    m = mdp_lib.true_mdp()
    q = mdp_lib.optimal_q(m)
    np.testing.assert_allclose(q, np.asarray(mdp_lib.Q_STAR_REFERENCE), atol=1e-6)
    assert abs(float(mdp_lib.optimal_return(m)) - 1.0272727) < 1e-6
    # The softmax policy of Q* at alpha = 0.01 is within 2e-5 of the optimum.
    assert 0 < float(mdp_lib.optimal_return(m) - mdp_lib.expected_return(q, m)) < 2e-5


def test_expected_return_matches_monte_carlo_free_power_series():
    m = mdp_lib.true_mdp()
    pi = jax.nn.softmax(jnp.array([[0.3, -0.2], [1.0, 0.4]]), axis=-1)
    p_pi = jnp.einsum("ast,sa->st", m.transition, pi)
    r_pi = jnp.sum(m.reward * pi, -1)
    v, disc = jnp.zeros(2), jnp.eye(2)
    for _ in range(600):  # sum_t gamma^t P_pi^t r_pi
        v, disc = v + disc @ r_pi, m.gamma * disc @ p_pi
    np.testing.assert_allclose(mdp_lib.policy_return(pi, m), m.initial @ v, atol=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_newton_fixed_point_matches_value_iteration(seed):
    k1, k2, k3 = jax.random.split(jax.random.key(seed), 3)
    p = jax.nn.softmax(jax.random.normal(k1, (2, 2, 2)) * 3, -1)
    r = jax.random.normal(k2, (2, 2))
    q, (err, it) = mdp_lib.solve_fixed_point(jax.random.normal(k3, (2, 2)) * 5, p, r)
    q_vi = jnp.zeros((2, 2))
    for _ in range(400):
        q_vi = mdp_lib.bellman(q_vi, p, r)
    np.testing.assert_allclose(q, q_vi, atol=1e-10)
    assert err <= 1e-12 and it < 20


def _random_params(seed):
    k1, k2 = jax.random.split(jax.random.key(seed))
    # logits / alpha in [0, 2]: an unsaturated softmax, so every entry has a gradient.
    return {"logits": jax.random.uniform(k1, (2, 2, 2)) * 0.02, "reward": jax.random.normal(k2, (2, 2))}


@pytest.mark.parametrize("objective", ["return", "bellman"])
@pytest.mark.parametrize("method", ["dense", "gmres"])
def test_omd_gradient_matches_finite_differences(objective, method):
    m = mdp_lib.true_mdp()
    params = _random_params(3)
    loss = agents.make_loss("omd", objective, method)
    q0 = jnp.zeros((2, 2))
    grad = jax.jit(jax.grad(lambda p: loss(p, q0, jnp.zeros((2, 2)), m)[0]))(params)

    @jax.jit
    def outer(p):  # the outer objective of the exact fixed point, no implicit differentiation
        q, _ = agents.model_fixed_point(q0, p, m)
        return -mdp_lib.expected_return(q, m) if objective == "return" else mdp_lib.bellman_error(q, m)

    flat, unravel = jax.flatten_util.ravel_pytree(params)
    eps = 1e-6
    fd = np.array([(outer(unravel(flat.at[i].add(eps))) - outer(unravel(flat.at[i].add(-eps)))) / (2 * eps)
                   for i in range(flat.size)])
    got = np.asarray(jax.flatten_util.ravel_pytree(grad)[0])
    np.testing.assert_allclose(got, fd, rtol=1e-5, atol=1e-8 * np.abs(fd).max())


def test_identity_gradient_is_the_vjp_of_the_model_backup():
    m = mdp_lib.true_mdp()
    params = _random_params(4)
    q0 = jnp.zeros((2, 2))
    got = jax.jit(jax.grad(lambda p: agents.make_loss("omd", "bellman", "identity")(p, q0, jnp.zeros((2, 2)), m)[0]))(params)
    q, _ = agents.model_fixed_point(q0, params, m)
    g = jax.grad(lambda x: mdp_lib.bellman_error(x, m))(q)
    _, vjp = jax.vjp(lambda p: mdp_lib.bellman(q, model_lib.transition(p), p["reward"]), params)
    (want,) = vjp(g)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-14), got, want)
    exact = jax.jit(jax.grad(lambda p: agents.make_loss("omd", "bellman", "dense")(p, q0, jnp.zeros((2, 2)), m)[0]))(params)
    assert not np.allclose(exact["reward"], got["reward"])  # the approximation is not exact here


@pytest.mark.parametrize("mode", ["leafwise", "joint"])
def test_project_lands_on_the_ball_and_keeps_inner_points(mode):
    params = {"logits": jax.random.uniform(jax.random.key(0), (2, 2, 2)),
              "reward": jax.random.uniform(jax.random.key(1), (2, 2))}
    for kappa in (0.0, 0.3, 2.0, 50.0):
        out = model_lib.project(params, kappa, mode)
        norms = model_lib.constraint_norms(out, mode)
        assert np.all(norms <= kappa * (1 + 1e-12) + 1e-15)
    inner = jax.tree.map(lambda x: x * 1e-4, params)
    same = model_lib.project(inner, 1e3, mode)
    jax.tree.map(np.testing.assert_array_equal, same, inner)


def test_projected_adam_keeps_every_iterate_inside_the_ball():
    cfg = train.TrainConfig(agent="mle", max_iter=0, chunk=0)
    m = mdp_lib.true_mdp()
    kappas = jnp.array([0.0, 0.4, 1.5, 0.4, 1.5])
    modes = ["leafwise", "leafwise", "leafwise", "joint", "joint"]
    mode_ids = jnp.array([model_lib.PROJECTIONS.index(x) for x in modes])
    seeds = jnp.arange(1, 6)
    state = train._init_batch(cfg, m, seeds)
    for step in range(1, 31):  # one projected Adam step per compiled call
        state = train._advance_batch(cfg, m, state, seeds, kappas, jnp.zeros(5), mode_ids, step, False)
        for i, mode in enumerate(modes):
            params = jax.tree.map(lambda x: x[i], state["params"])
            assert np.all(model_lib.constraint_norms(params, mode) <= kappas[i] * (1 + 1e-12) + 1e-15), (step, i)
    assert np.all(state["step"] == np.where(state["done"], state["step"], 30))


def test_bad_names_are_refused_with_the_choices():
    with pytest.raises(ValueError, match="leafwise"):
        tabular.misspecification("omd", [1.0], 1, projections=("ball",))
    with pytest.raises(ValueError, match="omd"):
        tabular.misspecification("dyna", [1.0], 1)
    with pytest.raises(ValueError, match=">= 0"):
        tabular.misspecification("omd", [-1.0], 1)
    with pytest.raises(ValueError, match="at least one seed"):
        tabular.misspecification("omd", [1.0], 0)
    with pytest.raises(ValueError, match="identity"):
        tabular.sensitivity([0.1], 1, methods=("newton",))


GRID = np.linspace(0, 6, 20)
PUBLISHED_KAPPAS = [GRID[np.argmin(np.abs(GRID - k))] for k in PUBLISHED_FIGURE_1]


@pytest.fixture(scope="module")
def figure_1():
    """MLE and OMD (expected-return objective, leafwise ball) at the published kappas, 10 seeds, full budget."""
    return {agent: tabular.misspecification(agent, PUBLISHED_KAPPAS, 10) for agent in ("mle", "omd")}


@pytest.fixture(scope="module")
def omd_bellman():
    return tabular.misspecification("omd", [0.5, 3.0, np.inf], 3, objective="bellman", max_iter=3000)


def test_figure_1_matches_the_published_values_leafwise(figure_1):
    """The published points, read off by eye (about +-0.05), at the nearest linspace(0, 6, 20) kappa."""
    published = np.array(list(PUBLISHED_FIGURE_1.values()))
    for column, agent in enumerate(("mle", "omd")):
        got = figure_1[agent]["return"][0].mean(-1)
        np.testing.assert_allclose(got, published[:, column], atol=0.05, err_msg=agent)


def test_seeds_differ_and_repeat(figure_1):
    compiled = train._advance_batch._cache_size()
    again = tabular.misspecification("mle", PUBLISHED_KAPPAS, 10, max_iter=3)
    first = tabular.misspecification("mle", PUBLISHED_KAPPAS, 10, max_iter=3)
    assert train._advance_batch._cache_size() == compiled  # a new budget reuses the compiled sweep
    np.testing.assert_array_equal(first["logits"], again["logits"])
    logits = figure_1["mle"]["logits"][0, 2]  # 10 seeds at one kappa
    assert len({tuple(np.round(x.ravel(), 6)) for x in logits}) > 1


def test_unbounded_omd_bellman_finds_true_q_with_deterministic_model(omd_bellman):
    table = tabular.deterministic_model({k: v[:, -1] for k, v in omd_bellman.items()})
    np.testing.assert_allclose(table.model_q, table.true_q, atol=1e-6)
    # ... while its transitions are (nearly) deterministic, unlike the true ones.
    assert np.all(np.max(table.model_transition, -1) > 0.99)
    assert np.max(np.abs(table.model_transition - table.true_transition)) > 0.5


def test_error_bounds_hold(figure_1, omd_bellman):
    omd = tabular.error_bounds({k: v[0] for k, v in omd_bellman.items()}, "omd")
    # The MLE bound is about the exact fixed point of the learned model.
    mle_runs = {k: v[0] for k, v in figure_1["mle"].items()}
    mle = tabular.error_bounds({**mle_runs, "q": mle_runs["q_model"]}, "mle")
    for name, b in (("omd", omd), ("mle", mle)):
        assert np.all(b["error"] >= 0) and np.all(b["gap"] >= -1e-9), (name, b)
    assert np.min(omd["error"][-1]) < 1e-6  # no bound: OMD recovers Q*
