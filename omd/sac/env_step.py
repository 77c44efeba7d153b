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

All of this sits behind one interface, ``EnvStep``: ``make_env_step(agent, update, learn, policy)``
returns ``step(carry, buffer, transition, next_obs) -> (carry, buffer, action, metrics)`` with
``step.to_carry`` / ``step.from_carry`` (the agent state as the calls take it) and
``step.read_metrics``. The algorithm is the ``update`` it is given (``omd.sac.updates.make_update``
over one of ``UPDATES``); nothing here changes what it computes.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from omd import replay
from omd.flat import FlatLayout
from omd.sac.agent import Agent, AgentState, init_state
from omd.sac.networks import mode_action, sample_action


CPU_PACKED_MAX_SIZE = 1024  # on CPU, leaves larger than this pass through unpacked (see above)
FIELDS = ("obs", "action", "reward", "mask", "next_obs")  # a transition's fields, in packing order


def transition_spec(obs_dim: int, action_dim: int) -> dict[str, np.ndarray]:
    """One stored transition (float32); ``mask`` is 0 only at true terminations."""
    z = lambda *s: np.zeros(s, np.float32)  # noqa: E731
    return {"obs": z(obs_dim), "action": z(action_dim), "reward": z(), "mask": z(), "next_obs": z(obs_dim)}


def init_buffer(obs_dim: int, action_dim: int, capacity: int) -> replay.ReplayBuffer:
    return replay.init(transition_spec(obs_dim, action_dim), capacity)


def draw_action(agent: Agent, actor_params, obs, key: jax.Array, policy: bool):
    """The next environment action: a policy sample, or uniform in [-1, 1] before ``start_training``."""
    if not policy:
        return jax.random.uniform(key, (agent.action_dim,), jnp.float32, -1.0, 1.0)
    noise = jax.random.normal(key, (1, agent.action_dim), jnp.float32)
    return sample_action(agent.actor, actor_params, obs[None], noise)[0][0]


def next_action(agent: Agent, state: AgentState, next_obs, policy: bool):
    """``(state, action)``: the first action of a run, its key split off the state's as every step's is."""
    key, k_act = jax.random.split(state.key)
    return state.replace(key=key), draw_action(agent, state.sac.actor.params, next_obs, k_act, policy)


def make_learn_then_act(agent: Agent, update: Callable, learn: bool, policy: bool) -> Callable:
    """``(state, batch_fn, next_obs) -> (state, action, metrics)``: one step's ``update`` (when ``learn``), then the
    next action; the state as its pytree, ``metrics`` ``{}`` when not learning. What every compiled call runs."""

    def learn_then_act(state: AgentState, batch_fn, next_obs):
        key, k_act, k_learn = jax.random.split(state.key, 3)
        metrics = {}
        if learn:
            state, metrics = update(state.replace(key=k_learn), batch_fn)
        action = draw_action(agent, state.sac.actor.params, next_obs, k_act, policy)
        return state.replace(key=key), action, metrics

    return learn_then_act


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


@dataclasses.dataclass(frozen=True)
class Packing:
    """How the compiled calls take the agent state and return the metrics: packed (``omd.flat``) or as they are."""

    state: FlatLayout | None = None
    metrics: FlatLayout | None = None

    @classmethod
    def of(cls, agent: Agent, metric_shapes: Callable) -> Packing:
        """The layouts of ``agent``'s state (on CPU its small leaves only) and of a learning step's metrics."""
        abstract_state = jax.eval_shape(functools.partial(init_state, agent), jax.random.PRNGKey(0))
        max_size = CPU_PACKED_MAX_SIZE if jax.default_backend() == "cpu" else None
        abstract_buffer = jax.eval_shape(lambda: init_buffer(agent.obs_dim, agent.action_dim, 1))
        return cls(FlatLayout.of(abstract_state, max_size=max_size),
                   FlatLayout.of(metric_shapes(abstract_state, abstract_buffer)))

    def wrap(self, learn_then_act: Callable, learn: bool) -> Callable:
        """``learn_then_act`` taking and returning the carry, and its metrics packed when learning."""
        if self.state is None:
            return learn_then_act

        def packed(carry, batch_fn, next_obs):
            state, action, metrics = learn_then_act(self.state.unpack(carry), batch_fn, next_obs)
            return self.state.pack(state), action, self.metrics.pack(metrics)[0] if learn else metrics

        return packed

    def read_metrics(self, metrics) -> dict:
        """A step's metrics (or a dict of host numbers) as a dict of host numbers."""
        if self.metrics is not None and not isinstance(metrics, dict):
            return self.metrics.unpack((np.asarray(metrics),))
        return jax.device_get(metrics)


