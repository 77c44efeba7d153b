"""A MuJoCo run's files: ``train_and_save`` runs ``omd.sac.train.train`` with outputs, resume and signals.

Outputs under ``save_dir``:

- ``<seed>.txt``: (timesteps, average evaluation return) rows, as the original;
- ``<seed>/train.csv`` and ``<seed>/eval.csv`` (columns named as CartPole's: ``omd.columns``);
- ``<seed>/tb/``: TensorBoard scalars (``train/*``, ``eval/*``, ``episode/*``); runs started before
  the shared vocabulary wrote them to ``tb/<seed>/``, which a resumed run leaves where it is;
- ``<seed>/checkpoint.msgpack``: written every ``checkpoint_interval`` steps, at
  the end, and when SIGTERM, SIGINT or SIGUSR1 stops the run between steps
  (``omd.stop``); a run started with the same ``save_dir`` and seed resumes from it;
- ``<seed>/run.json``: the settings that wrote the outputs and whether the run finished;
- with ``save_video``, ``video/<seed>/eval_<step>.mp4``.

Outputs are never deleted. A seed whose outputs cannot be resumed (no checkpoint:
a finished run whose checkpoint was removed, or other settings) is refused unless
``overwrite`` is set, which first moves them to ``save_dir/<seed>.old-<n>/``; so is a
checkpoint written with other settings or by an earlier version of this code (its
``format`` differs). The one exception is a run with the same settings that stopped
before its first checkpoint: it starts again from step 0, its partial outputs moved
aside the same way. A run whose metrics turn non-finite stops at the next log or
checkpoint boundary (``omd.guard.NonFiniteError``) and writes no checkpoint after that.
A write that fails (disk full, the folder removed) raises ``omd.outputs.WriteFailed``,
whose one-line message names the file, the cause and the checkpoint kept.

A checkpoint holds the training loop's snapshot (agent state, replay buffer, the
environments' states, host counters) and the CSV/``.txt`` logs written so far. A
resumed run therefore continues the current episode and, on the same machine and
software, reproduces the uninterrupted run exactly. TensorBoard events written
between the last checkpoint and a kill are not removed and appear twice for those steps.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import shutil
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from omd import checkpoint
from omd.logging import Logger, format_line
from omd.outputs import UserError, WriteGuard, aside_path, changed_settings
from omd.sac import config as config_lib
from omd.sac.train import check_buffer_fits, make_envs, train
from omd.stop import StopRequest

CHECKPOINT = "checkpoint.msgpack"
# The layout of checkpoint.msgpack: raise it whenever the saved state's structure changes. Only this
# layout is read; a checkpoint of any other (or of none recorded) is refused in one line.
CHECKPOINT_FORMAT = 2
RUN_INFO = "run.json"  # the settings that wrote the outputs, and whether that run finished
LOGS = ("train.csv", "eval.csv")
CSV_KINDS = ("train", "eval")  # the progress kinds written to <seed>/<kind>.csv, each row led by its step


def check_writable(save_dir: str) -> None:
    problem = checkpoint.unwritable(save_dir)
    if problem:
        raise UserError(f"--save_dir={save_dir} is not writable ({problem}); pass a writable --save_dir.")


def _fingerprint(agent_cfg: config_lib.SACConfig, run: config_lib.RunConfig) -> dict[str, Any]:
    """Settings a resumed run must share with the checkpoint (intervals, max_steps and capacity may change)."""
    fields = {**dataclasses.asdict(agent_cfg), "hidden_dims": list(agent_cfg.hidden_dims)}
    return {**fields, "env_name": run.env_name, "dim_distract": run.dim_distract, "seed": run.seed,
            "start_training": run.start_training}


def _read(path: str) -> str:
    # newline="": the logs travel through the checkpoint byte for byte (one line ending, "\n"). The logger
    # created the file: if it is gone, so is the folder, and the checkpoint is not written without it.
    with open(path, newline="") as f:
        return f.read()


def _aside_dir(save_dir: str, seed: int) -> str:
    """The first free ``save_dir/<seed>.old-<n>``: where outputs that a new run would replace are moved."""
    return aside_path(os.path.join(save_dir, str(seed)))


def _move_aside(run: config_lib.RunConfig) -> str | None:
    """Move this seed's outputs (folder with its TensorBoard events, ``.txt``, videos) into one new folder."""
    dest = _aside_dir(run.save_dir, run.seed)
    seed = str(run.seed)
    items = [(os.path.join(run.save_dir, seed), dest), (os.path.join(run.save_dir, f"{seed}.txt"), None),
             # events of a run started before they moved into <seed>/tb
             (os.path.join(run.save_dir, "tb", seed), os.path.join(dest, "tb.legacy")),
             (os.path.join(run.save_dir, "video", seed), os.path.join(dest, "video"))]
    items = [(src, dst or os.path.join(dest, os.path.basename(src))) for src, dst in items if os.path.exists(src)]
    if not items:
        return None
    for src, dst in items:
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.move(src, dst)
    return dest


