"""Submits jobs to Slurm as one job array through submitit, and asks Slurm which it still holds.

Each array task runs its jobs side by side, one wrapper (``wrapper.py``) each. Pre-emption and time-outs
reach the jobs as signals: Slurm's SIGTERM, and ``SIGNAL`` shortly before the time limit, on which
both suites checkpoint and stop; the task is then requeued (by Slurm, or by submitit once the jobs
have stopped) and its wrappers skip finished jobs and resume the others from their checkpoints.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time

import submitit

from omd.sweep import cpus, local
from omd.sweep import state as st

# The signal Slurm sends before the time limit, and submitit handles on the node: SIGUSR1, on which
# both suites checkpoint (SIGUSR2, submitit's default, would kill them without one). The node reads
# it from the environment the sbatch script exports; the sbatch line from this class attribute.
SIGNAL = "USR1"
submitit.slurm.slurm.SlurmJobEnvironment.USR_SIG = SIGNAL

SIGNAL_DELAY_S = 120  # seconds between the signal and the time limit: time to write a checkpoint


class SlurmError(RuntimeError):
    """No sbatch here, or it refused the array."""


class Task(submitit.helpers.Checkpointable):
    """One array task, run by submitit on the node: its jobs side by side, one wrapper each on its own
    share of the task's cores. Slurm signals every process of the task, so the jobs get the signal
    themselves; ``checkpoint`` (submitit's question, what to requeue) waits for them to stop first."""

    def __init__(self, spec_paths: list[str], requeue: bool):
        # one command line for all jobs, as tasks pickled by earlier versions hold it (a requeued
        # task is unpickled by the code of the day)
        self.command, self.requeue, self.pids = [*local.WRAPPER, *spec_paths], requeue, []

    def __call__(self) -> int:
        paths = self.command[2:]
        procs = [subprocess.Popen(self.command[:2] + [path], env=dict(os.environ, **cores))
                 for path, cores in zip(paths, cpus.overlays(len(paths)))]
        self.pids = [p.pid for p in procs]
        rc = next((c for c in [p.wait() for p in procs] if c != 0), 0)
        if rc:  # the task's exit status is its first failed job's, as Slurm's accounting shows it
            raise SystemExit(rc)
        return 0

    def checkpoint(self, *args, **kwargs):
        t0 = time.time()
        while any(st.process_start_ticks(pid) is not None for pid in self.pids) and time.time() - t0 < SIGNAL_DELAY_S - 10:
            time.sleep(0.5)
        return super().checkpoint(*args, **kwargs) if self.requeue else None


def minutes(limit: str) -> int:
    """Slurm's --time (M, M:S, H:M:S, D-H, D-H:M, D-H:M:S) in whole minutes, as submitit takes it."""
    try:
        days, _, rest = limit.rpartition("-")
        parts = [int(p) for p in rest.split(":")]
        if days:
            h, m, s = (parts + [0, 0])[:3]
        else:
            h, m, s = {1: (0, parts[0], 0), 2: (0, *parts), 3: tuple(parts)}[len(parts)]
        return int(days or 0) * 1440 + h * 60 + m + (s > 0)
    except (ValueError, KeyError):
        raise SlurmError(f"--time {limit!r} is not a Slurm time (e.g. 90, 24:00:00, 2-00:00:00)") from None


def submit(layout: st.Layout, basename: str, spec_paths: dict[str, str], cwd: str, *, limit: str,
           mem: str | None, cpus: int | None, gpus: int | None, partition: str | None, jobs_per_task: int,
           max_parallel: int | None, requeue: bool, extra: list[str]) -> tuple[str, int]:
    """Submits one array (``extra``: raw sbatch options such as ``--account=abc``); writes each
    job's Slurm id. Returns the array job id and the number of array tasks."""
    if shutil.which("sbatch") is None:
        raise SlurmError("sbatch not found: --slurm needs the Slurm client tools on PATH (use --local to run here)")
    names, k, limit_min = list(spec_paths), max(1, jobs_per_task), minutes(limit)
    tasks = [names[i:i + k] for i in range(0, len(names), k)]
    options = {"chdir": cwd, "requeue" if requeue else "no-requeue": True}
    for opt in extra:  # --account=abc -> {"account": "abc"}; --exclusive -> {"exclusive": True}
        key, eq, value = opt.lstrip("-").partition("=")
        options[key] = value if eq else True
    try:
        ex = submitit.SlurmExecutor(folder=os.path.abspath(layout.slurm_dir), python=shlex.quote(sys.executable))
        ex.update_parameters(
            job_name=basename, time=limit_min, array_parallelism=max_parallel or len(tasks),
            mem=mem or None, cpus_per_task=cpus, gpus_per_task=gpus, partition=partition,  # mem as given, e.g. 16G
            signal_delay_s=SIGNAL_DELAY_S, additional_parameters=options,
            setup=[f"export SUBMITIT_PREEMPT_SIGNAL={SIGNAL} XLA_PYTHON_CLIENT_PREALLOCATE=false"])
        with ex.batch():
            jobs = [ex.submit(Task([spec_paths[n] for n in t], requeue)) for t in tasks]
    except (OSError, RuntimeError, ValueError, subprocess.SubprocessError) as e:
        raise SlurmError(f"sbatch refused the array: {e}") from None
    for job, task in zip(jobs, tasks):
        for n in task:
            st.write_text(layout.slurm_id(n), f"{job.job_id}\n")
    return jobs[0].job_id.split("_")[0], len(tasks)


def queue_states(array_ids: set[str]) -> dict[str, str] | None:
    """'<array>_<task>' -> state for tasks Slurm still holds; None if squeue can't be asked.

    squeue, not submitit's job state: that comes from sacct, which clusters without accounting
    (such as the one-node cluster of the tests) cannot answer.
    """
    if shutil.which("squeue") is None:
        return None
    proc = subprocess.run(["squeue", "-h", "-r", "-o", "%i %T", "-j", ",".join(sorted(array_ids))],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        # squeue -j fails once every listed id has left its memory: nothing is held
        return {} if "Invalid job id" in proc.stderr else None
    return dict(line.split() for line in proc.stdout.splitlines() if len(line.split()) == 2)
