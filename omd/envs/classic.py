"""Classic-control environments in JAX (gymnax dynamics) for the soft-Q suite.

gymnax supplies the physics (its CartPole matches gymnasium's ``CartPole-v1``
step for step; see ``tests/test_envs_classic.py``). This module adds what the
training loop needs on top, as pure functions that run inside ``jit``, ``scan``
and ``vmap``:

- auto-reset with the time limit reported apart from true termination, so a
  transition cut by the limit is still bootstrapped;
- the transition's real next observation (``final_obs``) beside the
  observation the agent continues from (the reset one after an episode end);
- optional Gaussian distractor dimensions appended to every observation
  (fresh N(0, 1) draws each step, as in the paper's distractor experiment).
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

# Discrete-action classic-control ids that gymnax provides.
DISCRETE_IDS = ("CartPole-v1", "Acrobot-v1", "MountainCar-v0")
CONTINUOUS_IDS = ("Pendulum-v1", "MountainCarContinuous-v0")


class Step(NamedTuple):
    obs: jax.Array  # observation to act on next (reset observation after an episode end)
    reward: jax.Array
    terminated: jax.Array  # a true terminal state: do not bootstrap
    truncated: jax.Array  # time limit reached without termination: bootstrap
    final_obs: jax.Array  # the transition's next observation, before any reset


@dataclasses.dataclass(frozen=True)
class ClassicEnv:
    """A gymnax classic-control environment with auto-reset and distractors.

    Hashable and immutable, so it can be closed over by jitted functions.
    The state is gymnax's own ``EnvState`` (which counts ``time``).
    """

    name: str
    dim_distract: int = 0
    _env: Any = dataclasses.field(default=None, repr=False, compare=False)
    _params: Any = dataclasses.field(default=None, repr=False, compare=False)

    @property
    def num_actions(self) -> int:
        return int(self._env.num_actions)

    @property
    def base_obs_dim(self) -> int:
        return int(self._env.observation_space(self._params).shape[0])

    @property
    def obs_dim(self) -> int:
        return self.base_obs_dim + self.dim_distract

    @property
    def max_episode_steps(self) -> int:
        return int(self._params.max_steps_in_episode)

    def _observe(self, key: jax.Array, obs: jax.Array) -> jax.Array:
        obs = jnp.asarray(obs, jnp.float32)
        if self.dim_distract == 0:
            return obs
        noise = jax.random.normal(key, (self.dim_distract,), jnp.float32)
        return jnp.concatenate([obs, noise])

    def reset(self, key: jax.Array) -> tuple[jax.Array, Any]:
        key_reset, key_obs = jax.random.split(key)
        obs, state = self._env.reset_env(key_reset, self._params)
        return self._observe(key_obs, obs), state

    def step(self, key: jax.Array, state: Any, action: jax.Array) -> tuple[Step, Any]:
        """One transition; the episode restarts when it terminates or hits the time limit."""
        key_step, key_reset, key_obs, key_final = jax.random.split(key, 4)
        obs, next_state, reward, terminated, _ = self._env.step_env(key_step, state, action, self._params)
        terminated = jnp.asarray(terminated, jnp.bool_)
        truncated = jnp.logical_and(next_state.time >= self._params.max_steps_in_episode, ~terminated)
        done = terminated | truncated
        final_obs = self._observe(key_final, obs)
        reset_obs, reset_state = self.reset(key_reset)
        next_state = jax.tree.map(lambda r, s: jnp.where(done, r, s), reset_state, next_state)
        obs = jnp.where(done, reset_obs, final_obs)
        reward = jnp.asarray(reward, jnp.float32)
        return Step(obs, reward, terminated, truncated, final_obs), next_state

    def set_physical_state(self, state: Any, values: jax.Array) -> Any:
        """Replace the physical variables of a CartPole state (used to compare with gymnasium)."""
        if self.name != "CartPole-v1":
            raise NotImplementedError("set_physical_state is only defined for CartPole-v1.")
        x, x_dot, theta, theta_dot = (jnp.asarray(v, jnp.float32) for v in values)
        return state.replace(x=x, x_dot=x_dot, theta=theta, theta_dot=theta_dot)


def make(env_name: str, dim_distract: int = 0) -> ClassicEnv:
    """The environment ``env_name`` (a discrete-action classic-control id)."""
    import gymnax

    if dim_distract < 0:
        raise ValueError(f"--dim_distract must be >= 0, got {dim_distract}.")
    if env_name in CONTINUOUS_IDS:
        raise ValueError(
            f"--env_name {env_name} has a continuous action space; the soft-Q agents need discrete actions. "
            f"Use one of {', '.join(DISCRETE_IDS)}, or the MuJoCo suite (mujoco/train.py) for continuous control."
        )
    if env_name not in DISCRETE_IDS:
        raise ValueError(
            f"--env_name {env_name!r} is not a discrete classic-control environment available in JAX; "
            f"use one of {', '.join(DISCRETE_IDS)}."
        )
    env, params = gymnax.make(env_name)
    return ClassicEnv(name=env_name, dim_distract=int(dim_distract), _env=env, _params=params)
