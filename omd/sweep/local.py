"""Runs jobs on this machine: a pool of workers, each job in its own wrapper process.

On a GPU machine each worker is pinned to one GPU (``CUDA_VISIBLE_DEVICES``), several workers
per GPU, with JAX's memory preallocation off so they can share it.
"""

from __future__ import annotations

import concurrent.futures as cf
import os
import shutil
import subprocess
import sys
import threading

from tqdm import tqdm


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
    """One environment overlay per worker."""
    if gpus:
        n = workers or len(gpus) * jobs_per_gpu
        return [{"CUDA_VISIBLE_DEVICES": gpus[i % len(gpus)],
                 "XLA_PYTHON_CLIENT_PREALLOCATE": "false"} for i in range(n)]
    return [{} for _ in range(workers or os.cpu_count() or 1)]


def run(spec_paths: list[str], workers: int | None = None, jobs_per_gpu: int = 1,
        quiet: bool = False) -> dict[str, int]:
    """Runs every spec; returns exit code per spec path. Ctrl-C stops the workers' jobs."""
    free = slots(workers, jobs_per_gpu, visible_gpus())
    lock = threading.Lock()
    procs: set[subprocess.Popen] = set()

    def one(path: str) -> int:
        with lock:
            env_extra = free.pop()
        try:
            out = subprocess.DEVNULL if quiet else None
            p = subprocess.Popen([sys.executable, "-m", "omd.sweep.wrapper", path],
                                 env=dict(os.environ, **env_extra), stdout=out)
            with lock:
                procs.add(p)
            rc = p.wait()
            with lock:
                procs.discard(p)
            return rc
        finally:
            with lock:
                free.append(env_extra)

    results: dict[str, int] = {}
    n = len(free)
    with cf.ThreadPoolExecutor(max_workers=n) as pool:
        futures = {pool.submit(one, p): p for p in spec_paths}
        try:
            for fut in tqdm(cf.as_completed(futures), total=len(futures), desc=f"jobs ({n} workers)",
                            disable=quiet):
                results[futures[fut]] = fut.result()
        except KeyboardInterrupt:
            for f in futures:
                f.cancel()
            with lock:
                for p in procs:
                    p.terminate()
            raise
    return results
