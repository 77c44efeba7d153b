"""SAC pieces and the OMD model gradient (library level, no environment)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from omd.sac import updates
from omd.sac.agent import init_state, make_agent
from omd.sac.config import SACConfig
from omd.sac.losses import critic_grad, critic_loss, model_batch
from omd.sac.networks import Actor, sample_action
from omd.sac.updates import noise, sac_step

OBS, ACT, BATCH = 3, 2, 16


def _batch(key, dtype=jnp.float32):
    ks = jax.random.split(key, 4)
    return {
        "obs": jax.random.normal(ks[0], (BATCH, OBS), dtype),
        "action": jax.random.uniform(ks[1], (BATCH, ACT), dtype, -1, 1),
        "reward": jax.random.normal(ks[2], (BATCH,), dtype),
        "mask": jnp.ones((BATCH,), dtype),
        "next_obs": jax.random.normal(ks[3], (BATCH, OBS), dtype),
    }


def test_tanh_gaussian_log_prob_matches_change_of_variables():
    actor = Actor((8,), ACT)
    obs = jax.random.normal(jax.random.PRNGKey(0), (64, OBS))
    params = actor.init(jax.random.PRNGKey(1), obs)
    eps = jax.random.normal(jax.random.PRNGKey(2), (64, ACT))
    action, logp = jax.jit(lambda p: sample_action(actor, p, obs, eps))(params)
    mean, log_std = jax.jit(actor.apply)(params, obs)
    pre = jnp.arctanh(jnp.clip(action, -1 + 1e-6, 1 - 1e-6))
    expected = jnp.sum(jax.scipy.stats.norm.logpdf(pre, mean, jnp.exp(log_std)) - jnp.log(1 - action**2), -1)
    ok = jnp.all(jnp.abs(action) < 0.999, -1)  # the naive formula overflows where tanh saturates
    assert ok.sum() > 32
    np.testing.assert_allclose(logp[ok], expected[ok], rtol=1e-3, atol=1e-3)
    assert jnp.all(jnp.isfinite(logp))


def test_target_follows_the_update_period():
    agent = make_agent(SACConfig(hidden_dims=(8,), target_update_period=2, tau=0.5), OBS, ACT)
    state = init_state(agent, jax.random.PRNGKey(0))
    batch = _batch(jax.random.PRNGKey(1))
    step = jax.jit(lambda s, k: sac_step(agent, s, batch, noise(agent, k, (2,), batch)))
    one, _ = step(state.sac, jax.random.PRNGKey(2))
    two, metrics = step(one, jax.random.PRNGKey(3))
    same = jax.tree.map(jnp.array_equal, one.critic.target_params, state.sac.critic.target_params)
    assert all(jax.tree.leaves(same))
    assert int(one.critic.step) == 1 and int(two.critic.step) == 2  # the critic's step counts SAC updates
    expected = jax.tree.map(lambda c, t: 0.5 * c + 0.5 * t, two.critic.params, one.critic.target_params)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6), two.critic.target_params, expected)
    # The temperature moves toward the entropy target: entropy above it lowers the temperature.
    assert (metrics["entropy"] > agent.target_entropy) == (two.temp.params["log_temp"] < one.temp.params["log_temp"])


def _converged_critic_solver(loss_noise, steps=4000, lr=0.1):
    """Gradient descent on the critic loss alone (actor, target, temperature fixed) to convergence,
    with ``loss_noise``, the implicit loss's next-action noise, so that its minimiser is the IFT's point."""

    def solver(agent, sac, mbatch, steps_noise):
        def step(_, w):
            return jax.tree.map(lambda p, g: p - lr * g, w, critic_grad(agent, w, sac, mbatch, loss_noise)[0])

        w = jax.lax.fori_loop(0, steps, step, sac.critic.params)
        return sac.replace(critic=sac.critic.replace(params=w)), {}

    return solver


@pytest.mark.parametrize("method", ["cg"])
def test_omd_model_gradient_matches_finite_differences(method):
    """Linear critic (quadratic inner loss) solved to convergence: the IFT gradient is exact."""
    with jax.enable_x64(True):
        cfg = SACConfig(hidden_dims=(), model_hidden_dim=4, implicit=method, cg_damping=0.0, cg_maxiter=200)
        agent = make_agent(cfg, OBS, ACT)
        state = init_state(agent, jax.random.PRNGKey(0))
        state = jax.tree.map(lambda x: x.astype(jnp.float64) if jnp.issubdtype(x.dtype, jnp.floating) else x, state)
        # Zero-initialised biases put ReLU pre-activations exactly at the kink (a sample whose first
        # layer is all negative feeds 0 to the second); jitter the model away from it.
        leaves, tree = jax.tree.flatten(state.model.params)
        keys = jax.random.split(jax.random.PRNGKey(7), len(leaves))
        jitter = [x + 0.1 * jax.random.normal(k, x.shape, x.dtype) for x, k in zip(leaves, keys)]
        state = state.replace(model=state.model.replace(params=jax.tree.unflatten(tree, jitter)))
        # The implicit loss stops the gradient at the actor's input, which finite differences cannot
        # do; an actor that ignores its input makes both derivatives the same.
        actor = jax.tree.map(jnp.zeros_like, state.sac.actor.params)
        state = state.replace(sac=state.sac.replace(actor=state.sac.actor.replace(params=actor)))
        batch = _batch(jax.random.PRNGKey(1), jnp.float64)
        key = jax.random.PRNGKey(2)
        inner_noise, implicit_noise, outer_noise = updates.omd_noise(agent, key, batch)
        solver = _converged_critic_solver(implicit_noise)

        grads, _, _ = jax.jit(lambda s: updates.omd_model_grad(agent, s, batch, key, solver))(state)

        @jax.jit
        def outer_loss(theta):
            after, _ = solver(agent, state.sac, model_batch(agent, theta, batch), inner_noise)
            return critic_loss(agent, after.critic.params, after, batch, outer_noise)[0]

        theta = state.model.params
        identity_agent = make_agent(SACConfig(hidden_dims=(), model_hidden_dim=4), OBS, ACT)
        id_grads, _, _ = updates.omd_model_grad(identity_agent, state, batch, key, solver)
        flat = lambda t: jnp.concatenate([x.ravel() for x in jax.tree.leaves(t)])  # noqa: E731
        g, g_id = flat(grads), flat(id_grads)
        assert jnp.linalg.norm(g) > 1e-3
        eps = 1e-5
        for i in range(4):
            d = jax.tree.map(lambda x: jax.random.normal(jax.random.PRNGKey(10 + i), x.shape, x.dtype), theta)
            plus = outer_loss(jax.tree.map(lambda t, v: t + eps * v, theta, d))
            minus = outer_loss(jax.tree.map(lambda t, v: t - eps * v, theta, d))
            fd = (plus - minus) / (2 * eps)
            np.testing.assert_allclose(jnp.dot(g, flat(d)), fd, rtol=1e-4, atol=1e-7)
        # The identity approximation gives a different direction on the same problem.
        assert not np.allclose(g, g_id, rtol=1e-2)


@pytest.mark.parametrize("algo", ["omd", "sac"])
def test_fused_two_call_and_flat_steps_store_the_transition_and_agree(algo, monkeypatch):
    from omd.sac import env_step as env_step_lib
    from omd.sac.env_step import init_buffer, make_env_step
    from omd.sac.updates import UPDATES, make_update

    agent = make_agent(SACConfig(algo=algo, hidden_dims=(8,), model_hidden_dim=8, batch_size=4), OBS, ACT)
    rng = np.random.default_rng(0)
    steps = [({"obs": rng.standard_normal(OBS, np.float32), "action": rng.uniform(-1, 1, ACT).astype(np.float32),
               "reward": np.float32(rng.standard_normal()), "mask": np.float32(i != 3),
               "next_obs": rng.standard_normal(OBS, np.float32)}, rng.standard_normal(OBS, np.float32))
             for i in range(6)]
    results = []
    # flat (the default): the state packed, one vector per dtype (float32, int32 step counts,
    # uint32 key), and the metrics as one vector. On CPU only leaves of at most
    # CPU_PACKED_MAX_SIZE elements are packed: all of them at 1024 here, some at 8.
    for fused, flat, max_size in ((False, False, 0), (True, False, 0), (True, True, 1024), (False, True, 1024),
                                  (False, True, 8)):
        monkeypatch.setattr(env_step_lib, "CPU_PACKED_MAX_SIZE", max_size)
        step = make_env_step(agent, make_update(agent, UPDATES[algo]), learn=True, policy=True, fused=fused, flat=flat)
        state = init_state(agent, jax.random.PRNGKey(0))
        carry, buffer = step.to_carry(state), init_buffer(OBS, ACT, capacity=4)
        kept = sum(x.size > max_size for x in jax.tree.leaves(state))
        leaves = len(jax.tree.leaves(state))  # not pinned: the state's layout may change
        assert max_size != 8 or 0 < kept < leaves  # at 8 some leaves are packed and some kept
        assert len(jax.tree.leaves(carry)) == (3 + kept if flat else leaves)
        actions = []
        for transition, next_obs in steps:
            carry, buffer, action, metrics = step(carry, buffer, transition, next_obs)
            actions.append(np.asarray(action))
        state, metrics = step.from_carry(carry), step.read_metrics(metrics)
        # Capacity 4 after 6 steps: slots hold steps 4, 5, 2, 3, each field where it belongs.
        for slot, i in enumerate((4, 5, 2, 3)):
            for k, v in steps[i][0].items():
                np.testing.assert_array_equal(buffer.data[k][slot], v)
        assert int(buffer.size) == 4 and int(buffer.ptr) == 2
        results.append((state, actions, metrics))
    s0, a0, m0 = results[0]
    assert set(m0) == set(step.metric_shapes(s0, buffer))
    same = lambda x, y: np.testing.assert_array_equal(np.asarray(x), np.asarray(y))  # noqa: E731
    jax.tree.map(same, (s0, a0, m0), results[1])
    # Packing changes XLA's fusions, so some floats differ in the last bit.
    close = lambda x, y: np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=1e-5, atol=1e-7)  # noqa: E731
    for other in results[2:]:
        jax.tree.map(close, (s0, a0, m0), other)


@pytest.mark.parametrize("algo", ["omd", "mle"])
def test_outer_steps_2_is_two_updates_each_with_its_own_batch_and_key(algo):
    from dataclasses import replace

    from omd.sac.updates import UPDATES, make_update

    config = SACConfig(algo=algo, hidden_dims=(8,), model_hidden_dim=8, batch_size=BATCH)
    two, one = make_agent(replace(config, outer_steps=2), OBS, ACT), make_agent(config, OBS, ACT)
    state = init_state(two, jax.random.PRNGKey(0))
    batch_fn = lambda key, i: _batch(key)  # noqa: E731  (the batch follows the key alone)
    got, _ = jax.jit(lambda s: make_update(two, UPDATES[algo])(s, batch_fn))(state)
    step = jax.jit(lambda s: make_update(one, UPDATES[algo])(s, batch_fn)[0])
    want = step(step(state))
    # equal up to the last bits that fusing two steps into one scan may change
    jax.tree.map(lambda x, y: np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=1e-5, atol=1e-6), got,
                 want)
    once = step(state)
    assert any(not np.allclose(np.asarray(a), np.asarray(b)) for a, b in zip(jax.tree.leaves(once), jax.tree.leaves(got)))
