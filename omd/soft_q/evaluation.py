"""Evaluation episodes, all run at once inside JAX."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from omd.envs.classic import ClassicEnv
from omd.soft_q.agent import Agent, act


def evaluate(agent: Agent, env: ClassicEnv, q_params: Any, key: jax.Array, num_episodes: int) -> jax.Array:
    """Mean undiscounted return of ``num_episodes`` episodes of the softmax(Q/alpha) policy (no epsilon).

    Episodes run side by side (vmapped) in one ``while_loop`` that stops when
    all have ended, so short episodes early in training cost little.
    """
    key_reset, key_run = jax.random.split(key)
    obs, env_state = jax.vmap(env.reset)(jax.random.split(key_reset, num_episodes))

    def cond(carry):
        return ~jnp.all(carry[3])

    def body(carry):
        obs, env_state, returns, done, key = carry
        key, key_act, key_env = jax.random.split(key, 3)
        actions = act(agent, q_params, obs, key_act)
        step, env_state = jax.vmap(env.step)(jax.random.split(key_env, num_episodes), env_state, actions)
        returns = returns + jnp.where(done, 0.0, step.reward)
        done = done | step.terminated | step.truncated
        return step.obs, env_state, returns, done, key

    init = (obs, env_state, jnp.zeros(num_episodes, jnp.float32), jnp.zeros(num_episodes, jnp.bool_), key_run)
    returns = jax.lax.while_loop(cond, body, init)[2]
    return jnp.mean(returns)