@dataclasses.dataclass(frozen=True)
class EnvStep:
    """The compiled calls of one environment step, as the training loop sees them (module docstring).

    ``step(carry, buffer, transition, next_obs) -> (carry, buffer, action, metrics)`` stores the
    transition, runs the update when learning and draws the next action. ``store`` and
    ``learn_and_act`` (two calls), or ``store_learn_and_act`` (``fused``), are the compiled calls
    themselves, taking ``pack_step``'s vector; ``bench/mujoco.py`` lowers them to count FLOPs.
    """

    fused: bool
    flat: bool
    to_carry: Callable[[AgentState], Any]
    from_carry: Callable[[Any], AgentState]
    packing: Packing
    metric_shapes: Callable  # (state, buffer) -> the shapes of a learning step's metrics, without running it
    store: Callable
    learn_and_act: Callable
    store_learn_and_act: Callable

    def __call__(self, carry, buffer, transition, next_obs):
        packed = pack_step(transition, next_obs)
        if self.fused:
            return self.store_learn_and_act(carry, buffer, packed)
        buffer = self.store(buffer, packed)
        carry, action, metrics = self.learn_and_act(carry, buffer, next_obs)
        return carry, buffer, action, metrics

    def read_metrics(self, metrics) -> dict:
        return self.packing.read_metrics(metrics)


def make_env_step(agent: Agent, update: Callable, learn: bool, policy: bool, fused: bool | None = None,
                  flat: bool = True) -> EnvStep:
    """The ``EnvStep`` that runs ``update`` (``omd.sac.updates.make_update``) on batches of the device buffer.

    ``learn``: run the update (from ``start_training`` on); ``policy``: act with the actor
    instead of uniformly at random. ``fused``: one compiled call per step instead of two
    (default: on every backend but CPU, see the module docstring). ``flat`` (default on): the
    calls take and return the agent state packed (``omd.flat``: on GPUs all of it as one vector per
    dtype, on CPU its small leaves), and the metrics as one vector, so that a call passes fewer
    device buffers (MuJoCo: about 20 on GPUs, 70 on CPU, instead of about 160); without it the
    carry is the state itself.
    """
    if fused is None:
        fused = jax.default_backend() != "cpu"
    batch_size, layout = agent.cfg.batch_size, _transition_layout(agent)

    def from_buffer(buffer):
        return lambda k, _i: replay.sample(buffer, k, batch_size)

    def metric_shapes(state, buffer):
        return jax.eval_shape(lambda s, b: update(s, from_buffer(b))[1], state, buffer) if learn else {}

    packing = Packing.of(agent, metric_shapes) if flat else Packing()
    learn_then_act = packing.wrap(make_learn_then_act(agent, update, learn, policy), learn)

    def add(buffer, packed):
        return replay.add(buffer, {name: packed[a:b].reshape(shape) for name, shape, a, b in layout})

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

    identity = lambda x: x  # noqa: E731
    return EnvStep(fused, flat, jax.jit(packing.state.pack) if flat else identity,
                   jax.jit(packing.state.unpack) if flat else identity, packing, metric_shapes, store, learn_and_act,
                   store_learn_and_act)


def make_eval_action(agent: Agent) -> Callable:
    """Deterministic (tanh of the mean) action for evaluation."""
    return jax.jit(lambda actor_params, obs: mode_action(agent.actor, actor_params, obs))
