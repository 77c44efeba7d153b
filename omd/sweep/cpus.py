"""Disjoint sets of CPU cores for jobs that run side by side on one machine: XLA:CPU gives each
process a thread per core it may use, so W unpinned jobs on C cores would run W x C threads
(``docs/results/performance.md``). Stdlib only: the wrapper imports it without loading JAX."""

from __future__ import annotations

import os
import sys
from typing import Sequence

ENV = "OMD_CPUS"  # comma-separated core ids a wrapper pins itself (and so its job) to


def usable() -> list[int]:
    """The cores this process may run on (all of them where affinity is not supported)."""
    if hasattr(os, "sched_getaffinity"):
        return sorted(os.sched_getaffinity(0))
    return list(range(os.cpu_count() or 1))


def split(cores: Sequence[int], n: int) -> list[list[int]] | None:
    """``n`` disjoint blocks of ``cores``, sizes differing by at most one; None for one job or more jobs than cores."""
    if n < 2 or n > len(cores):
        return None
    size, extra = divmod(len(cores), n)
    starts = [i * size + min(i, extra) for i in range(n + 1)]  # the first ``extra`` blocks get one more
    return [list(cores[a:b]) for a, b in zip(starts, starts[1:])]


def overlays(n: int) -> list[dict[str, str]]:
    """One environment overlay per job: ``{ENV: "0,1"}``, or ``{}`` for every job when not split."""
    blocks = split(usable(), n)
    return [{ENV: ",".join(map(str, block))} for block in blocks] if blocks else [{} for _ in range(n)]


def pin_from_env() -> None:
    """Restrict this process, and the processes it starts, to the cores ``$OMD_CPUS`` names."""
    value = os.environ.get(ENV, "").strip()
    if not value or not hasattr(os, "sched_setaffinity"):
        return
    try:
        os.sched_setaffinity(0, {int(c) for c in value.split(",")})
    except (OSError, ValueError) as err:  # a bad set costs speed, not the job
        print(f"[sweep] not pinned to cores {value!r} ({err}); running on all of them", file=sys.stderr, flush=True)
