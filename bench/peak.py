"""The yardstick of the benchmarks' ``% peak``: XLA's GFLOP/s on 256-wide float32 matrix products.

A chain of ``PRODUCTS`` products of a 256x256 batch by a 256x256 orthogonal matrix (a batch
through a hidden layer): the most a network update's products reach on this machine. This
shared VM's speed swings by 20-40% from one minute to the next, so benchmarks sample it
between their timing windows (best of three short calls).

    python bench/peak.py          # prints the GFLOP/s, using every core JAX is given
"""

from __future__ import annotations

import time
from typing import Callable

import jax
import jax.numpy as jnp

SIDE, PRODUCTS = 256, 8


def make_peak() -> Callable[[], float]:
    """``sample()`` returns the chain's GFLOP/s just now."""
    w = jnp.linalg.qr(jax.random.normal(jax.random.PRNGKey(0), (SIDE, SIDE)))[0]
    x = jax.random.normal(jax.random.PRNGKey(1), (SIDE, SIDE))

    @jax.jit
    def chain(x, w):
        for _ in range(PRODUCTS):
            x = x @ w  # orthogonal w: the chain keeps its scale
        return x

    chain(x, w).block_until_ready()

    def sample() -> float:
        times = []
        for _ in range(3):
            start = time.perf_counter()
            chain(x, w).block_until_ready()
            times.append(time.perf_counter() - start)
        return 2 * SIDE**3 * PRODUCTS / min(times) / 1e9

    return sample


def flops(compiled) -> float:
    """FLOPs of a compiled call, from XLA's cost analysis."""
    cost = compiled.cost_analysis()
    cost = cost[0] if isinstance(cost, (list, tuple)) else cost
    return float(cost.get("flops", float("nan")))


if __name__ == "__main__":
    sample = make_peak()
    print(f"{max(sample() for _ in range(5)):.1f}")
