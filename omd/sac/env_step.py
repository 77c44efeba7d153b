"""The per-environment-step compiled calls (the measurements behind each choice here:
``docs/results/performance.md``, "MuJoCo suite").

The host packs each step's transition and next observation into one float32 vector,
so the store costs one host-to-device copy instead of five. Where the compiled calls
run depends on the backend:

- CPU: two calls. ``store`` writes the transition into the device replay buffer in
  place (donated); ``learn_and_act`` samples the step's ``outer_steps`` batches,
  runs the updates (inside one ``lax.scan``) and returns the next action. Fused
  into one program, XLA:CPU copies the whole donated buffer every step instead of
  writing it in place, because it fuses the insert into the sampling gather, which
  then reads the old buffer while the insert overwrites it. (Sampling inside a
  ``lax.cond`` stops that fusion and the copy, but is no faster than two calls.)
- GPU: one call, ``store_learn_and_act``, that does both: it writes in place there,
  and the call saved is a dispatch and a wait on the host.

A call's host dispatch grows with the device buffers it passes, so the calls take the
agent state packed (``flat``, ``omd.flat``): on GPUs all of it as one vector per dtype;
on CPU, where copying the weight matrices into a vector costs more than passing them,
only the leaves of at most ``CPU_PACKED_MAX_SIZE`` elements.

Metrics stay on the device until the host asks for them at a log interval.
"""

from __future__ import annotations

import functools
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from omd import replay
from omd.flat import FlatLayout
from omd.sac.agent import Agent, AgentState, init_state
from omd.sac.updates import UPDATES
from omd.sac.networks import mode_action, sample_action


CPU_PACKED_MAX_SIZE = 1024  # on CPU, leaves larger than this pass through unpacked (see above)
FIELDS = ("obs", "action", "reward", "mask", "next_obs")  # a transition's fields, in packing order


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


def _transition_layout(agent: Agent) -> list[tuple[str, tuple[int, ...], int, int]]:
    """(name, shape, start, stop) of each transition field inside a packed step vector."""
    spec = transition_spec(agent.obs_dim, agent.action_dim)
    layout, start = [], 0
    for name in FIELDS:
        layout.append((name, spec[name].shape, start, start + spec[name].size))
        start += spec[name].size
    return layout


def pack_step(transition: dict[str, np.ndarray], next_obs: np.ndarray) -> np.ndarray:
    """The transition's fields in ``FIELDS`` order, then ``next_obs``, as one float32 vector."""
    parts = [np.ravel(transition[k]) for k in FIELDS]
    return np.concatenate([*parts, np.ravel(next_obs)]).astype(np.float32, copy=False)


