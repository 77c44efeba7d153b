"""A CartPole run's files: ``train_and_save`` runs ``omd.soft_q.train.train`` with outputs, resume and signals.

Outputs under ``out_dir/[exp/]<seed>/``, one folder per seed: ``train.csv``, ``eval.csv`` and
TensorBoard events under ``tb/``; with ``save_agent`` / ``save_buf`` the agent and the replay buffer
at ``agent_path`` / ``data_path`` (seed appended with several seeds; ``omd.soft_q.export``).

Resume: every ``checkpoint_interval`` steps (at the first log or evaluation boundary on or after each
multiple), and when SIGTERM (Slurm pre-emption), SIGUSR1 (``sbatch --signal``) or Ctrl-C stops the run
at the next boundary (``omd.stop``), one file, ``out_dir/[exp/]<first seed>/checkpoint.msgpack``, is
written atomically (``omd.checkpoint``) for all seeds of the run: the whole ``RunState`` (agent,
replay buffers, environment states, RNG keys, counters), the metric sums not yet logged, the
evaluation history, the step, and each seed's train.csv/eval.csv as written so far. Running the
same command again resumes from it and computes exactly what the uninterrupted run would have
(TensorBoard events after the checkpoint may appear twice); other settings are refused. A finished
run deletes its checkpoint.

Folders holding other outputs (finished, or another run's) are refused in one line (``UserError``),
or with ``overwrite`` moved to ``<seed>.old-<n>``, never deleted. A failed write (disk full, output
folder removed) raises ``omd.outputs.WriteFailed``, whose one line names the file, the cause and the
last good checkpoint, which is kept; a run all of whose seeds went non-finite raises
``omd.guard.NonFiniteError`` saying the same of its checkpoint.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil

import jax
import jax.numpy as jnp
import numpy as np
from tqdm import tqdm

from omd import checkpoint, guard
from omd import logging as omd_logging
from omd.outputs import UserError, WriteGuard, aside_path, changed_settings
from omd.soft_q import export
from omd.soft_q.config import SoftQConfig, to_flags
from omd.soft_q.evaluation import evaluate
from omd.soft_q.train import train
from omd.soft_q.training import Loop, make_loop
from omd.stop import StopRequest

CHECKPOINT = "checkpoint.msgpack"
# The checkpoint layout follows the run state's tree; the number changes with it. Only this layout is
# read: a checkpoint of another is refused in one line (claim_outputs).
RUN_FORMAT = "omd.soft_q.run/2"
LOGS = ("train.csv", "eval.csv")
FLAG_DEFAULTS = to_flags(SoftQConfig())  # what a checkpoint written before a flag existed ran


@dataclasses.dataclass(frozen=True)
class OutputConfig:
    """Where and what a run writes: the flags of ``cartpole/train.py`` that do not change what is computed."""

    out_dir: str = "out"
    exp: str = ""
    seed: int = 0
    num_seeds: int = 1
    overwrite: bool = False
    tensorboard: bool = True
    tqdm: bool = True
    checkpoint_interval: int = 50_000
    save_agent: bool = False
    agent_path: str = "data/agent.pkl"
    save_buf: bool = False
    data_path: str = "data/buf.pkl"

    @property
    def seeds(self) -> list[int]:
        return list(range(self.seed, self.seed + self.num_seeds))


def per_seed_path(path: str, seed: int, num_seeds: int) -> str:
    if num_seeds == 1:
        return path
    root, ext = os.path.splitext(path)
    return f"{root}_{seed}{ext}"


def check_writable(directory: str, flag: str) -> None:
    problem = checkpoint.unwritable(directory)
    if problem:
        raise UserError(f"{flag}: cannot write to {directory} ({problem}); pass a writable {flag}.")


def fingerprint(config: SoftQConfig, seeds: list[int]) -> dict:
    """What a resumed run must share with its checkpoint: every setting that changes what is computed."""
    return {**to_flags(config), "seed": seeds[0], "num_seeds": len(seeds)}


def read_checkpoint(path: str, config: SoftQConfig, seeds: list[int]) -> dict:
    """The checkpoint at ``path``, refused in one line when unreadable, of another layout or other settings."""
    try:
        saved = checkpoint.load(path)
        host = json.loads(saved["host"])
        kind, _, version = str(host.get("format")).partition("/")
        if kind != RUN_FORMAT.split("/")[0] or not version.isdigit():
            raise ValueError(f"not a {RUN_FORMAT} checkpoint")
    except Exception:  # truncated, corrupted or another program's
        raise UserError(
            f"checkpoint {path} is unreadable (truncated, corrupted or not a CartPole checkpoint); pass "
            "--overwrite to start these seeds again (their outputs moved aside), or choose another --out_dir "
            "or --exp.") from None
    if host["format"] != RUN_FORMAT:
        which = "an earlier" if int(version) < int(RUN_FORMAT.split("/")[1]) else "a later"
        raise UserError(
            f"checkpoint {path} was written by {which} version of this code ({host['format']}; this one reads "
            f"{RUN_FORMAT}): finish the run with that version, or pass --overwrite to start these seeds again "
            "(their outputs are moved aside, nothing is lost).")
    want, had = fingerprint(config, seeds), host["fingerprint"]
    diff = [f"--{k} {had.get(k, FLAG_DEFAULTS.get(k))!r} there, {want[k]!r} now"
            for k in changed_settings(had, want, FLAG_DEFAULTS)]
    if diff:
        raise UserError(
            f"{path} is the checkpoint of a run with other settings ({'; '.join(diff)}). Rerun with its "
            "settings to resume it, pass --overwrite to start again (its outputs moved aside), or choose another "
            "--out_dir or --exp.")
    return saved


def claim_outputs(config: SoftQConfig, out: OutputConfig) -> tuple[list[str], dict | None]:
    """The seeds' output folders and, when they hold a checkpoint of this run, its contents.

    Folders with other outputs are refused (or moved aside with ``overwrite``): finished results
    and runs of other settings are never mixed with this one or deleted. Runs before any compute.
    """
    root = os.path.join(out.out_dir, out.exp)
    check_writable(root, "--out_dir")
    for flag, path, wanted in (("--agent_path", out.agent_path, out.save_agent),
                               ("--data_path", out.data_path, out.save_buf)):
        if wanted:  # before training, not after it
            check_writable(os.path.dirname(os.path.abspath(path)), flag)
    dirs = [os.path.join(root, str(s)) for s in out.seeds]
    taken = [d for d in dirs if os.path.isdir(d) and os.listdir(d)]
    if out.overwrite:
        for d in taken:
            aside = aside_path(d)
            shutil.move(d, aside)
            print(f"--overwrite: moved the earlier outputs in {d} to {aside}.", flush=True)
        return dirs, None
    path = os.path.join(dirs[0], CHECKPOINT)
    if os.path.exists(path):
        return dirs, read_checkpoint(path, config, out.seeds)
    if taken:
        raise UserError(
            f"Output directory {taken[0]} already exists and is not empty; pass --overwrite to move it aside "
            "and start again, or choose another --out_dir or --exp."
        )
    return dirs, None


def eval_only(agent_path: str, eval_episodes: int, seed: int) -> str:
    """Evaluate the agent saved at ``agent_path`` (``save_agent``) for ``eval_episodes`` episodes; one line."""
    saved_config, params = export.load_agent(agent_path)
    loop = make_loop(dataclasses.replace(saved_config, eval_episodes=eval_episodes))
    q = jax.tree.map(jnp.asarray, params["params_Q"])
    run = jax.jit(lambda key: evaluate(loop.agent, loop.env, q, key, eval_episodes))
    ret = float(run(jax.random.key(seed)))
    return (f"{agent_path}: {saved_config.algo} agent trained for {params['step']} steps on "
            f"{saved_config.env_name}; mean return over {eval_episodes} episodes: {ret:.2f}")


def restore_logs(saved: dict, dirs: list[str]) -> None:
    """Each seed's train.csv/eval.csv as the checkpoint holds them: the rows written up to it, byte for byte."""
    for i, d in enumerate(dirs):
        os.makedirs(d, exist_ok=True)
        for name in LOGS:
            with open(os.path.join(d, name), "wb") as f:
                f.write(saved["logs"][str(i)][name])


