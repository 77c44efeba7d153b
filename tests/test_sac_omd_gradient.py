"""OMD's MuJoCo model gradient against a derivation written out here, independently of the code.

With ``implicit=identity`` the model gradient is ``-d/dtheta <grad_w L_inner(w*, theta), g>`` with
``g = grad_w L_outer(w*)``. As in the original (``mujoco/.../agents/omd/model.py``, ``critic.py``):
``w*`` and the target, actor and temperature are the state after the K inner SAC steps;
``L_inner`` is the critic loss on the model's (s', r) with the actor fed ``stop_gradient(s')``;
its next-action noise is the outer loss's (the original splits the same key for both).
The reference below writes the Bellman targets out with the networks' ``apply``.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from omd.sac import updates
from omd.sac.agent import init_state, make_agent
from omd.sac.config import SACConfig
from omd.sac.losses import model_batch
from omd.sac.updates import sac_steps

OBS, ACT, BATCH = 3, 2, 16
KEY = jax.random.PRNGKey(2)


def _batch(key):
    ks = jax.random.split(key, 4)
    return {
        "obs": jax.random.normal(ks[0], (BATCH, OBS)),
        "action": jax.random.uniform(ks[1], (BATCH, ACT), minval=-1, maxval=1),
        "reward": jax.random.normal(ks[2], (BATCH,)),
        "mask": (jnp.arange(BATCH) % 5 != 0).astype(jnp.float32),
        "next_obs": jax.random.normal(ks[3], (BATCH, OBS)),
    }


def _perturb(params, key, scale):
    leaves, tree = jax.tree.flatten(params)
    keys = jax.random.split(key, len(leaves))
    return jax.tree.unflatten(tree, [x + scale * jax.random.normal(k, x.shape) for x, k in zip(leaves, keys)])


def _setup(inner_steps, **cfg):
    agent = make_agent(SACConfig(hidden_dims=(8, 8), model_hidden_dim=4, inner_steps=inner_steps, **cfg), OBS, ACT)
    state = init_state(agent, jax.random.PRNGKey(0))
    # A target unlike the critic, biases off zero, a temperature other than 1: nothing cancels by accident.
    sac = state.sac.replace(
        critic=state.sac.critic.replace(target_params=_perturb(state.sac.critic.target_params,
                                                               jax.random.PRNGKey(3), 0.3)),
        actor=state.sac.actor.replace(params=_perturb(state.sac.actor.params, jax.random.PRNGKey(4), 0.1)),
        temp=state.sac.temp.replace(params={"log_temp": jnp.float32(-0.7)}),
    )
    model = state.model.replace(params=_perturb(state.model.params, jax.random.PRNGKey(5), 0.1))
    return agent, state.replace(sac=sac, model=model), _batch(jax.random.PRNGKey(1))


def _noise(inner_steps):
    """The layout of one OMD update's single draw: K x (critic, actor) slices, then the outer (= implicit) one."""
    drawn = jax.random.normal(KEY, (2 * inner_steps + 1, BATCH, ACT))
    return drawn[:-1].reshape(inner_steps, 2, BATCH, ACT), drawn[-1]


def _log_sech2(u):  # log(1 - tanh(u)^2) = -2 log cosh(u), stable for large |u|
    return -2.0 * (jnp.abs(u) + jnp.log1p(jnp.exp(-2.0 * jnp.abs(u))) - jnp.log(2.0))


def _bellman_loss(agent, w, sac, obs, action, reward, mask, next_obs, eps):
    """Mean over the batch of the summed squared errors of both critic heads, written out."""
    mean, log_std = agent.actor.apply(sac.actor.params, jax.lax.stop_gradient(next_obs))
    std = jnp.exp(log_std)
    u = mean + std * eps
    next_action = jnp.tanh(u)
    logp = jnp.sum(jax.scipy.stats.norm.logpdf(u, mean, std) - _log_sech2(u), -1)
    next_v = jnp.min(agent.critic.apply(sac.critic.target_params, next_obs, next_action), 0)
    next_v = next_v - jnp.exp(sac.temp.params["log_temp"]) * logp
    y = reward + agent.cfg.discount * mask * next_v
    q1, q2 = agent.critic.apply(w, obs, action)
    return jnp.mean((q1 - y) ** 2 + (q2 - y) ** 2)


