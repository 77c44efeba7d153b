"""The per-environment-step compiled calls.

Per environment step the host makes two compiled calls: ``store`` writes the
transition into the device replay buffer in place (donated), ``learn_and_act``
samples the step's ``outer_steps`` batches from the buffer, runs the updates
(inside one ``lax.scan``) and returns the action for the next step. The second
call only reads the buffer: fused with the write, XLA copies the whole donated
buffer every step (about 200 ms at a capacity of 1M on CPU) instead of updating
it in place. Metrics stay on the device until the host asks for them at a log
interval.
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


def _draw_action(agent: Agent, actor_params, obs, key: jax.Array, policy: bool):
    """The next environment action: a policy sample, or uniform in [-1, 1] before ``start_training``."""
    if not policy:
        return jax.random.uniform(key, (agent.action_dim,), jnp.float32, -1.0, 1.0)
    noise = jax.random.normal(key, (1, agent.action_dim), jnp.float32)
    return sample_action(agent.actor, actor_params, obs[None], noise)[0][0]


def _next_action(agent: Agent, state: AgentState, next_obs, policy: bool):
    key, k_act = jax.random.split(state.key)
    return state.replace(key=key), _draw_action(agent, state.sac.actor.params, next_obs, k_act, policy)


def make_env_step(agent: Agent, learn: bool, policy: bool) -> Callable:
    """``step(state, buffer, transition, next_obs) -> (state, buffer, action, metrics)``.

    ``learn``: run the updates (from ``start_training`` on); ``policy``: act with
    the actor instead of uniformly at random. ``metrics`` is ``{}`` when not learning.
    ``step.store``, ``step.learn_and_act`` (reads the device buffer) and
    ``step.learn_and_act_on`` (takes the ``[outer_steps, batch]`` batches, for a
    host replay) are the compiled calls.
    """
    update = make_update(agent)
    batch_size = agent.cfg.batch_size

    @functools.partial(jax.jit, donate_argnums=(0,))
    def store(buffer, transition):
        return replay.add(buffer, transition)

    def learn_then_act(state, batch_fn, next_obs):
        key, k_act, k_learn = jax.random.split(state.key, 3)
        metrics = {}
        if learn:
            state, metrics = update(state.replace(key=k_learn), batch_fn)
        action = _draw_action(agent, state.sac.actor.params, next_obs, k_act, policy)
        return state.replace(key=key), action, metrics

    @functools.partial(jax.jit, donate_argnums=(0,))
    def learn_and_act(state, buffer, next_obs):
        return learn_then_act(state, lambda k, _i: replay.sample(buffer, k, batch_size), next_obs)

    @functools.partial(jax.jit, donate_argnums=(0,))
    def learn_and_act_on(state, batches, next_obs):
        return learn_then_act(state, lambda _k, i: jax.tree.map(lambda b: b[i], batches), next_obs)

    def step(state, buffer, transition, next_obs):
        buffer = store(buffer, transition)
        state, action, metrics = learn_and_act(state, buffer, next_obs)
        return state, buffer, action, metrics

    step.store, step.learn_and_act, step.learn_and_act_on = store, learn_and_act, learn_and_act_on
    return step


def make_host_replay_step(agent: Agent) -> Callable:
    """Compiled ``step(state, batches, next_obs) -> (state, action, metrics)`` for a host (numpy) replay.

    ``batches`` has a leading ``outer_steps`` axis. Used by the benchmark that
    compares host and device replay.
    """
    return make_env_step(agent, learn=True, policy=True).learn_and_act_on


def make_eval_action(agent: Agent) -> Callable:
    """Deterministic (tanh of the mean) action for evaluation."""
    return jax.jit(lambda actor_params, obs: mode_action(agent.actor, actor_params, obs))
