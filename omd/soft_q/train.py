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

import time
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from omd import devices, guard
from omd.logging import StepTimer
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
    progress_fn = progress_fn or (lambda step, metrics: None)
    state, counters, pending, eval_returns = start(loop, seeds, resume)
    run_steps = jax.jit(jax.vmap(loop.run_steps, in_axes=(0, None, None)), donate_argnums=0)
    evaluate_all = jax.jit(jax.vmap(lambda s, i: {"episode_return": loop.evaluate(s, i), "episode": s.episodes},
                                    in_axes=(0, None)))
    begin, timer = time.perf_counter() - counters["elapsed"], StepTimer(counters["step"])
    num_evals, last_checkpoint, diverged = counters["num_evals"], counters["step"], {}

    def evaluate(step: int) -> None:
        nonlocal num_evals
        out = jax.device_get(evaluate_all(state, num_evals))
        num_evals += 1
        eval_returns.append(out["episode_return"])
        progress_fn(step, {"eval/episode": out["episode"], "eval/episode_return": out["episode_return"]})

    def summary(step: int, stopped: bool) -> dict[str, Any]:
        return {"step": step, "stopped": stopped, "eval_returns": np.stack(eval_returns), "diverged": diverged,
                "elapsed": time.perf_counter() - begin}

    points = boundaries(config)
    for t0, t1 in zip(points[:-1], points[1:]):
        if t0 < counters["step"]:  # done before the snapshot resumed from
            continue
        if t0 % config.eval_interval == 0:
            evaluate(t0)
        state, sums = run_steps(state, t0, t1)
        sums = jax.device_get(sums)
        # The sums are on the host already: checking them costs the compiled loop nothing.
        for message in guard.check_seeds(sums, seeds, t1, f"{config.algo} agent", diverged):
            warn(message)
        pending = sums if pending is None else {k: pending[k] + sums[k] for k in sums}
        if on_steps is not None:
            on_steps(t1 - t0)
        if (t1 % config.log_interval == 0 or t1 == n) and pending["num_updates"].max() > 0:
            rate = timer.rate(t1)
            progress_fn(t1, train_metrics(pending, jax.device_get(state.episodes), rate, time.perf_counter() - begin,
                                           config.algo))
            pending = None
        stopping = should_stop is not None and should_stop()
        if checkpoint_fn is not None and t1 < n and (
                t1 // checkpoint_interval > last_checkpoint // checkpoint_interval or stopping):
            checkpoint_fn(t1, {"state": state_to_host(state, min(t1, config.capacity)), "pending": pending or {},
                               "eval_returns": np.stack(eval_returns),
                               "counters": {"step": t1, "num_evals": num_evals,
                                            "elapsed": time.perf_counter() - begin}})
            last_checkpoint = t1
        if stopping and t1 < n:
            return state, summary(t1, stopped=True)
    evaluate(n)
    return state, summary(n, stopped=False)
