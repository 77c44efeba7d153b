"""--clip_target and --unroll_inner (beyond the paper, off by default): the value bounds against a
hand computation, and the unrolled model gradient against finite differences of the outer loss."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from omd.soft_q import SoftQConfig, losses, networks, updates
from omd.soft_q.agent import value_steps
from soft_q_small import random_batch, small_agent

_batch, _agent = random_batch, small_agent


def test_defaults_are_off():
    assert not SoftQConfig().clip_target and not SoftQConfig().unroll_inner


@pytest.mark.parametrize("hard, rewards, want", [
    (False, [1.0, 1.0], [0.0, 100 * (1 + 0.01 * np.log(2))]),  # CartPole: every reward 1
    (True, [1.0, 1.0], [0.0, 100.0]),
    (False, [-2.0, 0.5], [-200.0, 100 * (0.5 + 0.01 * np.log(2))]),
    (True, [-3.0, -1.0], [-300.0, 0.0]),
])
def test_value_bounds_are_the_returns_the_rewards_allow(hard, rewards, want):
    config = SoftQConfig(hard=hard)
    np.testing.assert_allclose(losses.value_bounds(config, jnp.array(rewards), 2), want, rtol=1e-6)


def test_clip_target_clips_the_next_state_value_and_nothing_else():
    agent, state = _agent(clip_target=True)
    big = jax.tree.map(lambda x: 1000.0 * x + 10.0, state.q.params)  # values far above 100
    batch = _batch(jax.random.key(1))
    batch["value_bounds"] = losses.value_bounds(agent.config, batch["reward"], 2)
    loss_clipped, _ = losses.q_loss(agent.nets, agent.config, state.q.params, big, batch)
    # by hand: every target is r + gamma * high, since every V(s') is above high
    q_sa = jnp.sum(networks.q_values(agent.nets, state.q.params, batch["obs"]) * batch["onehot"], axis=-1)
    next_v = losses.state_value(agent.config, jnp.min(networks.q_values(agent.nets, big, batch["next_obs"]), axis=0))
    assert bool(jnp.all(next_v > batch["value_bounds"][1]))
    target = 1.0 + 0.99 * batch["value_bounds"][1]
    np.testing.assert_allclose(loss_clipped, jnp.mean(jnp.square(q_sa - target)), rtol=1e-5)
    plain = dataclasses.replace(agent.config, clip_target=False)
    loss_plain, _ = losses.q_loss(agent.nets, plain, state.q.params, big, batch)
    np.testing.assert_allclose(loss_plain, jnp.mean(jnp.square(q_sa - 1.0 - 0.99 * next_v)), rtol=1e-5)


def test_clip_target_bounds_come_from_the_real_rewards_not_the_model():
    agent, state = _agent(clip_target=True)
    batch = _batch(jax.random.key(2), reward=jnp.linspace(-1.0, 2.0, 16))
    batch["value_bounds"] = losses.value_bounds(agent.config, batch["reward"], 2)
    mb, pred = losses.model_batch(agent.nets, agent.config, state.model.params, batch, None)
    assert not np.allclose(mb["reward"], batch["reward"])  # the model's rewards replaced the real ones
    np.testing.assert_array_equal(mb["value_bounds"], batch["value_bounds"])


def _warm(agent, state, batch):
    """A Q state whose Adam statistics have seen a few steps, as --warm_opt keeps them."""
    q, _ = value_steps(agent, state.q, batch, 3)
    return state.replace(q=q)


def _model_grad(agent):
    """``(theta, state, batch) -> (model gradient, outer loss)``, compiled once per agent."""
    def run(theta, state, batch):
        grads, _, metrics = updates.omd_model_grad(agent, state.replace(model=state.model.replace(params=theta)),
                                                   batch, jax.random.key(0))
        return grads, metrics["outer_loss"]
    return jax.jit(run)


@pytest.mark.parametrize("inner_steps", [1, 2])
def test_unrolled_gradient_matches_finite_differences_of_the_outer_loss(inner_steps):
    agent, state = _agent(unroll_inner=True, warm_opt=True, critic_lr=0.05, inner_steps=inner_steps)
    batch = _batch(jax.random.key(3))
    state = _warm(agent, state, _batch(jax.random.key(4)))
    run, theta = _model_grad(agent), state.model.params
    grads, _ = run(theta, state, batch)
    keys = jax.random.split(jax.random.key(5), len(jax.tree.leaves(theta)))
    direction = jax.tree.unflatten(jax.tree.structure(theta),
                                   [jax.random.normal(k, x.shape) for k, x in zip(keys, jax.tree.leaves(theta))])
    eps = 1e-2
    shifted = lambda s: jax.tree.map(lambda t, d: t + s * eps * d, theta, direction)  # noqa: E731
    fd = (float(run(shifted(1.0), state, batch)[1]) - float(run(shifted(-1.0), state, batch)[1])) / (2 * eps)
    analytic = sum(float(jnp.vdot(g, d)) for g, d in zip(jax.tree.leaves(grads), jax.tree.leaves(direction)))
    assert abs(analytic) > 1e-3
    np.testing.assert_allclose(analytic, fd, rtol=0.03)


def test_unrolled_gradient_of_a_reset_adam_step_is_almost_zero():
    """Reset Adam's first step is ``inner_lr * sign(g)``: the computed outer loss barely depends on
    the model, which the identity approximation does not see."""
    batch = _batch(jax.random.key(6))
    norms = {}
    for unroll in (False, True):
        agent, state = _agent(unroll_inner=unroll)
        state = state.replace(q=updates.inner_start(agent, state.q, jax.random.key(1)))  # Adam reset, as by default
        grads, _ = _model_grad(agent)(state.model.params, state, batch)
        norms[unroll] = float(jnp.sqrt(sum(jnp.sum(g ** 2) for g in jax.tree.leaves(grads))))
    assert norms[False] > 0 and norms[True] < 1e-4 * norms[False]


@pytest.mark.parametrize("kw", [dict(unroll_inner=True, algo="mle"), dict(unroll_inner=True, implicit="cg")])
def test_unroll_inner_is_refused_where_it_has_no_meaning(kw):
    with pytest.raises(ValueError, match="--unroll_inner .* needs --agent_type omd without --with_inv_jac"):
        SoftQConfig(**kw).validate()
