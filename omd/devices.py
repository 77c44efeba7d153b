"""Spreading a vmapped batch of seeds over the machine's cores (or GPUs).

XLA runs a CPU computation made of small matrix products on one thread, so ten
vmapped CartPole seeds keep one core busy however many the machine has. Splitting
the host into one XLA device per core and sharding the seed axis across those
devices runs the shards side by side; the seeds never communicate, so nothing else
changes. On a machine with several GPUs the same sharding spreads seeds over them.
"""

from __future__ import annotations

import os
from typing import Any


def split_host_into_cores(count: int | None = None) -> None:
    """Ask XLA for one CPU device per available core. Call before JAX first runs anything."""
    count = count or len(os.sched_getaffinity(0))
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_force_host_platform_device_count" not in flags and count > 1:
        os.environ["XLA_FLAGS"] = f"{flags} --xla_force_host_platform_device_count={count}".strip()


def shard_seeds(tree: Any, num_seeds: int) -> Any:
    """Place ``tree`` (leading axis: seeds) across as many devices as divide ``num_seeds``.

    With one device, or a seed count no device count divides, the tree is returned as is.
    """
    import jax
    from jax.sharding import Mesh, NamedSharding, PartitionSpec

    devices = jax.devices()
    n = max((k for k in range(1, len(devices) + 1) if num_seeds % k == 0), default=1)
    if n == 1:
        return tree
    mesh = Mesh(devices[:n], ("seed",))
    return jax.device_put(tree, NamedSharding(mesh, PartitionSpec("seed")))
