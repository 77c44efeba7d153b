"""The MuJoCo training loop, without file IO: callable from a notebook, a test or a sweep.

``train(agent_cfg, run, progress_fn=...)`` steps the environment (C MuJoCo, on the host)
and makes one or two compiled calls per step (``omd.sac.env_step``) around the update
(``omd.sac.updates``: ``make_update`` over ``UPDATES[algo]``); evaluations step
their episodes side by side (``omd.sac.evaluation``). It writes no file: metrics go to
``progress_fn(step, metrics)`` and checkpoint contents to ``checkpoint_fn(step, snapshot)``,
as Brax's ``progress_fn`` and ``policy_params_fn``; ``omd.sac.outputs`` turns them into
the CSV, TensorBoard, ``.txt`` and checkpoint files of ``mujoco/train.py``.

``progress_fn`` gets flat dicts keyed ``<kind>/<name>``, the TensorBoard tags:

- ``episode/return``, ``episode/length`` when a training episode ends;
- ``train/<metric>`` (the update's metrics, NaN before ``start_training``),
  ``train/episode_return`` (the last finished episode's), ``train/episodes`` and
  ``train/steps_per_second`` every ``log_interval`` steps;
- ``eval/episode_return`` (the average over ``eval_episodes`` deterministic episodes) every
  ``eval_interval`` steps.

A snapshot (``checkpoint_fn``, every ``checkpoint_interval`` steps, at the last step and
when ``should_stop()`` turns true) holds the agent state, the replay buffer, the
training and evaluation environments' states, the current observation and action and
the host counters; ``train(..., resume=snapshot)`` continues from it exactly as the
uninterrupted run would have (on the same machine and software). A run whose metrics
turn non-finite raises ``omd.guard.NonFiniteError`` at the next log or checkpoint
boundary, before that checkpoint.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any, Callable

import gymnasium as gym
import jax
import numpy as np

from omd import checkpoint, replay
from omd.envs import mujoco as envs
from omd.guard import check_finite
from omd.logging import StepTimer
from omd.sac import config as config_lib
from omd.sac import evaluation
from omd.sac.agent import Agent, AgentState, init_state, make_agent
from omd.sac.env_step import EnvStep, init_buffer, make_env_step, make_eval_action, next_action
from omd.sac.updates import UPDATES, make_update

ProgressFn = Callable[[int, dict[str, Any]], None]


def train_step(env: gym.Env, step: Callable, carry, buffer, obs: np.ndarray, action: np.ndarray):
    """One environment step of training, as ``train`` runs it and ``bench/mujoco.py`` times it.

    Steps ``env`` with ``action``, resets it at an episode end, and hands the transition
    to ``step`` (``make_env_step``), which stores it, learns and draws the next action.
    Returns ``(carry, buffer, next_obs, next_action, metrics, episode)``; ``episode`` is
    the finished episode's statistics (``return``, ``length``) or ``None``.
    """
    next_obs, reward, terminated, truncated, info = env.step(action)
    transition = {"obs": obs, "action": action, "reward": np.float32(reward),
                  "mask": np.float32(not terminated), "next_obs": next_obs}
    episode = None
    if terminated or truncated:
        episode = info["episode"]
        next_obs, _ = env.reset()
    carry, buffer, next_action, metrics = step(carry, buffer, transition, next_obs)
    return carry, buffer, next_obs, np.asarray(next_action), metrics, episode


def buffer_snapshot(buffer: replay.ReplayBuffer) -> dict[str, Any]:
    return {"data": replay.oldest_first(buffer), "ptr": np.asarray(buffer.ptr), "capacity": np.asarray(buffer.capacity)}


def check_buffer_fits(saved: dict[str, Any], capacity: int) -> None:
    size = len(saved["data"]["obs"])
    if size > capacity:
        raise ValueError(
            f"The checkpoint's replay buffer holds {size} transitions, more than the new capacity {capacity}; "
            f"resume with config.replay_buffer_size >= {size} (or max_steps >= {size})."
        )


def _restore_buffer(template: replay.ReplayBuffer, saved: dict[str, Any]) -> replay.ReplayBuffer:
    """Refill ``template``: slot for slot at the same capacity, oldest first at another one."""
    check_buffer_fits(saved, template.capacity)
    same = int(saved["capacity"]) == template.capacity
    return replay.refill(template, saved["data"], int(saved["ptr"]) if same else None)


def make_envs(run: config_lib.RunConfig, video: bool = False) -> tuple[gym.Env, list[gym.Env]]:
    """The training environment and the evaluation environments (the first one rendering when ``video``)."""
    env = envs.make_env(run.env_name, run.seed, run.dim_distract)
    return env, evaluation.make_eval_envs(run.env_name, run.seed + 42, run.dim_distract, run.eval_episodes, video)


def _fresh_counters() -> dict[str, Any]:
    return {"step": 0, "updates": 0, "episodes": 0, "evaluations": 0, "eval_rows": [],
            "last_episode": [float("nan"), float("nan")]}


def _start(agent: Agent, run: config_lib.RunConfig, env: gym.Env, eval_envs: list[gym.Env],
           resume: dict[str, Any] | None):
    """``(state, buffer, obs, action, counters)`` of a fresh run, or of ``resume`` (a snapshot)."""
    state = init_state(agent, jax.random.PRNGKey(run.seed))
    buffer = init_buffer(agent.obs_dim, agent.action_dim, run.capacity)
    if resume is None:
        obs = env.reset(seed=run.seed)[0]
        state, action = jax.jit(next_action, static_argnums=(0, 3))(agent, state, obs, run.start_training <= 1)
        return state, buffer, obs, np.asarray(action), _fresh_counters()
    state = jax.device_put(checkpoint.restore_into(state, resume["agent"]))
    buffer = _restore_buffer(buffer, resume["buffer"])
    envs.set_state(env, resume["env"])
    evaluation.set_states(eval_envs, resume["eval_envs"])
    obs, action = np.asarray(resume["obs"], np.float32), np.asarray(resume["action"], np.float32)
    counters = {**_fresh_counters(), **resume["counters"]}
    counters["eval_rows"] = [list(row) for row in counters["eval_rows"]]  # the loop appends: not the caller's
    return state, buffer, obs, action, counters


def _count_episode(counters: dict[str, Any], episode: dict[str, Any]) -> dict[str, Any]:
    """Count a finished training episode; its ``episode/*`` report."""
    counters["episodes"] += 1
    counters["last_episode"] = [episode["return"], episode["length"]]
    return {"episode/return": episode["return"], "episode/length": episode["length"]}


def _count_evaluation(counters: dict[str, Any], step: int, ret: float) -> dict[str, Any]:
    """Count an evaluation's average return; its ``eval/*`` report."""
    counters["evaluations"] += 1
    counters["eval_rows"].append([step, ret])
    return {"eval/episode_return": ret}


def _summary(counters: dict[str, Any], stopped: bool) -> dict[str, Any]:
    rows = counters["eval_rows"]
    return {"steps": counters["step"], "updates": counters["updates"], "evaluations": counters["evaluations"],
            "episodes": counters["episodes"], "final_eval_return": rows[-1][1] if rows else float("nan"),
            "eval_rows": rows, "counters": counters, "stopped": stopped}


@dataclasses.dataclass
class _HostLoop:
    """What the host loop carries from one environment step to the next, with the compiled calls that advance it.

    One object, so that each part of a step (act and learn, log, evaluate, snapshot) reads as a short method
    instead of a closure inside a long ``train``; ``omd.soft_q.train`` reads the same way.
    """

    run: config_lib.RunConfig
    outer_steps: int  # model updates per learning step: counters["updates"] grows by this
    progress_fn: ProgressFn
    where: str  # the run, as a NonFiniteError names it
    env: gym.Env
    eval_envs: list[gym.Env]
    steps: dict[tuple[bool, bool], EnvStep]  # the compiled environment steps by (learn, policy)
    eval_act: Callable
    carry: Any  # the agent state packed (omd.flat: all of it on GPUs, its small leaves on CPU); all steps share it
    buffer: replay.ReplayBuffer
    obs: np.ndarray
    action: np.ndarray
    metrics: Any  # the last update's metrics, still on the device; NaN until learning starts
    counters: dict[str, Any]

    @property
    def learner(self) -> EnvStep:
        """The learning step: its packing of the carry and the metrics is the one all three steps share."""
        return self.steps[(True, True)]

    def agent_state(self) -> AgentState:
        """The agent state unpacked from the carry, for the actor's parameters, a snapshot or the caller."""
        return self.learner.from_carry(self.carry)

    def step(self, i: int) -> bool:
        """Environment step ``i``: act, store the transition, learn from ``start_training`` on; whether it learned."""
        learn, policy = i >= self.run.start_training, i + 1 >= self.run.start_training
        self.carry, self.buffer, self.obs, self.action, metrics, episode = train_step(
            self.env, self.steps[(learn, policy)], self.carry, self.buffer, self.obs, self.action)
        if episode is not None:
            self.progress_fn(i, _count_episode(self.counters, episode))
        if learn:
            self.metrics = metrics
            self.counters["updates"] += self.outer_steps
        return learn

    def log(self, i: int, timer: StepTimer, learn: bool) -> None:
        """Report the last update's metrics with the episode counters: the loop's one metric fetch per log interval."""
        fetched = self.learner.read_metrics(self.metrics)
        row = {**fetched, "episode_return": self.counters["last_episode"][0], "episodes": self.counters["episodes"],
               "steps_per_second": timer.rate(i)}
        self.progress_fn(i, {f"train/{k}": v for k, v in row.items()})
        if learn:  # the metrics just fetched: the hot loop pays nothing for this check
            check_finite(fetched, i, self.where)

    def evaluate(self, i: int, video_dir: str | None) -> None:
        """Run and report the deterministic evaluation episodes, filming the first to ``video_dir`` if given."""
        video = os.path.join(video_dir, f"eval_{i}.mp4") if video_dir is not None else None
        ret = evaluation.evaluate(self.eval_envs, self.eval_act, self.agent_state().sac.actor.params, video)
        self.progress_fn(i, _count_evaluation(self.counters, i, ret))

    def snapshot(self, step: int) -> dict[str, Any]:
        """Everything ``train(..., resume=...)`` needs to go on exactly as this run would."""
        if step >= self.run.start_training:  # never a snapshot of a state gone non-finite (one fetch per checkpoint)
            check_finite(self.learner.read_metrics(self.metrics), step, self.where)
        return {"agent": checkpoint.to_saveable(self.agent_state()), "buffer": buffer_snapshot(self.buffer),
                "env": envs.get_state(self.env), "eval_envs": evaluation.get_states(self.eval_envs), "obs": self.obs,
                "action": self.action, "counters": {**self.counters, "step": step}}


def _make_host_loop(agent_cfg: config_lib.SACConfig, run: config_lib.RunConfig, progress_fn: ProgressFn,
                    env: gym.Env, eval_envs: list[gym.Env], resume: dict[str, Any] | None) -> _HostLoop:
    """Build the agent and its compiled steps and start them, fresh or from ``resume``: ``train`` is then the loop."""
    agent = make_agent(agent_cfg, env.observation_space.shape[0], env.action_space.shape[0])
    state, buffer, obs, action, counters = _start(agent, run, env, eval_envs, resume)
    where = f"{agent_cfg.algo} on {run.env_name}, seed {run.seed}"

    # The algorithm: outer_steps of the model update (UPDATES["omd"] is omd_update, around omd_model_grad). The
    # compiled calls around it (omd.sac.env_step) only store, pack and act; they compute nothing else.
    update = make_update(agent, UPDATES[agent_cfg.algo])
    steps = {(learn, policy): make_env_step(agent, update, learn, policy) for learn, policy in
             ((False, False), (False, True), (True, True))}
    eval_act, learner = make_eval_action(agent), steps[(True, True)]
    # NaN until learning starts: every train row has all the metrics from the first one on.
    metrics = {k: np.float32(np.nan) for k in learner.metric_shapes(state, buffer)}
    return _HostLoop(run, agent_cfg.outer_steps, progress_fn, where, env, eval_envs, steps, eval_act,
                     learner.to_carry(state), buffer, obs, action, metrics, counters)


def train(agent_cfg: config_lib.SACConfig, run: config_lib.RunConfig, progress_fn: ProgressFn | None = None,
          checkpoint_fn: Callable[[int, dict[str, Any]], None] | None = None, resume: dict[str, Any] | None = None,
          should_stop: Callable[[], bool] | None = None, on_step: Callable[[int], None] | None = None,
          video_dir: str | None = None, stop_after: int | None = None,
          environments: tuple[gym.Env, list[gym.Env]] | None = None) -> tuple[AgentState, dict[str, Any]]:
    """Train from scratch, or from ``resume`` (a snapshot given to ``checkpoint_fn``); return ``(state, summary)``.

    Reads ``run``'s environment, budget and intervals; ignores its output settings
    (``save_dir``, ``tqdm``, ``save_video``, ``overwrite``), which are ``omd.sac.outputs``'s.
    ``should_stop()`` is asked after every step: true ends the run after that step, with a
    snapshot. ``on_step(step)`` runs after every step (a progress bar). ``video_dir``: film
    the first episode of each evaluation to ``video_dir/eval_<step>.mp4``. ``stop_after``:
    return after that step without a final snapshot, as a killed job would (tests).
    ``environments``: ``make_envs(run, video_dir is not None)``, made here when not given.

    The summary holds ``steps``, ``updates``, ``evaluations``, ``episodes``,
    ``final_eval_return``, ``eval_rows`` (``[step, return]`` pairs), ``counters`` (what a
    snapshot stores of them) and ``stopped`` (whether ``should_stop`` ended the run early).
    """
    config_lib.check(agent_cfg, run)
    progress_fn = progress_fn or (lambda step, metrics: None)
    env, eval_envs = environments or make_envs(run, video_dir is not None)
    host = _make_host_loop(agent_cfg, run, progress_fn, env, eval_envs, resume)
    counters = host.counters
    del resume  # the host loop holds what it needs of the snapshot; the rest can go

    timer = StepTimer(counters["step"])
    for i in range(counters["step"] + 1, run.max_steps + 1):
        learn = host.step(i)
        if on_step is not None:
            on_step(i)
        if i % run.log_interval == 0:
            host.log(i, timer, learn)
        if i % run.eval_interval == 0:
            host.evaluate(i, video_dir)
        counters["step"] = i
        if stop_after is not None and i >= stop_after:
            break
        stopping = should_stop is not None and should_stop()
        if checkpoint_fn is not None and (i % run.checkpoint_interval == 0 or i == run.max_steps or stopping):
            checkpoint_fn(i, host.snapshot(i))
        if stopping and i < run.max_steps:
            return host.agent_state(), _summary(counters, stopped=True)
    return host.agent_state(), _summary(counters, stopped=False)