def read_logs(dirs: list[str]) -> dict[str, dict[str, bytes]]:
    logs = {}
    for i, d in enumerate(dirs):
        logs[str(i)] = {}
        for name in LOGS:
            with open(os.path.join(d, name), "rb") as f:  # the logger created it: gone means the folder went
                logs[str(i)][name] = f.read()
    return logs


def per_seed_rows(step: int, metrics: dict, num_seeds: int) -> dict[str, list[dict]]:
    """The loop's report as one CSV row per seed and kind: ``episode``, ``step``, then the kind's metrics."""
    rows = {}
    for kind in ("eval", "train"):
        values = {k.split("/", 1)[1]: v for k, v in metrics.items() if k.startswith(kind + "/")}
        if values:
            rows[kind] = [{"episode": int(values["episode"][i]), "step": step,
                           **{k: float(v[i] if np.ndim(v) else v) for k, v in values.items() if k != "episode"}}
                          for i in range(num_seeds)]
    return rows


def save_exports(loop: Loop, out: OutputConfig, state, summary: dict, dirs: list[str]) -> None:
    """Save each seed's agent and replay buffer where asked, and print its one-line result."""
    config, seeds, n = loop.config, out.seeds, loop.config.max_steps
    minutes, history = summary["elapsed"] / 60, summary["eval_returns"]  # history: [evals, seeds]
    for i, seed in enumerate(seeds):
        if out.save_agent:
            agent_state = jax.tree.map(lambda x: x[i], state.agent)
            export.save_agent(per_seed_path(out.agent_path, seed, len(seeds)), config, agent_state, n)
        if out.save_buf:
            buf = jax.tree.map(lambda x: x[i], state.buffer)
            export.save_buffer(per_seed_path(out.data_path, seed, len(seeds)), buf)
        diverged = summary["diverged"].get(seed)
        print(f"{f'[seed {seed}] ' if len(seeds) > 1 else ''}done: {config.algo} on {config.env_name}, seed {seed}, "
              f"{n} steps in {minutes:.1f} min ({n * len(seeds) / max(minutes * 60, 1e-9):.0f} steps/s over all "
              f"seeds); final eval return {history[-1, i]:.1f}, mean of the last 10 evals {history[-10:, i].mean():.1f}"
              f"{f' (diverged at step {diverged})' if diverged is not None else ''}; outputs in {dirs[i]}", flush=True)


