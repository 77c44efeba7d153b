"""The per-environment-step compiled calls.

Per environment step the host makes two compiled calls: one stores the transition
in the device replay buffer and samples the step's ``outer_steps`` batches, the
other runs the updates (inside one ``lax.scan``) and returns the action for the
next step. State and buffer are donated so XLA updates them in place; metrics
stay on the device until the host asks for them at a log interval.
"""

from __future__ import annotations

import functools
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from omd import replay
from omd.sac.agent import Agent, AgentState
from omd.sac.model_updates import UPDATES
from omd.sac.networks import mode_action, sample_action


def transition_spec(obs_dim: int, action_dim: int) -> dict[str, np.ndarray]:
    """One stored transition (float32); ``mask`` is 0 only at true terminations."""
    z = lambda *s: np.zeros(s, np.float32)  # noqa: E731
    return {"obs": z(obs_dim), "action": z(action_dim), "reward": z(), "mask": z(), "next_obs": z(obs_dim)}


def init_buffer(obs_dim: int, action_dim: int, capacity: int) -> replay.ReplayBuffer:
    return replay.init(transition_spec(obs_dim, action_dim), capacity)


def make_update(agent: Agent) -> Callable:
    """``update(state, batch_fn) -> (state, metrics)``: ``outer_steps`` model+SAC updates.

    ``batch_fn(key, i)`` returns the batch of outer step ``i``.
    """
    model_update = UPDATES[agent.cfg.algo]

    def update(state: AgentState, batch_fn):
        def one(state, i):
            key, k_batch, k_update = jax.random.split(state.key, 3)
            return model_update(agent, state.replace(key=key), batch_fn(k_batch, i), k_update)

        if agent.cfg.outer_steps == 1:
            return one(state, 0)
        state, metrics = jax.lax.scan(one, state, jnp.arange(agent.cfg.outer_steps))
        return state, jax.tree.map(lambda m: m[-1], metrics)

    return update


def _next_action(agent: Agent, state: AgentState, next_obs, policy: bool):
    key, k_act = jax.random.split(state.key)
    if policy:
        action, _ = sample_action(agent.actor, state.sac.actor.params, next_obs[None], k_act)
        action = action[0]
    else:
        action = jax.random.uniform(k_act, (agent.action_dim,), jnp.float32, -1.0, 1.0)
    return state.replace(key=key), action


def make_env_step(agent: Agent, learn: bool, policy: bool) -> Callable:
    """``step(state, buffer, transition, next_obs) -> (state, buffer, action, metrics)``.

    ``learn``: run the updates (from ``start_training`` on); ``policy``: act with
    the actor instead of uniformly at random. ``metrics`` is ``{}`` when not learning.

    Two compiled calls: insert + sample, then update + act. Fused into one call,
    XLA copies the whole donated buffer every step (about 200 ms at a capacity of
    1M on CPU) instead of updating it in place; split, the insert is in place.
    """
    update = make_update(agent)
    batch_size, outer = agent.cfg.batch_size, agent.cfg.outer_steps

    # Takes the key, not the whole state: every pytree leaf passed costs dispatch time.
    @functools.partial(jax.jit, donate_argnums=(0, 1))
    def store(key, buffer, transition):
        buffer = replay.add(buffer, transition)
        if not learn:
            return key, buffer, None
        key, k_sample = jax.random.split(key)
        batches = jax.vmap(lambda k: replay.sample(buffer, k, batch_size))(jax.random.split(k_sample, outer))
        return key, buffer, batches

    @functools.partial(jax.jit, donate_argnums=(0,))
    def learn_and_act(state, batches, next_obs):
        metrics = {}
        if learn:
            state, metrics = update(state, lambda _key, i: jax.tree.map(lambda b: b[i], batches))
        state, action = _next_action(agent, state, next_obs, policy)
        return state, action, metrics

    def step(state, buffer, transition, next_obs):
        key, buffer, batches = store(state.key, buffer, transition)
        state = state.replace(key=key)
        state, action, metrics = learn_and_act(state, batches, next_obs)
        return state, buffer, action, metrics

    step.store, step.learn_and_act = store, learn_and_act
    return step


def make_host_replay_step(agent: Agent) -> Callable:
    """Compiled ``step(state, batches, next_obs) -> (state, action, metrics)`` for a host (numpy) replay.

    ``batches`` has a leading ``outer_steps`` axis. Used by the benchmark that
    compares host and device replay.
    """
    return make_env_step(agent, learn=True, policy=True).learn_and_act


def make_eval_action(agent: Agent) -> Callable:
    """Deterministic (tanh of the mean) action for evaluation."""
    return jax.jit(lambda actor_params, obs: mode_action(agent.actor, actor_params, obs))
