"""Runs jobs on this machine: a pool of workers, each job in its own wrapper process.

On a GPU machine each worker is pinned to one GPU (``CUDA_VISIBLE_DEVICES``), several workers
per GPU, with JAX's memory preallocation off so they can share it. Without GPUs each worker gets
its own share of the cores (``omd.sweep.cpus``).
"""

from __future__ import annotations

import concurrent.futures as cf
import os
import shutil
import signal
import subprocess
import sys
import threading
from typing import Any, Callable

from tqdm import tqdm

from omd.sweep import cpus

# started as a file so that the wrapper (which lives as long as its job) does not import JAX
WRAPPER = [sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "wrapper.py")]


def visible_gpus() -> list[str]:
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    if env is not None:
        return [g for g in env.split(",") if g.strip() and g.strip() != "-1"]
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=index", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=30, check=True).stdout
    except (subprocess.SubprocessError, OSError):
        return []
    return [line.strip() for line in out.splitlines() if line.strip()]


def slots(workers: int | None, jobs_per_gpu: int, gpus: list[str]) -> list[dict[str, str]]:
    """One environment overlay per worker: a GPU each, or on CPUs a disjoint share of the cores."""
    if gpus:
        n = workers or len(gpus) * jobs_per_gpu
        return [{"CUDA_VISIBLE_DEVICES": gpus[i % len(gpus)],
                 "XLA_PYTHON_CLIENT_PREALLOCATE": "false"} for i in range(n)]
    return cpus.overlays(workers or len(cpus.usable()))


def run(spec_paths: list[str], workers: int | None = None, jobs_per_gpu: int = 1,
        quiet: bool = False, on_exit: Callable[[str], Any] | None = None) -> dict[str, int]:
    """Runs every spec; returns exit code per spec path. ``on_exit(path)`` runs as each job ends.

    Ctrl-C or SIGTERM (e.g. the runner itself killed by a scheduler) starts no further job and
    passes SIGTERM to the running ones, whose wrappers record them as failed.
    """
    free = slots(workers, jobs_per_gpu, visible_gpus())
    lock = threading.Lock()
    stopping = threading.Event()
    procs: set[subprocess.Popen] = set()

    def one(path: str) -> int | None:
        with lock:
            if stopping.is_set():
                return None
            env_extra = free.pop()
            out = subprocess.DEVNULL if quiet else None
            p = subprocess.Popen(WRAPPER + [path],
                                 env=dict(os.environ, **env_extra), stdout=out)
            procs.add(p)
        try:
            return p.wait()
        finally:
            with lock:
                procs.discard(p)
                free.append(env_extra)
            if on_exit is not None:
                on_exit(path)

    def on_term(signum, frame):
        raise KeyboardInterrupt

    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, on_term)
    results: dict[str, int] = {}
    n = len(free)
    pool = cf.ThreadPoolExecutor(max_workers=n)
    try:
        futures = {pool.submit(one, p): p for p in spec_paths}
        for fut in tqdm(cf.as_completed(futures), total=len(futures), desc=f"jobs ({n} workers)",
                        disable=quiet):
            results[futures[fut]] = fut.result()
    except KeyboardInterrupt:
        with lock:
            stopping.set()
            for p in procs:
                p.terminate()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return results
