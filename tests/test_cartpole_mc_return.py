"""Monte Carlo soft returns (omd.soft_q.mc_return) against sums written out by hand or stepped in a
plain Python loop, and the probe's Q-bias on a run whose Q is untrained."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from omd.envs import classic
from omd.soft_q import SoftQConfig, make_loop, networks
from omd.soft_q.mc_return import soft_return


def _agent(init_key=0, **kw):
    loop = make_loop(SoftQConfig(hidden_dim=8, model_hidden_dim=2, **kw))
    return loop.agent, loop.init(jax.random.key(init_key)).agent.q.params, loop.env


def test_a_pole_that_falls_after_the_first_step_returns_its_one_reward():
    agent, q, env = _agent()
    obs = jnp.array([0.0, 0.0, 0.205, 2.0])  # 0.205 + 0.02 * 2 is past the 0.2095 rad limit after one step
    assert float(soft_return(agent, q, env, obs, 1, jax.random.key(3), horizon=50)) == 1.0


def test_a_uniform_policy_adds_alpha_log2_at_each_later_state():
    agent, q, env = _agent(alpha=0.5)
    zero_q = jax.tree.map(jnp.zeros_like, q)  # Q = 0 everywhere: softmax is uniform, entropy log 2
    got = soft_return(agent, zero_q, env, jnp.zeros(4), 0, jax.random.key(4), horizon=3)  # 3 steps cannot fall
    g = 0.99
    want = (1 + g + g**2) + 0.5 * math.log(2) * (g + g**2 + g**3)
    np.testing.assert_allclose(float(got), want, rtol=1e-6)


def test_the_greedy_roll_out_equals_a_plain_python_loop():
    agent, q, env = _agent(init_key=4, hard=True)  # an untrained Q whose greedy policy balances for 112 steps
    obs, action, horizon = jnp.array([0.1, -0.2, 0.03, 0.1]), 1, 150
    state = env.set_physical_state(env.reset(jax.random.key(0))[1], obs)
    total, alive, actions = 0.0, True, set()
    for t in range(horizon):
        raw, state, reward, done, _ = env._env.step_env(jax.random.key(0), state, action, env._params)
        if not alive:
            break
        total += 0.99**t * float(reward)
        alive = not bool(done)
        action = int(np.argmax(np.mean(np.asarray(networks.q_values(agent.nets, q, raw)), axis=0)))
        actions.add(action)
    assert len(actions) == 2 and not alive  # both actions taken, and the pole fell within the horizon
    got = soft_return(agent, q, env, obs, 1, jax.random.key(5), horizon=horizon)
    np.testing.assert_allclose(float(got), total, rtol=1e-5)


def test_only_cartpole_restarts_from_an_observation():
    agent, q, _ = _agent()
    with pytest.raises(ValueError, match="restarts CartPole-v1"):
        soft_return(agent, q, classic.make("Acrobot-v1"), jnp.zeros(6), 0, jax.random.key(0))