def _reference_grad(agent, state, batch, after, eps):
    """``-d/dtheta <grad_w L_inner(w*, theta), grad_w L_outer(w*)>`` at the after-solve state ``after``."""
    w_star = after.critic.params

    def inner(w, theta):
        next_obs, reward = agent.model.apply(theta, batch["obs"], batch["action"])
        return _bellman_loss(agent, w, after, batch["obs"], batch["action"], reward, batch["mask"], next_obs, eps)

    def outer(w):
        return _bellman_loss(agent, w, after, batch["obs"], batch["action"], batch["reward"], batch["mask"],
                             batch["next_obs"], eps)

    g = jax.grad(outer)(w_star)

    def directional(theta):
        grad_w = jax.grad(inner)(w_star, theta)
        return sum(jnp.vdot(a, b) for a, b in zip(jax.tree.leaves(grad_w), jax.tree.leaves(g)))

    return jax.tree.map(jnp.negative, jax.grad(directional)(state.model.params))


def _close(got, want, rtol=1e-4, atol=1e-6):
    for path, a in jax.tree_util.tree_leaves_with_path(got):
        b = dict(jax.tree_util.tree_leaves_with_path(want))[path]
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=jax.tree_util.keystr(path))


@pytest.mark.parametrize("inner_steps", [1, 3])
def test_identity_model_gradient_matches_the_written_out_derivation(inner_steps):
    agent, state, batch = _setup(inner_steps)
    grads, after, metrics = jax.jit(lambda s: updates.omd_model_grad(agent, s, batch, KEY))(state)

    # The solve runs the K inner SAC steps from the agent's state on the model's predictions.
    inner_noise, eps = _noise(inner_steps)
    mbatch = model_batch(agent, state.model.params, batch)
    expected_after, _ = jax.jit(lambda s: sac_steps(agent, s, mbatch, inner_noise))(state.sac)
    _close(after, expected_after, rtol=1e-6, atol=1e-7)
    assert int(after.critic.step) == inner_steps

    want = jax.jit(lambda a: _reference_grad(agent, state, batch, a, eps))(after)
    assert max(float(jnp.max(jnp.abs(x))) for x in jax.tree.leaves(want)) > 1e-2
    _close(grads, want)


def _zero_state_inputs(critic_params):
    """Zero the first-layer kernel rows that read the state (the critic's input is [s, a])."""
    members = critic_params["params"]["Ensemble_0"]["members"]
    kernel = members["hidden_0"]["kernel"].at[:, :OBS].set(0.0)
    return {"params": {"Ensemble_0": {"members": {**members, "hidden_0": {**members["hidden_0"], "kernel": kernel}}}}}


@pytest.mark.parametrize("inner_steps", [1, 3])
def test_next_state_reaches_the_model_only_through_the_target_critic(inner_steps):
    """With a target critic blind to the state, the model's next-state outputs get exactly zero gradient.

    The next action and its log-probability see the next state without gradient, so the inner
    loss's mixed derivative reaches s' only through the target critic. (On the code before this
    fix the actor's input carried gradient and these columns got a nonzero gradient.) The target
    is kept as set: ``target_update_period`` is longer than the inner steps.
    """
    agent, state, batch = _setup(inner_steps, target_update_period=10)
    critic = state.sac.critic
    blind = state.replace(sac=state.sac.replace(critic=critic.replace(
        target_params=_zero_state_inputs(critic.target_params))))
    run = jax.jit(lambda s: updates.omd_model_grad(agent, s, batch, KEY)[0])
    out = run(blind)["params"]["MLP_0"]["out"]
    assert np.all(np.asarray(out["kernel"][:, :OBS]) == 0.0) and np.all(np.asarray(out["bias"][:OBS]) == 0.0)
    assert np.all(np.asarray(out["kernel"][:, OBS]) != 0.0)  # the reward column still learns
    # With the target's state weights left in, the same columns do get a gradient.
    seeing = run(state)["params"]["MLP_0"]["out"]
    assert np.all(np.abs(np.asarray(seeing["kernel"][:, :OBS])) > 0.0)
