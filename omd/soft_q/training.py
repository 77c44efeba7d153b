"""The compiled training loop.

A run is split at every evaluation and log boundary. Between two boundaries one
compiled call, ``run_steps(state, t0, t1)``, performs every environment step:
act, step the JAX environment, insert into the replay buffer, and (once
``start_training`` transitions are collected) one model/value update per step. The
loop is a ``fori_loop`` with dynamic bounds (a scan whose length is an argument),
so a single compilation serves every chunk length. Metrics are summed on the
device and reach the host once per chunk.

``make_train(config)`` returns ``train(key)``, the whole run as one compiled
function; ``jax.vmap(train)`` trains several seeds at once. ``make_loop``
exposes the pieces for callers that log between chunks (``omd.soft_q.train``, the host loop
behind ``cartpole/train.py``).
"""

from __future__ import annotations

import math
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from omd import replay
from omd.envs import classic
from omd.soft_q import agent as agent_lib
from omd.soft_q.config import SoftQConfig
from omd.soft_q.evaluation import evaluate
from omd.soft_q.updates import METRIC_KEYS, UPDATES


@struct.dataclass
class RunState:
    """One run (one seed): the agent, its replay buffer, the environment and the RNG keys."""

    agent: agent_lib.AgentState
    buffer: replay.ReplayBuffer
    env_state: Any
    obs: jax.Array
    episode_return: jax.Array  # return of the running episode so far
    episodes: jax.Array  # completed training episodes
    key: jax.Array
    eval_key: jax.Array


class Loop(NamedTuple):
    """Pure pieces of a run; see the module docstring."""

    config: SoftQConfig
    env: classic.ClassicEnv
    agent: agent_lib.Agent
    init: Callable[[jax.Array], RunState]
    run_steps: Callable[[RunState, Any, Any], tuple[RunState, dict]]
    evaluate: Callable[[RunState, Any], jax.Array]
    step: Callable[[RunState, Any], tuple[RunState, dict]]


def example_transition(obs_dim: int) -> dict[str, jax.Array]:
    scalar = jnp.zeros((), jnp.float32)
    return {
        "obs": jnp.zeros((obs_dim,), jnp.float32),
        "action": jnp.zeros((), jnp.int32),
        "reward": scalar,
        "next_obs": jnp.zeros((obs_dim,), jnp.float32),
        "not_done": scalar,
        "not_done_no_max": scalar,
    }


def empty_sums(algo: str) -> dict[str, jax.Array]:
    """Per-chunk metric sums: ``algo``'s update metrics, their count, finished-episode returns and count."""
    zero = jnp.zeros((), jnp.float32)
    return {**{k: zero for k in METRIC_KEYS[algo]}, "num_updates": zero, "return_sum": zero, "num_episodes": zero}


def make_loop(config: SoftQConfig) -> Loop:
    """The pieces of a run of ``config`` (module docstring); the update is ``UPDATES[config.algo]``."""
    config = config.validate()
    if config.x64 and not jax.config.jax_enable_x64:
        raise ValueError("x64=True (--x64) needs JAX's 64-bit mode: build and run the loop inside "
                         "`with jax.enable_x64(True):` (cartpole/train.py --x64 does).")
    env = classic.make(config.env_name, config.dim_distract)
    agent = agent_lib.make_agent(config, env.obs_dim, env.num_actions)
    # The algorithm (omd.soft_q.updates): for OMD, outer_steps of omd_update, around omd_model_grad.
    step = make_step(config, env, agent, UPDATES[config.algo])

    def run_steps(state: RunState, t0: Any, t1: Any) -> tuple[RunState, dict]:
        """Steps ``t0 .. t1 - 1``; returns the new state and the sums of their metrics."""

        def body(t, carry):
            state, sums = carry
            state, step_sums = step(state, t)
            return state, jax.tree.map(jnp.add, sums, step_sums)

        return jax.lax.fori_loop(t0, t1, body, (state, empty_sums(config.algo)))

    def evaluate_state(state: RunState, index: Any) -> jax.Array:
        key = jax.random.fold_in(state.eval_key, index)
        return evaluate(agent, env, state.agent.q.params, key, config.eval_episodes)

    # Jitted so that every leaf is its own buffer, which donating the state requires.
    return Loop(config, env, agent, jax.jit(make_init(config, env, agent)), run_steps, evaluate_state, step)


