"""Throughput of the compiled CartPole training loop: environment steps per second, updates included.

  python bench/cartpole.py                    # omd, mle, vep x 1 and 10 seeds, 20k steps each
  python bench/cartpole.py --steps 200000 --agents omd --seeds 10
  python bench/cartpole.py --agents omd mle --seeds 10 30 60    # seeds per call
  python bench/cartpole.py --agents omd --seeds 10 --num_Q_steps 5   # an OMD variant (also --warm_opt, --no_warm, --with_inv_jac)
  python bench/cartpole.py --agents omd --seeds 10 --target_match_mix 0.5 --clip_target   # the stable OMD
  taskset -c 0 python bench/cartpole.py --seeds 10              # one core, as a --local sweep job runs

For each agent type and seed count it compiles the loop, then times a run of
``--steps`` environment steps per seed exactly as cartpole/train.py runs it
(random steps first, one update per step after ``start_training``, an evaluation
of 10 episodes every 1000 steps), and prints the steps per second summed over
seeds. GFLOP/s is the FLOP count of one compiled step (environment step, acting,
replay insert and sample, one update; all seeds) from XLA's cost analysis,
times the number of such steps per second; ``% peak`` is that over XLA's GFLOP/s on
256-wide products with the same cores (``bench/peak.py``, run in a subprocess without the
per-core device split, before the runs; it is printed again after them).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

from omd import devices

if "--no_shard" not in sys.argv:
    devices.split_host_into_cores()  # as cartpole/train.py does: seeds sharded over the cores

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

from omd.soft_q import SoftQConfig, boundaries, make_loop  # noqa: E402


def peak_gflops() -> float:
    """XLA's GFLOP/s on 256-wide products with this process's cores (``bench/peak.py``)."""
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "peak.py")
    out = subprocess.run([sys.executable, script], capture_output=True, text=True, check=True)
    return float(out.stdout.split()[-1])


def step_flops(loop, state, num_seeds: int) -> float:
    """FLOPs of one learning step for all seeds, from XLA's cost analysis of the compiled step."""
    t = jnp.int32(loop.config.start_training)  # a step that updates
    step = jax.jit(jax.vmap(loop.step, in_axes=(0, None)))
    cost = step.lower(state, t).compile().cost_analysis()
    if isinstance(cost, (list, tuple)):
        cost = cost[0]
    return float(cost.get("flops", float("nan")))


def bench(agent_type: str, num_seeds: int, steps: int, extra: dict) -> dict:
    config = SoftQConfig(algo=agent_type, max_steps=steps, **extra)
    loop = make_loop(config)
    keys = jax.vmap(jax.random.key)(jnp.arange(num_seeds, dtype=jnp.uint32))
    init = jax.jit(jax.vmap(loop.init))
    run_steps = jax.jit(jax.vmap(loop.run_steps, in_axes=(0, None, None)), donate_argnums=0)
    evaluate = jax.jit(jax.vmap(loop.evaluate, in_axes=(0, None)))

    state = init(keys)
    flops = step_flops(loop, state, num_seeds)  # of the whole step, before it is split over devices
    state = devices.shard_seeds(state, num_seeds)
    t0 = time.perf_counter()
    run_steps = run_steps.lower(state, 0, 1).compile()
    evaluate = evaluate.lower(state, 0).compile()
    compile_s = time.perf_counter() - t0

    points = boundaries(config)
    t0 = time.perf_counter()
    for i, (a, b) in enumerate(zip(points[:-1], points[1:])):
        if a % config.eval_interval == 0:
            evaluate(state, i)
        state, sums = run_steps(state, a, b)
        jax.device_get(sums)  # the CLI fetches metrics once per chunk
    evaluate(state, len(points)).block_until_ready()
    elapsed = time.perf_counter() - t0
    rate = steps * num_seeds / elapsed
    return {"agent": agent_type, "seeds": num_seeds, "steps_per_s": rate, "seconds": elapsed,
            "compile_s": compile_s, "mflop_per_step": flops / 1e6,
            "gflop_per_s": flops * (steps / elapsed) / 1e9}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=20_000, help="environment steps per seed (default 20000)")
    parser.add_argument("--agents", nargs="+", default=["omd", "mle", "vep"], choices=["omd", "mle", "vep"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 10], help="seed counts to run (default 1 10)")
    parser.add_argument("--with_inv_jac", action="store_true", help="OMD with the conjugate-gradient inverse Jacobian")
    parser.add_argument("--num_Q_steps", type=int, default=1, help="inner value steps per model update (default 1)")
    parser.add_argument("--warm_opt", action="store_true", help="OMD keeps the inner Adam state across outer steps")
    parser.add_argument("--no_warm", action="store_true", help="OMD starts each inner solve from fresh parameters")
    parser.add_argument("--model_hidden_dim", type=int, default=32, help="the model's hidden size (default 32)")
    parser.add_argument("--target_match_mix", type=float, default=0.0,
                        help="OMD: share of the unit-norm target-match gradient in the model step (default 0)")
    parser.add_argument("--clip_target", action="store_true", help="clip V(s') in the Bellman targets to the batch's returns")
    parser.add_argument("--no_shard", action="store_true", help="keep all seeds on one XLA CPU device (one core)")
    args = parser.parse_args()
    extra = {"implicit": "cg" if args.with_inv_jac else "identity", "inner_steps": args.num_Q_steps,
             "warm_opt": args.warm_opt, "no_warm": args.no_warm, "model_hidden_dim": args.model_hidden_dim,
             "target_match_mix": args.target_match_mix, "clip_target": args.clip_target}

    peak = peak_gflops()
    print(f"jax {jax.__version__} on {len(jax.devices())} x {jax.devices()[0].device_kind} "
          f"({len(os.sched_getaffinity(0))} cores); load average {os.getloadavg()}")
    print(f"{'agent':>5} {'seeds':>5} {'steps/s':>10} {'s':>7} {'compile s':>9} {'MFLOP/step':>10} {'GFLOP/s':>8}"
          f" {'% peak':>7}")
    for agent_type in args.agents:
        for num_seeds in args.seeds:
            r = bench(agent_type, num_seeds, args.steps, extra)
            print(f"{r['agent']:>5} {r['seeds']:>5} {r['steps_per_s']:>10.0f} {r['seconds']:>7.1f} "
                  f"{r['compile_s']:>9.1f} {r['mflop_per_step']:>10.2f} {r['gflop_per_s']:>8.2f} "
                  f"{100 * r['gflop_per_s'] / peak:>6.0f}%", flush=True)
    print(f"% peak: of {peak:.0f} GFLOP/s, XLA on 256-wide float32 products with these cores before the runs "
          f"(bench/peak.py; {peak_gflops():.0f} after); load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
