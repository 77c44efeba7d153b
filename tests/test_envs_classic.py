"""The JAX classic-control environments against gymnasium, plus auto-reset, time limits and distractors."""

import gymnasium as gym
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from omd.envs import classic


def _time_limit(env):
    while not isinstance(env, gym.wrappers.TimeLimit):
        env = env.env
    return env


def _gymnasium_transitions(num_steps=3000, seed=0):
    """Random-action transitions of gymnasium's CartPole-v1: state, time, action and what step returned."""
    env = gym.make("CartPole-v1")
    rng = np.random.default_rng(seed)
    env.reset(seed=seed)
    rows = []
    elapsed = 0
    for _ in range(num_steps):
        state = np.array(env.unwrapped.state, dtype=np.float64)
        action = int(rng.integers(2))
        obs, reward, terminated, truncated, _ = env.step(action)
        rows.append((state, elapsed, action, obs, reward, terminated, truncated))
        elapsed += 1
        if terminated or truncated:
            env.reset(seed=int(rng.integers(1 << 30)))
            elapsed = 0
    env.close()
    return rows


def _jax_step(env, states, times, actions):
    _, template = env.reset(jax.random.key(0))

    def one(values, time, action, key):
        state = env.set_physical_state(template, values).replace(time=time)
        out, _ = env.step(key, state, action)
        return out

    keys = jax.random.split(jax.random.key(1), len(actions))
    return jax.jit(jax.vmap(one))(jnp.asarray(states, jnp.float32), jnp.asarray(times, jnp.int32),
                                   jnp.asarray(actions, jnp.int32), keys)


def test_cartpole_matches_gymnasium_step_for_step():
    rows = _gymnasium_transitions()
    states, times, actions, obs, rewards, terminated, truncated = map(np.array, zip(*rows))
    assert terminated.sum() > 50  # many episode ends are covered
    out = _jax_step(classic.make("CartPole-v1"), states, times, actions)
    # gymnasium integrates in float64 and returns float32; the JAX env works in float32.
    np.testing.assert_allclose(np.asarray(out.final_obs), obs, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(np.asarray(out.reward), rewards)
    np.testing.assert_array_equal(np.asarray(out.terminated), terminated)
    np.testing.assert_array_equal(np.asarray(out.truncated), truncated)


def test_cartpole_time_limit_is_truncation_like_gymnasium():
    env = gym.make("CartPole-v1")
    env.reset(seed=3)
    _time_limit(env)._elapsed_steps = 499  # the next step is the 500th
    state = np.array(env.unwrapped.state)
    _, reward, terminated, truncated, _ = env.step(1)
    assert (terminated, truncated) == (False, True)
    out = _jax_step(classic.make("CartPole-v1"), state[None], [499], [1])
    assert (bool(out.terminated[0]), bool(out.truncated[0]), float(out.reward[0])) == (False, True, reward)
    # A state that terminates on the 500th step counts as terminated, not truncated (as in gymnasium).
    out = _jax_step(classic.make("CartPole-v1"), np.array([[2.399, 1.0, 0.0, 0.0]]), [499], [1])
    assert (bool(out.terminated[0]), bool(out.truncated[0])) == (True, False)


def test_auto_reset_returns_reset_obs_and_keeps_final_obs():
    env = classic.make("CartPole-v1")
    _, template = env.reset(jax.random.key(0))
    state = env.set_physical_state(template, [2.399, 1.0, 0.0, 0.0])
    out, new_state = env.step(jax.random.key(1), state, jnp.int32(1))
    assert bool(out.terminated)
    assert float(out.final_obs[0]) > 2.4  # the terminal observation of the transition
    assert np.all(np.abs(np.asarray(out.obs)) <= 0.05)  # the next episode's first observation
    assert int(new_state.time) == 0


def test_distractors_are_fresh_standard_normal_dims():
    env = classic.make("CartPole-v1", dim_distract=3)
    assert env.obs_dim == 7
    obs, state = env.reset(jax.random.key(0))

    def body(carry, key):
        state, _ = carry
        out, state = env.step(key, state, jnp.int32(0))
        return (state, out.obs), out.final_obs

    _, finals = jax.lax.scan(body, (state, obs), jax.random.split(jax.random.key(2), 2000))
    noise = np.asarray(finals[:, 4:])
    assert noise.shape == (2000, 3)
    assert abs(noise.mean()) < 0.1 and abs(noise.std() - 1.0) < 0.1
    assert np.all(np.abs(np.diff(noise, axis=0)).sum(-1) > 0)  # a new draw every step


@pytest.mark.parametrize("name", ["Acrobot-v1", "MountainCar-v0"])
def test_other_classic_ids_step(name):
    env = classic.make(name)
    obs, state = env.reset(jax.random.key(0))
    out, _ = jax.jit(env.step)(jax.random.key(1), state, jnp.int32(env.num_actions - 1))
    assert obs.shape == out.obs.shape == (env.obs_dim,)
    assert env.max_episode_steps in (200, 500)


@pytest.mark.parametrize("name, message", [
    ("Pendulum-v1", "continuous action space"),
    ("HalfCheetah-v5", "not a discrete classic-control"),
])
def test_unsupported_envs_are_refused(name, message):
    with pytest.raises(ValueError, match=message):
        classic.make(name)