def _write_run_info(path: str, fingerprint: dict, finished: bool) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"fingerprint": fingerprint, "finished": finished}, f)
    os.replace(tmp, path)


def _claim_outputs(run: config_lib.RunConfig, fingerprint: dict, ckpt_path: str, txt_path: str):
    """The checkpoint to resume (or ``None`` for a fresh start), after refusing to replace results.

    Runs before any compute, so a refused run costs nothing.
    """
    seed_dir = os.path.dirname(ckpt_path)
    if run.overwrite:
        moved = _move_aside(run)
        if moved:
            print(f"--overwrite: moved the earlier outputs of seed {run.seed} to {moved}.", flush=True)
        return None
    if os.path.exists(ckpt_path):
        saved = checkpoint.load(ckpt_path)
        version = saved.get("format")  # none recorded: written before formats were
        if version != CHECKPOINT_FORMAT:
            which = "a later" if isinstance(version, int) and version > CHECKPOINT_FORMAT else "an earlier"
            raise UserError(
                f"{ckpt_path} was written by {which} version of this code (checkpoint format "
                f"{version or 'unrecorded'}, this code reads {CHECKPOINT_FORMAT}); finish that run with the version "
                f"that started it, or pass --overwrite to move the outputs of seed {run.seed} to "
                f"{_aside_dir(run.save_dir, run.seed)} (nothing is lost) and start again."
            )
        host = json.loads(saved["host"])
        if host["fingerprint"] != fingerprint:
            diff = sorted(changed_settings(host["fingerprint"], fingerprint))
            raise UserError(
                f"{ckpt_path} was written with different settings ({', '.join(diff)}). Resume with the same "
                f"settings, pass --overwrite to move the outputs of seed {run.seed} to "
                f"{_aside_dir(run.save_dir, run.seed)} and start again, or pass another --save_dir (or --exp)."
            )
        check_buffer_fits(saved["buffer"], run.capacity)
        return saved
    results = [p for p in [os.path.join(seed_dir, n) for n in LOGS] + [txt_path]
               if os.path.exists(p) and os.path.getsize(p) > 0]
    if not results:
        return None
    try:
        with open(os.path.join(seed_dir, RUN_INFO)) as f:
            info = json.load(f)
    except (OSError, ValueError):
        info = None
    same = info is not None and info.get("fingerprint") == json.loads(json.dumps(fingerprint))
    if same and not info.get("finished"):
        # The same run killed before its first checkpoint: starting it again reproduces those outputs.
        moved = _move_aside(run)
        print(f"Seed {run.seed} stopped before its first checkpoint; starting it again from step 0 "
              f"(its partial outputs moved to {moved}).", flush=True)
        return None
    what = ("a finished run" if same else "a run with other settings" if info is not None else "an earlier run")
    raise UserError(
        f"{seed_dir} holds the results of {what} ({', '.join(os.path.basename(p) for p in results)}) and no "
        f"checkpoint to resume from; this run would replace them. Pass --overwrite to move them to "
        f"{_aside_dir(run.save_dir, run.seed)} and start again, or pass another --save_dir (or --exp)."
    )


def _write_txt(path: str, rows: list[list[float]]) -> None:
    buf = io.StringIO()
    np.savetxt(buf, np.asarray(rows, np.float64).reshape(-1, 2), fmt=["%d", "%.10f"])
    with open(path, "w") as f:
        f.write(buf.getvalue())