def train_and_save(loop: Loop, out: OutputConfig) -> dict:
    """Train (or resume) with the outputs above. Returns ``stopped_by`` (the signal that stopped the run, or
    ``None``), ``step`` and ``checkpoint`` (the path written at the stop, or ``None``).

    Raises ``UserError`` (before any compute) for output folders it must not use, ``WriteFailed`` and
    ``NonFiniteError`` as the module docstring says.
    """
    config, seeds = loop.config, out.seeds
    dirs, saved = claim_outputs(config, out)
    ckpt_path = os.path.join(dirs[0], CHECKPOINT)
    host = None if saved is None else json.loads(saved["host"])
    resume = None
    if saved is not None:
        resume = {"state": saved["state"], "pending": saved["pending"], "eval_returns": saved["eval_returns"],
                  "counters": {k: host[k] for k in ("step", "num_evals", "elapsed")}}
    # A failed write (disk full, folder gone) stops the run in one line; the last good checkpoint is kept.
    with StopRequest() as stop, WriteGuard(ckpt_path, None if host is None else host["step"], no_checkpoint=(
            "rerun with --overwrite to start again (the partial outputs are moved aside)")) as writes:
        if saved is not None:
            restore_logs(saved, dirs)
            print(f"Resuming {config.algo} on {config.env_name}, seeds {seeds[0]}-{seeds[-1]}, from step "
                  f"{host['step']} ({ckpt_path}).", flush=True)
        loggers = [omd_logging.Logger(d, tensorboard=out.tensorboard, console=False) for d in dirs]
        prefixes = [f"[seed {s}] " if len(seeds) > 1 else "" for s in seeds]
        bar = tqdm(total=config.max_steps, initial=0 if host is None else host["step"], unit="step",
                   disable=not out.tqdm, dynamic_ncols=True)

        def progress(step: int, metrics: dict) -> None:
            for kind, rows in per_seed_rows(step, metrics, len(seeds)).items():
                for logger, prefix, row in zip(loggers, prefixes, rows):
                    logger.log(kind, step, row)
                    tqdm.write(prefix + omd_logging.format_line(kind, step, row))

        def save_checkpoint(step: int, snapshot: dict) -> None:
            counters = snapshot.pop("counters")
            checkpoint.save(ckpt_path, {**snapshot, "logs": read_logs(dirs), "host": json.dumps(
                {"format": RUN_FORMAT, "fingerprint": fingerprint(config, seeds), **counters})})
            writes.saved(step)

        try:
            state, summary = train(loop, seeds, progress, save_checkpoint, resume, lambda: stop.signum is not None,
                                   bar.update, out.checkpoint_interval, tqdm.write)
        except guard.NonFiniteError as err:
            kept = f" The checkpoint of step {writes.step} is kept." if os.path.exists(ckpt_path) else ""
            raise guard.NonFiniteError(f"{err}{kept}") from None
        finally:
            bar.close()
            for logger in loggers:
                logger.close()
        if summary["stopped"]:
            return {"stopped_by": stop.name, "step": summary["step"], "checkpoint": ckpt_path}
        save_exports(loop, out, state, summary, dirs)
        if os.path.exists(ckpt_path):  # finished: the outputs are final and a rerun is refused, not resumed
            os.remove(ckpt_path)
    return {"stopped_by": None, "step": config.max_steps, "checkpoint": None}