def make_init(config: SoftQConfig, env: classic.ClassicEnv, agent: agent_lib.Agent) -> Callable[[jax.Array], RunState]:
    """``init(key) -> RunState``: a fresh run; vmapped, it initialises the seeds one after another (below)."""

    def init_one(key: jax.Array) -> RunState:
        key_agent, key_env, key_run, key_eval = jax.random.split(key, 4)
        obs, env_state = env.reset(key_env)
        return RunState(
            agent=agent_lib.init_state(agent, key_agent),
            buffer=replay.init(example_transition(env.obs_dim), config.capacity),
            env_state=env_state,
            obs=obs,
            episode_return=jnp.zeros((), jnp.float32),
            episodes=jnp.zeros((), jnp.int32),
            key=key_run,
            eval_key=key_eval,
        )

    @jax.custom_batching.custom_vmap
    def init(key: jax.Array) -> RunState:
        return init_one(key)

    @init.def_vmap
    def _init_seeds(axis_size, in_batched, keys):
        # The key is init's only input, so it is the batched one. Seeds one after
        # another: XLA:CPU (jax 0.10.2) can deadlock running many batched QR
        # factorisations (the orthogonal initialisers) side by side; ten vmapped
        # VEP seeds hung here. Initialisation is a negligible cost.
        state = jax.lax.map(init_one, keys)
        return state, jax.tree.map(lambda _: True, state)

    return init


def make_step(config: SoftQConfig, env: classic.ClassicEnv, agent: agent_lib.Agent,
              update: Callable) -> Callable[[RunState, Any], tuple[RunState, dict]]:
    """``step(state, t) -> (state, sums)``: environment step ``t`` (0-based) and, once enough data is stored,
    one ``update(agent, agent_state, buffer, key)`` (one of ``UPDATES``)."""

    def update_f32(state: agent_lib.AgentState, buffer: replay.ReplayBuffer, key: jax.Array):
        # metrics are logged in float32 also when --x64 computes them in float64
        state, metrics = update(agent, state, buffer, key)
        return state, {k: v.astype(jnp.float32) for k, v in metrics.items()}

    def no_update(state: agent_lib.AgentState) -> tuple[agent_lib.AgentState, dict]:
        return state, {k: jnp.zeros((), jnp.float32) for k in METRIC_KEYS[config.algo]}

    def step(state: RunState, t: Any) -> tuple[RunState, dict]:
        key, key_act, key_explore, key_random, key_env, key_update = jax.random.split(state.key, 6)
        policy_action = agent_lib.act(agent, state.agent.q.params, state.obs, key_act)
        random_action = jax.random.randint(key_random, (), 0, env.num_actions, jnp.int32)
        explore = (t < config.start_training) | (jax.random.uniform(key_explore) < config.eps)
        action = jnp.where(explore, random_action, policy_action)
        out, env_state = env.step(key_env, state.env_state, action)
        done = out.terminated | out.truncated
        buffer = replay.add(state.buffer, {
            "obs": state.obs,
            "action": action,
            "reward": out.reward,
            "next_obs": out.final_obs,
            "not_done": 1.0 - done.astype(jnp.float32),
            "not_done_no_max": 1.0 - out.terminated.astype(jnp.float32),
        })
        # The t-th step leaves t + 1 transitions stored; learning starts once start_training are.
        learn = t + 1 >= config.start_training
        agent_state, metrics = jax.lax.cond(learn, lambda s: update_f32(s, buffer, key_update), no_update, state.agent)
        episode_return = state.episode_return + out.reward
        sums = {
            **metrics,
            "num_updates": learn.astype(jnp.float32),
            "return_sum": jnp.where(done, episode_return, 0.0),
            "num_episodes": done.astype(jnp.float32),
        }
        state = state.replace(
            agent=agent_state,
            buffer=buffer,
            env_state=env_state,
            obs=out.obs,
            episode_return=jnp.where(done, 0.0, episode_return),
            episodes=state.episodes + done.astype(jnp.int32),
            key=key,
        )
        return state, sums

    return step