def make_env_step(agent: Agent, learn: bool, policy: bool, fused: bool | None = None,
                  flat: bool = True) -> Callable:
    """``step(carry, buffer, transition, next_obs) -> (carry, buffer, action, metrics)``.

    ``learn``: run the updates (from ``start_training`` on); ``policy``: act with
    the actor instead of uniformly at random. ``metrics`` is ``{}`` when not learning.
    ``fused``: one compiled call per step instead of two (default: on every backend but CPU,
    see the module docstring). ``step.store`` and ``step.learn_and_act`` (reads the device
    buffer), or ``step.store_learn_and_act``, take the packed vector of ``pack_step``;
    ``step.learn_and_act_on`` takes ``[outer_steps, batch]`` batches, for a host replay.

    ``flat`` (default on): the compiled calls take and return the agent state packed
    (``omd.flat``: on GPUs all of it as one vector per dtype, on CPU its small leaves), and
    the metrics as one vector, so that a call passes fewer device buffers (MuJoCo: about 20
    on GPUs, 70 on CPU, instead of about 160). The carry is then ``step.to_carry(state)``,
    read back with ``step.from_carry``; ``step.read_metrics`` fetches the metrics as a
    dict of numbers. Without ``flat`` the carry is the state itself.
    """
    if fused is None:
        fused = jax.default_backend() != "cpu"
    update = make_update(agent)
    batch_size = agent.cfg.batch_size
    layout = _transition_layout(agent)

    def from_buffer(buffer):
        return lambda k, _i: replay.sample(buffer, k, batch_size)

    def metric_shapes(state, buffer):
        """Shapes of the metrics a learning step returns (``{}`` when not learning), without running it."""
        return jax.eval_shape(lambda s, b: update(s, from_buffer(b))[1], state, buffer) if learn else {}

    if flat:
        abstract_state = jax.eval_shape(functools.partial(init_state, agent), jax.random.PRNGKey(0))
        on_cpu = jax.default_backend() == "cpu"
        state_layout = FlatLayout.of(abstract_state, max_size=CPU_PACKED_MAX_SIZE if on_cpu else None)
        abstract_buffer = jax.eval_shape(lambda: init_buffer(agent.obs_dim, agent.action_dim, 1))
        metric_layout = FlatLayout.of(metric_shapes(abstract_state, abstract_buffer))

    def add(buffer, packed):
        transition = {name: packed[a:b].reshape(shape) for name, shape, a, b in layout}
        return replay.add(buffer, transition)

    def learn_then_act(carry, batch_fn, next_obs):
        state = state_layout.unpack(carry) if flat else carry
        key, k_act, k_learn = jax.random.split(state.key, 3)
        metrics = {}
        if learn:
            state, metrics = update(state.replace(key=k_learn), batch_fn)
            metrics = metric_layout.pack(metrics)[0] if flat else metrics
        action = _draw_action(agent, state.sac.actor.params, next_obs, k_act, policy)
        state = state.replace(key=key)
        return state_layout.pack(state) if flat else state, action, metrics

    @functools.partial(jax.jit, donate_argnums=(0,))
    def store(buffer, packed):
        return add(buffer, packed)

    @functools.partial(jax.jit, donate_argnums=(0,))
    def learn_and_act(carry, buffer, next_obs):
        return learn_then_act(carry, from_buffer(buffer), next_obs)

    @functools.partial(jax.jit, donate_argnums=(0, 1))
    def store_learn_and_act(carry, buffer, packed):
        buffer = add(buffer, packed)
        carry, action, metrics = learn_then_act(carry, from_buffer(buffer), packed[layout[-1][3]:])
        return carry, buffer, action, metrics

    @functools.partial(jax.jit, donate_argnums=(0,))
    def learn_and_act_on(carry, batches, next_obs):
        return learn_then_act(carry, lambda _k, i: jax.tree.map(lambda b: b[i], batches), next_obs)

    def step(carry, buffer, transition, next_obs):
        packed = pack_step(transition, next_obs)
        if fused:
            return store_learn_and_act(carry, buffer, packed)
        buffer = store(buffer, packed)
        carry, action, metrics = learn_and_act(carry, buffer, next_obs)
        return carry, buffer, action, metrics

    def read_metrics(metrics) -> dict:
        """A step's metrics (or a dict of host numbers) as a dict of host numbers."""
        if flat and not isinstance(metrics, dict):
            return metric_layout.unpack((np.asarray(metrics),))
        return jax.device_get(metrics)

    identity = lambda x: x  # noqa: E731
    step.to_carry = jax.jit(state_layout.pack) if flat else identity
    step.from_carry = jax.jit(state_layout.unpack) if flat else identity
    step.fused, step.flat, step.metric_shapes, step.read_metrics = fused, flat, metric_shapes, read_metrics
    step.store, step.learn_and_act, step.store_learn_and_act = store, learn_and_act, store_learn_and_act
    step.learn_and_act_on = learn_and_act_on
    return step


def make_host_replay_step(agent: Agent) -> Callable:
    """Compiled ``step(state, batches, next_obs) -> (state, action, metrics)`` for a host (numpy) replay.

    ``batches`` has a leading ``outer_steps`` axis. Used by the benchmark that
    compares host and device replay.
    """
    return make_env_step(agent, learn=True, policy=True, flat=False).learn_and_act_on


def make_eval_action(agent: Agent) -> Callable:
    """Deterministic (tanh of the mean) action for evaluation."""
    return jax.jit(lambda actor_params, obs: mode_action(agent.actor, actor_params, obs))
