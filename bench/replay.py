"""Replay-buffer throughput: inserts/s and samples/s for a 200,000-transition buffer.

Two ways the suites use it: inside a compiled loop (``lax.scan``, CartPole) and one
jitted, donated call per environment step from the host (MuJoCo).

    python bench/replay.py [--capacity 200000] [--obs_dim 17] [--batch_size 256]
"""

import argparse
import time

import jax
import jax.numpy as jnp

from omd import replay


def timed(fn, *args, repeat=3):
    out = fn(*args)
    jax.block_until_ready(out)  # compile and warm up
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn(*args)
        jax.block_until_ready(out)
        best = min(best, time.perf_counter() - start)
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--capacity", type=int, default=200_000)
    parser.add_argument("--obs_dim", type=int, default=17, help="17: HalfCheetah; use 4 for CartPole")
    parser.add_argument("--action_dim", type=int, default=6)
    parser.add_argument("--batch_size", type=int, default=256)
    parser.add_argument("--n", type=int, default=20_000, help="operations per timing")
    args = parser.parse_args()

    example = {
        "obs": jnp.zeros(args.obs_dim),
        "action": jnp.zeros(args.action_dim),
        "reward": jnp.float32(0),
        "next_obs": jnp.zeros(args.obs_dim),
        "done": jnp.float32(0),
    }
    buf = replay.init(example, args.capacity)
    floats = sum(x.size for x in jax.tree.leaves(example))
    print(f"buffer: {args.capacity:,} transitions x {floats} floats, {args.capacity * floats * 4 / 2**20:.0f} MiB; "
          f"backend {jax.default_backend()}")

    @jax.jit
    def scan_inserts(buf):
        def body(b, i):
            return replay.add(b, jax.tree.map(lambda x: jnp.full_like(x, i), example)), None
        return jax.lax.scan(body, buf, jnp.arange(args.n, dtype=jnp.float32))[0]

    @jax.jit
    def scan_samples(buf, key):
        def body(acc, k):
            return acc + replay.sample(buf, k, args.batch_size)["reward"].sum(), None
        return jax.lax.scan(body, 0.0, jax.random.split(key, args.n))[0]

    t = timed(scan_inserts, buf)
    print(f"inside lax.scan:       {args.n / t:12,.0f} inserts/s")
    full = scan_inserts(buf)
    t = timed(scan_samples, full, jax.random.key(0))
    print(f"inside lax.scan:       {args.n / t:12,.0f} samples/s of batch {args.batch_size}")

    add = jax.jit(replay.add, donate_argnums=0)
    sample = jax.jit(lambda b, k, i: replay.sample(b, jax.random.fold_in(k, i), args.batch_size))
    item = jax.tree.map(lambda x: x + 1, example)
    steps = args.n // 4
    buf = add(buf, item)
    jax.block_until_ready(buf)
    start = time.perf_counter()
    for _ in range(steps):
        buf = add(buf, item)
    jax.block_until_ready(buf)
    print(f"one jitted call each:  {steps / (time.perf_counter() - start):12,.0f} inserts/s (buffer donated)")
    key = jax.random.key(1)
    jax.block_until_ready(sample(buf, key, 0))
    start = time.perf_counter()
    for i in range(steps):
        batch = sample(buf, key, i)
    jax.block_until_ready(batch)
    print(f"one jitted call each:  {steps / (time.perf_counter() - start):12,.0f} samples/s of batch {args.batch_size}")


if __name__ == "__main__":
    main()
