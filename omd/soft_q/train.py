"""The CartPole training loop on the host, without file IO: callable from a notebook, a test or a sweep.

``train(loop, seeds, progress_fn=...)`` trains the seeds side by side (``jax.vmap``; one XLA CPU device
per core where ``omd.devices`` split the host). Between two evaluation or log boundaries
(``boundaries``) one compiled call, ``loop.run_steps`` (``omd.soft_q.training``), runs every
environment step and update of the chunk; the host sees the chunk's metric sums once. It writes no
file: metrics go to ``progress_fn(step, metrics)`` and checkpoint contents to
``checkpoint_fn(step, snapshot)``, as ``omd.sac.train`` does for MuJoCo; ``omd.soft_q.outputs`` turns
them into the CSV, TensorBoard and checkpoint files of ``cartpole/train.py``.

``progress_fn`` gets flat dicts keyed ``<kind>/<name>``, each value one entry per seed (a number
where all seeds share it):

- ``eval/episode`` (training episodes finished) and ``eval/episode_return`` (the mean over
  ``eval_episodes`` episodes) at step 0, every ``eval_interval`` steps and after the last step;
- ``train/episode``, ``train/episode_return`` (the mean of the episodes finished since the last
  row, NaN if none), ``train/duration`` (seconds since the start), the update metrics'
  means (``train/<METRIC_KEYS[algo]>``) and ``train/steps_per_second`` (per seed) every ``log_interval``
  steps and at the last, once updates have begun (earlier episodes roll into the first row, as
  the original's).

A snapshot (``checkpoint_fn``) is taken at the first boundary on or after each multiple of
``checkpoint_interval`` and when ``should_stop()`` turns true, never at the last step. It holds the
whole run state (``state_to_host``), the metric sums not yet reported, the evaluation history and
the counters; ``train(..., resume=snapshot)`` then computes exactly what the uninterrupted run would.

A seed whose metrics turn non-finite is reported once through ``warn`` and goes on (its rows
record NaN metrics); once every seed has, ``omd.guard.NonFiniteError`` ends the run.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from omd import devices, guard
from omd.logging import StepTimer
from omd.soft_q.config import SoftQConfig
from omd.soft_q.training import Loop, boundaries, state_from_host, state_to_host
from omd.soft_q.updates import METRIC_KEYS, MODEL_LOSS

ProgressFn = Callable[[int, dict[str, Any]], None]


def start(loop: Loop, seeds: list[int], resume: dict[str, Any] | None):
    """``(state, counters, pending sums or None, evaluation returns so far)``: fresh, or from a snapshot."""
    keys = jax.vmap(jax.random.key)(jnp.asarray(seeds, jnp.uint32))
    if resume is None:
        state = devices.shard_seeds(jax.jit(jax.vmap(loop.init))(keys), len(seeds))
        return state, {"step": 0, "num_evals": 0, "elapsed": 0.0}, None, []
    template = jax.eval_shape(jax.vmap(loop.init), keys)
    state = devices.shard_seeds(state_from_host(template, resume["state"]), len(seeds))
    pending = current_names({k: np.asarray(v) for k, v in resume["pending"].items()}, loop.config.algo) or None
    return state, dict(resume["counters"]), pending, list(np.asarray(resume["eval_returns"]))


def current_names(pending: dict[str, np.ndarray], algo: str) -> dict[str, np.ndarray]:
    """A snapshot's metric sums under this code's names: snapshots taken before the shared vocabulary
    (omd.columns) sum the model's loss as ``loss_T``, which a resumed run adds to ``MODEL_LOSS[algo]``'s."""
    return {MODEL_LOSS[algo] if k == "loss_T" else k: v for k, v in pending.items()}


def train_metrics(sums: dict[str, np.ndarray], episodes: np.ndarray, rate: float, duration: float,
                  algo: str) -> dict:
    """A train report from ``algo``'s metric sums since the last one (one entry per seed)."""
    updates = np.maximum(sums["num_updates"], 1)
    finished = sums["num_episodes"]
    episode_return = np.where(finished > 0, sums["return_sum"] / np.maximum(finished, 1), np.nan)
    return {"train/episode": episodes, "train/episode_return": episode_return, "train/duration": duration,
            **{f"train/{k}": sums[k] / updates for k in METRIC_KEYS[algo]}, "train/steps_per_second": rate}