def boundaries(config: SoftQConfig) -> list[int]:
    """Steps at which the host evaluates or logs (always including 0 and ``max_steps``)."""
    n = config.max_steps
    points = {0, n}
    points.update(range(0, n, config.eval_interval))
    points.update(range(0, n, config.log_interval))
    return sorted(points)


def make_train(config: SoftQConfig) -> Callable[[jax.Array], tuple[RunState, dict]]:
    """``train(key) -> (final_state, history)``: a whole run as one compiled function.

    The run is cut into segments of ``gcd(eval_interval, log_interval)`` steps;
    ``history["eval_return"]`` holds one entry per segment (NaN where no
    evaluation was due, i.e. the step is not a multiple of ``eval_interval``),
    ``history["steps"]`` the step at the start of each segment,
    ``history["final_eval_return"]`` the evaluation after the last step, and
    ``history["sums"]`` the metric sums of each segment.
    """
    loop = make_loop(config)
    n = config.max_steps
    seg = math.gcd(config.eval_interval, config.log_interval)
    num_segments = max(1, -(-n // seg))

    def train(key: jax.Array) -> tuple[RunState, dict]:
        def segment(state, i):
            t0 = i * seg
            t1 = jnp.minimum(t0 + seg, n)
            due = t0 % config.eval_interval == 0
            eval_return = jax.lax.cond(
                due, lambda s: loop.evaluate(s, t0 // config.eval_interval), lambda s: jnp.float32(jnp.nan), state
            )
            state, sums = loop.run_steps(state, t0, t1)
            return state, {"steps": t0, "eval_return": eval_return, "sums": sums}

        state, history = jax.lax.scan(segment, loop.init(key), jnp.arange(num_segments))
        history["final_eval_return"] = loop.evaluate(state, -(-n // config.eval_interval))
        return state, history

    return train


# Host-side conversion of a run's state for checkpoints (omd.soft_q.train); nothing here runs in the loop.


def state_to_host(state: RunState, filled: int) -> dict[str, np.ndarray]:
    """Every leaf of a (vmapped) ``RunState`` as a host array keyed by its tree path.

    PRNG keys are stored as their raw data. Of the replay data only the first ``filled``
    slots (axis 1, after the seed axis) are kept: the buffer fills in order and its
    other slots are still the zeros it was created with.
    """
    raw = jax.tree.map(lambda x: jax.random.key_data(x) if _is_key(x) else x, state)
    flat, _ = jax.tree_util.tree_flatten_with_path(jax.device_get(raw))
    out = {}
    for path, leaf in flat:
        name = jax.tree_util.keystr(path)
        leaf = np.asarray(leaf)
        out[name] = leaf[:, :filled] if name.startswith(".buffer.data") else leaf
    return out


def state_from_host(template: Any, saved: dict[str, Any]) -> RunState:
    """The inverse of ``state_to_host``: ``template`` (e.g. ``jax.eval_shape`` of the vmapped
    ``init``) gives the tree, shapes and dtypes; the result lives on the default device."""
    flat, treedef = jax.tree_util.tree_flatten_with_path(template)
    leaves = []
    for path, like in flat:
        name = jax.tree_util.keystr(path)
        value = np.asarray(saved[name])
        if _is_key(like):
            leaves.append(jax.random.wrap_key_data(jnp.asarray(value)))
            if leaves[-1].shape != like.shape:
                raise ValueError(f"checkpoint leaf {name} holds keys of shape {leaves[-1].shape}, not {like.shape}")
            continue
        full = np.zeros(like.shape, like.dtype)
        trimmed = name.startswith(".buffer.data") and value.ndim > 1 and value.shape[1] <= full.shape[1]
        shape = (value.shape[0], full.shape[1], *value.shape[2:]) if trimmed else value.shape
        if value.dtype != full.dtype or shape != full.shape:
            raise ValueError(f"checkpoint leaf {name} is {value.dtype}{list(value.shape)}, not "
                             f"{full.dtype}{list(full.shape)}")
        if trimmed:
            full[:, :value.shape[1]] = value
        else:
            full[...] = value
        leaves.append(jnp.asarray(full))
    return jax.tree_util.tree_unflatten(treedef, leaves)


def _is_key(x: Any) -> bool:
    return jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key)
