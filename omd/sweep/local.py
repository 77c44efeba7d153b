"""Runs jobs on this machine: a pool of slots, each job in its own wrapper process; a slot is a GPU
(``--jobs_per_gpu`` slots per GPU, JAX's preallocation off so they share it) or, without GPUs, a
disjoint share of the cores (``omd.sweep.cpus``)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any, Callable

from tqdm import tqdm

from omd.sweep import cpus

# started as a file so that the wrapper (which lives as long as its job) does not import JAX
WRAPPER = [sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "wrapper.py")]


def visible_gpus() -> list[str]:
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    if env is not None:
        return [g for g in env.split(",") if g.strip() not in ("", "-1")]
    try:
        return subprocess.run(["nvidia-smi", "--query-gpu=index", "--format=csv,noheader"],
                              capture_output=True, text=True, timeout=30, check=True).stdout.split()
    except (subprocess.SubprocessError, OSError):  # no nvidia-smi, or no driver behind it
        return []


def slots(workers: int | None, jobs_per_gpu: int, gpus: list[str]) -> list[dict[str, str]]:
    """One environment overlay per worker: a GPU each, or on CPUs a disjoint share of the cores."""
    if gpus:
        return [{"CUDA_VISIBLE_DEVICES": gpus[i % len(gpus)], "XLA_PYTHON_CLIENT_PREALLOCATE": "false"}
                for i in range(workers or len(gpus) * jobs_per_gpu)]
    return cpus.overlays(workers or len(cpus.usable()))


def _interrupt(_signum, _frame):
    raise KeyboardInterrupt


def run(spec_paths: dict[str, str], workers: int | None, jobs_per_gpu: int,
        on_exit: Callable[[str], Any]) -> dict[str, int]:
    """Runs every job's spec (job name -> spec path) in order; returns the exit code per job, calling
    ``on_exit(name)`` as each job ends. Ctrl-C or SIGTERM stops the running jobs (their wrappers
    record them as failed) and starts no further one."""
    free, todo = slots(workers, jobs_per_gpu, visible_gpus()), list(reversed(spec_paths.items()))
    running: dict[subprocess.Popen, tuple[str, dict]] = {}
    results: dict[str, int] = {}
    previous = signal.signal(signal.SIGTERM, _interrupt)
    bar = tqdm(total=len(todo), desc=f"jobs ({len(free)} workers)")
    try:
        while todo or running:
            while todo and free:
                (name, path), slot = todo.pop(), free.pop()
                running[subprocess.Popen(WRAPPER + [path], env=dict(os.environ, **slot))] = (name, slot)
            for proc in [p for p in running if p.poll() is not None]:
                name, slot = running.pop(proc)
                results[name] = proc.returncode
                free.append(slot)
                on_exit(name)
                bar.update()
            time.sleep(0.1)
    except KeyboardInterrupt:
        for proc in running:
            proc.terminate()
        for proc in running:
            proc.wait()
        raise
    finally:
        bar.close()
        signal.signal(signal.SIGTERM, previous)
    return results