@dataclasses.dataclass
class _HostLoop:
    """What the host loop carries from one chunk of steps to the next, with the two compiled calls that advance it.

    One object, so that each part of a chunk (run it, evaluate, report, snapshot) reads as a short method
    instead of a closure inside a long ``train``; ``omd.sac.train`` reads the same way.
    """

    config: SoftQConfig
    seeds: list[int]
    progress_fn: ProgressFn
    warn: Callable[[str], None]
    run_steps: Callable  # (state, t0, t1) -> (state, sums), every seed at once; donates the state
    evaluate_all: Callable  # (state, num_evals) -> every seed's evaluation return and episode count
    state: Any
    pending: dict[str, np.ndarray] | None  # the metric sums not yet reported (on the host)
    eval_returns: list
    num_evals: int
    begin: float  # perf_counter's reading at the start of the run, earlier sessions of a resumed run included
    diverged: dict[int, int] = dataclasses.field(default_factory=dict)  # seed -> the step it turned non-finite

    def evaluate(self, step: int) -> None:
        """Evaluate every seed's policy (the keys follow ``num_evals``) and report the returns."""
        out = jax.device_get(self.evaluate_all(self.state, self.num_evals))
        self.num_evals += 1
        self.eval_returns.append(out["episode_return"])
        self.progress_fn(step, {"eval/episode": out["episode"], "eval/episode_return": out["episode_return"]})

    def run_chunk(self, t0: int, t1: int) -> None:
        """Steps ``t0`` to ``t1`` in one compiled call; its metric sums join the pending ones, seed by seed checked."""
        self.state, sums = self.run_steps(self.state, t0, t1)
        sums = jax.device_get(sums)
        # The sums are on the host already: checking them costs the compiled loop nothing.
        for message in guard.check_seeds(sums, self.seeds, t1, f"{self.config.algo} agent", self.diverged):
            self.warn(message)
        self.pending = sums if self.pending is None else {k: self.pending[k] + sums[k] for k in sums}

    def report(self, step: int, timer: StepTimer) -> None:
        """Report the pending sums as a train row (means since the last row) and start new ones."""
        rate = timer.rate(step)
        self.progress_fn(step, train_metrics(self.pending, jax.device_get(self.state.episodes), rate,
                                             time.perf_counter() - self.begin, self.config.algo))
        self.pending = None

    def snapshot(self, step: int) -> dict[str, Any]:
        """Everything ``train(..., resume=...)`` needs to compute exactly what this run would."""
        return {"state": state_to_host(self.state, min(step, self.config.capacity)), "pending": self.pending or {},
                "eval_returns": np.stack(self.eval_returns),
                "counters": {"step": step, "num_evals": self.num_evals, "elapsed": time.perf_counter() - self.begin}}

    def summary(self, step: int, stopped: bool) -> dict[str, Any]:
        """What ``train`` returns beside the state: where the run ended, its evaluations, divergences and time."""
        return {"step": step, "stopped": stopped, "eval_returns": np.stack(self.eval_returns),
                "diverged": self.diverged, "elapsed": time.perf_counter() - self.begin}


def _make_host_loop(loop: Loop, seeds: list[int], resume: dict[str, Any] | None, progress_fn: ProgressFn,
                    warn: Callable[[str], None]) -> tuple[_HostLoop, int]:
    """The seeds' state, fresh or from ``resume``, with the compiled calls over all seeds; and the step it is at."""
    state, counters, pending, eval_returns = start(loop, seeds, resume)
    run_steps = jax.jit(jax.vmap(loop.run_steps, in_axes=(0, None, None)), donate_argnums=0)
    evaluate_all = jax.jit(jax.vmap(lambda s, i: {"episode_return": loop.evaluate(s, i), "episode": s.episodes},
                                    in_axes=(0, None)))
    host = _HostLoop(loop.config, seeds, progress_fn, warn, run_steps, evaluate_all, state, pending, eval_returns,
                     counters["num_evals"], time.perf_counter() - counters["elapsed"])
    return host, counters["step"]


def train(loop: Loop, seeds: list[int], progress_fn: ProgressFn | None = None,
          checkpoint_fn: Callable[[int, dict[str, Any]], None] | None = None, resume: dict[str, Any] | None = None,
          should_stop: Callable[[], bool] | None = None, on_steps: Callable[[int], None] | None = None,
          checkpoint_interval: int = 50_000, warn: Callable[[str], None] = print) -> tuple[Any, dict[str, Any]]:
    """Train ``seeds`` from scratch or from ``resume`` (a snapshot); return ``(state, summary)``.

    ``on_steps(n)`` runs after each chunk of ``n`` steps (a progress bar). The summary holds ``step``,
    ``stopped`` (whether ``should_stop`` ended the run early), ``eval_returns`` ``[evaluations, seeds]``,
    ``diverged`` (seed -> the step its metrics turned non-finite) and ``elapsed`` (seconds, resumed runs'
    earlier ones included).
    """
    config, n = loop.config, loop.config.max_steps
    host, resumed_at = _make_host_loop(loop, seeds, resume, progress_fn or (lambda step, metrics: None), warn)
    timer, last_checkpoint = StepTimer(resumed_at), resumed_at

    points = boundaries(config)
    for t0, t1 in zip(points[:-1], points[1:]):
        if t0 < resumed_at:  # done before the snapshot resumed from
            continue
        if t0 % config.eval_interval == 0:
            host.evaluate(t0)
        host.run_chunk(t0, t1)
        if on_steps is not None:
            on_steps(t1 - t0)
        if (t1 % config.log_interval == 0 or t1 == n) and host.pending["num_updates"].max() > 0:
            host.report(t1, timer)
        stopping = should_stop is not None and should_stop()
        if checkpoint_fn is not None and t1 < n and (
                t1 // checkpoint_interval > last_checkpoint // checkpoint_interval or stopping):
            checkpoint_fn(t1, host.snapshot(t1))
            last_checkpoint = t1
        if stopping and t1 < n:
            return host.state, host.summary(t1, stopped=True)
    host.evaluate(n)
    return host.state, host.summary(n, stopped=False)