def _by_kind(metrics: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``{"train/q": 1, "eval/episode_return": 2}`` -> ``{"train": {"q": 1}, "eval": {"episode_return": 2}}``."""
    kinds: dict[str, dict[str, Any]] = {}
    for key, value in metrics.items():
        kind, name = key.split("/", 1)
        kinds.setdefault(kind, {})[name] = value
    return kinds


def _restore_files(run: config_lib.RunConfig, saved: dict | None, ckpt_path: str, txt_path: str):
    """``(resume, counters)`` for the loop: a checkpoint's snapshot with its logs and ``.txt`` written back, or a
    fresh start's (``None``, step 0) after removing empty leftovers."""
    seed_dir = os.path.dirname(ckpt_path)
    os.makedirs(seed_dir, exist_ok=True)
    if saved is None:
        for name in LOGS:  # empty leftovers only: _claim_outputs moved any results aside or refused
            if os.path.exists(os.path.join(seed_dir, name)):
                os.remove(os.path.join(seed_dir, name))
        return None, {"step": 0, "eval_rows": []}
    host = json.loads(saved["host"])
    counters = {k: v for k, v in host.items() if k not in ("fingerprint", "capacity")}
    resume = {**{k: saved[k] for k in ("agent", "buffer", "env", "eval_envs", "obs", "action")}, "counters": counters}
    for name in LOGS:
        with open(os.path.join(seed_dir, name), "w", newline="") as f:
            f.write(saved["logs"][name])
    _write_txt(txt_path, counters["eval_rows"])
    print(f"Resuming {run.env_name} seed {run.seed} from step {counters['step']} ({ckpt_path}).", flush=True)
    return resume, counters


def train_and_save(agent_cfg: config_lib.SACConfig, run: config_lib.RunConfig, stop_after: int | None = None) -> dict:
    """Train (or resume) with the outputs above and return the loop's summary plus ``state`` (the final
    agent state), ``stopped_by`` (the signal that stopped the run, or ``None``) and ``checkpoint`` (its path).

    ``stop_after``: return after that environment step without a final checkpoint, as a
    killed job would (used by the resume tests). A stop signal ends the run after the
    current step with a checkpoint.
    """
    config_lib.check(agent_cfg, run)
    check_writable(run.save_dir)
    seed_dir = os.path.join(run.save_dir, str(run.seed))
    ckpt_path = os.path.join(seed_dir, CHECKPOINT)
    txt_path = os.path.join(run.save_dir, f"{run.seed}.txt")
    info_path = os.path.join(seed_dir, RUN_INFO)
    fingerprint = _fingerprint(agent_cfg, run)
    saved = _claim_outputs(run, fingerprint, ckpt_path, txt_path)
    environments = make_envs(run, run.save_video)  # a bad --env_name or --save_video stops here, before any file

    # A failed write (disk full, the folder removed or read-only) stops the run in one line (omd.outputs),
    # naming the file and the last good checkpoint, which is kept.
    with WriteGuard(ckpt_path, None if saved is None else json.loads(saved["host"])["step"]) as writes:
        resume, counters = _restore_files(run, saved, ckpt_path, txt_path)
        _write_run_info(info_path, fingerprint, finished=counters["step"] >= run.max_steps)
        del saved
        eval_rows = [list(row) for row in counters["eval_rows"]]

        logger = Logger(seed_dir, csv_names=CSV_KINDS, console=False,
                        tb_dir=os.path.join(seed_dir, "tb"))
        bar = tqdm(total=run.max_steps, initial=counters["step"], disable=not run.tqdm, smoothing=0.05, unit="step",
                   dynamic_ncols=True)

        def progress(step: int, metrics: dict[str, Any]) -> None:
            for kind, values in _by_kind(metrics).items():
                row = logger.log(kind, step, {"step": step, **values} if kind in CSV_KINDS else values)
                if kind in CSV_KINDS:
                    bar.write(format_line(kind, step, row))
                if kind == "eval":
                    eval_rows.append([step, values["episode_return"]])
                    _write_txt(txt_path, eval_rows)

        def save_checkpoint(step: int, snapshot: dict[str, Any]) -> None:
            host = {**snapshot.pop("counters"), "fingerprint": fingerprint, "capacity": run.capacity}
            logs = {name: _read(os.path.join(seed_dir, name)) for name in LOGS}
            checkpoint.save(ckpt_path, {**snapshot, "logs": logs, "host": json.dumps(host),
                                        "format": CHECKPOINT_FORMAT})
            writes.saved(step)
            if step == run.max_steps:
                _write_run_info(info_path, fingerprint, finished=True)

        video_dir = os.path.join(run.save_dir, "video", str(run.seed)) if run.save_video else None
        # A stop signal ends the loop after the current step, with a checkpoint.
        with StopRequest() as stop, bar, logger:
            state, summary = train(agent_cfg, run, progress, save_checkpoint, resume, lambda: stop.signum is not None,
                                   lambda _step: bar.update(1), video_dir, stop_after, environments)
    return {**summary, "state": state, "stopped_by": stop.name if summary["stopped"] else None,
            "checkpoint": ckpt_path}
