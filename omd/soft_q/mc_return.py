"""Monte Carlo soft returns in the real CartPole: what the agent's Q(s, a) should equal.

Soft Q-learning's target ``r + gamma * V(s')`` with ``V(s) = alpha * logsumexp(Q(s, .) / alpha)``
makes Q estimate ``Q^pi(s, a) = r_0 + sum_{t >= 1} gamma^t (r_t + alpha * H(pi(. | s_t)))`` for the
acting policy ``pi = softmax(Q / alpha)`` (greedy, entropy 0, with ``--hard``). ``soft_return``
rolls that sum out from a replayed ``(s, a)``: CartPole's observation is its physical state, so
the environment restarts exactly there; training bootstraps through the 500-step time limit, so
the roll-out ignores it; nothing is added after the pole falls. One roll-out per pair is a noisy
estimate of ``Q^pi``; their mean over a batch, against the mean Q, says whether Q is biased.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from omd.envs import classic
from omd.soft_q import losses, networks
from omd.soft_q.agent import Agent

HORIZON = 700  # 0.99**700 < 1e-3: the rest of an infinite-horizon return is below a thousandth of it


def soft_return(agent: Agent, q_params: Any, env: classic.ClassicEnv, obs: jax.Array, action: jax.Array,
                key: jax.Array, horizon: int = HORIZON) -> jax.Array:
    """One roll-out's discounted soft return from CartPole state ``obs[:4]`` and ``action``, then
    the agent's soft policy (distractor dimensions, if any, drawn fresh each step as in training)."""
    if env.name != "CartPole-v1":
        raise ValueError(f"soft_return restarts CartPole-v1 from an observation; {env.name} cannot be restarted so")
    cfg = agent.config
    key_reset, key_run = jax.random.split(key)
    state = env.set_physical_state(env.reset(key_reset)[1], obs[:env.base_obs_dim])

    def step(carry, key):
        state, action, alive, discount, total = carry
        key_step, key_obs, key_act = jax.random.split(key, 3)
        raw, state, reward, terminated, _ = env._env.step_env(key_step, state, action, env._params)
        total = total + discount * alive * reward
        alive, discount = alive * (1.0 - terminated.astype(jnp.float32)), discount * cfg.discount
        logits = losses.policy_logits(cfg, networks.q_values(agent.nets, q_params, env._observe(key_obs, raw)))
        if cfg.hard:
            action, entropy = jnp.argmax(logits).astype(jnp.int32), 0.0
        else:
            action = jax.random.categorical(key_act, logits).astype(jnp.int32)
            entropy = -jnp.sum(jax.nn.softmax(logits) * jax.nn.log_softmax(logits))
        total = total + discount * alive * cfg.alpha * entropy  # V(s_t)'s entropy, for an s_t the pole stands in
        return (state, action, alive, discount, total), None

    init = (state, jnp.asarray(action, jnp.int32), jnp.float32(1.0), jnp.float32(1.0), jnp.float32(0.0))
    (*_, total), _ = jax.lax.scan(step, init, jax.random.split(key_run, horizon))
    return total
