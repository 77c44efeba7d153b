"""Throughput of the MuJoCo suite: updates per second, environment steps included.

For each algorithm (default config, HalfCheetah-v5, batch 256) this times the training
step itself, ``omd.sac.train.train_step``: one env step, the compiled calls (insert, then
sample, ``outer_steps`` updates and the next action: two calls on CPU, one on GPU) and the
host fetch of the action. It prints
updates/s, the FLOPs of one step's compiled calls (XLA ``cost_analysis``), the achieved
GFLOP/s and, on CPU, that as a share of XLA's speed on 256-wide matrix products (the
networks' hidden layers) timed between the windows, for the device replay buffer (what
training uses) and, with
``--replay=both``, for a host numpy buffer sampled in Python. Last, the seconds of one
evaluation (``--eval_episodes``, stepped in lockstep as training does).

    python bench/mujoco.py                      # omd mle vep sac, device replay
    python bench/mujoco.py --algos omd,sac --replay both --steps 1000
    python bench/mujoco.py --repeats 5          # five interleaved rounds, median and range
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Callable

# This script is itself named mujoco.py: take its folder off sys.path so that
# `import mujoco` (inside gymnasium) finds the real bindings.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]
sys.path.append(_HERE)  # last, for peak.py only

import jax  # noqa: E402
import numpy as np  # noqa: E402

from omd import replay  # noqa: E402
from peak import flops as _flops, make_peak  # noqa: E402
from omd.envs.mujoco import make_env  # noqa: E402
from omd.sac.agent import init_state, make_agent  # noqa: E402
from omd.sac.config import SACConfig  # noqa: E402
from omd.sac.evaluation import evaluate, make_eval_envs  # noqa: E402
from omd.sac.env_step import (  # noqa: E402
    init_buffer, make_env_step, make_eval_action, make_learn_then_act, pack_step, transition_spec,
)
from omd.sac.train import train_step  # noqa: E402
from omd.sac.updates import UPDATES, make_update  # noqa: E402

FILL = 20_000  # transitions in the buffer before timing
WINDOW = 100  # environment steps per timed window


def _random_transitions(n, obs_dim, action_dim, rng):
    spec = transition_spec(obs_dim, action_dim)
    return {k: rng.standard_normal((n, *v.shape)).astype(np.float32) for k, v in spec.items()}


def make_host_replay_step(agent, update) -> Callable:
    """Compiled ``step(state, batches, next_obs) -> (state, action, metrics)`` for a host (numpy) replay:
    ``batches`` has a leading ``outer_steps`` axis; the state passes as its pytree."""
    learn_then_act = make_learn_then_act(agent, update, learn=True, policy=True)
    return jax.jit(lambda state, batches, next_obs: learn_then_act(
        state, lambda _key, i: jax.tree.map(lambda b: b[i], batches), next_obs), donate_argnums=(0,))


def setup(algo: str, kind: str, capacity: int, env_name: str,
          peak: Callable[[], float] | None) -> tuple[Callable[[int], tuple[float, float]], float]:
    """Compile one algorithm's step; returns ``(timed, flops)``, ``timed(steps)`` giving updates/s
    and the share of ``peak()`` GFLOP/s reached (``nan`` without ``peak``), medians over windows.

    ``kind``: ``device`` (device replay, the agent state packed as training does, ``omd.flat``),
    ``pytree`` (device replay, the state as its pytree) or ``host`` (numpy replay).
    """
    env = make_env(env_name, seed=0)
    obs_dim, action_dim = env.observation_space.shape[0], env.action_space.shape[0]
    agent = make_agent(SACConfig(algo=algo), obs_dim, action_dim)
    update = make_update(agent, UPDATES[algo])  # as omd.sac.train.train builds it
    state = init_state(agent, jax.random.PRNGKey(0))
    rng = np.random.default_rng(0)
    fill = _random_transitions(FILL, obs_dim, action_dim, rng)
    obs, _ = env.reset(seed=0)
    action = np.zeros(action_dim, np.float32)

    if kind in ("device", "pytree"):
        buffer = replay.add_batch(init_buffer(obs_dim, action_dim, capacity), fill)
        step = make_env_step(agent, update, learn=True, policy=True, flat=kind == "device")
        state = step.to_carry(state)  # packed, except for kind 'pytree' (omd.flat)
        packed = pack_step({k: v[0] for k, v in fill.items()}, obs)
        if step.fused:
            flops = _flops(step.store_learn_and_act.lower(state, buffer, packed).compile())
        else:
            flops = _flops(step.store.lower(buffer, packed).compile())
            flops += _flops(step.learn_and_act.lower(state, buffer, obs).compile())
    else:
        store = {k: np.zeros((capacity, *v.shape[1:]), np.float32) for k, v in fill.items()}
        for k, v in fill.items():
            store[k][:FILL] = v
        size = [FILL]
        learn_and_act = make_host_replay_step(agent, update)
        outer, batch_size = agent.cfg.outer_steps, agent.cfg.batch_size

        def sample():
            idx = rng.integers(0, size[0], (outer, batch_size))
            return {k: v[idx] for k, v in store.items()}

        flops = _flops(learn_and_act.lower(state, sample(), obs).compile())

        def step(state, buffer, transition, next_obs):  # make_env_step's signature, on the numpy buffer
            for k, v in transition.items():
                store[k][size[0] % capacity] = v
            size[0] = min(size[0] + 1, capacity)
            state, action, metrics = learn_and_act(state, sample(), next_obs)
            return state, buffer, action, metrics

        buffer = None

    def run(n, state, buffer, obs, action):
        for _ in range(n):
            state, buffer, obs, action, _, _ = train_step(env, step, state, buffer, obs, action)
        return state, buffer, obs, action

    carry = run(20, state, buffer, obs, action)  # compile and warm up

    def timed(steps: int) -> tuple[float, float]:
        # The median over windows, because bursts of outside load on a shared machine swing a single
        # long window (docs/results/performance.md, "MuJoCo suite").
        nonlocal carry
        rates, shares = [], []
        for _ in range(max(1, steps // WINDOW)):
            start = time.perf_counter()
            carry = run(min(WINDOW, steps), *carry)
            rates.append(min(WINDOW, steps) * agent.cfg.outer_steps / (time.perf_counter() - start))
            if peak is not None:
                shares.append(rates[-1] * flops / 1e9 / peak())
        return float(np.median(rates)), float(np.median(shares)) if shares else float("nan")

    return timed, flops


def bench_evaluation(env_name: str, episodes: int) -> float:
    """Median seconds of three evaluations of ``episodes`` episodes, as training runs them (lockstep)."""
    eval_envs = make_eval_envs(env_name, seed=42, dim_distract=0, episodes=episodes, video=False)
    agent = make_agent(SACConfig(), eval_envs[0].observation_space.shape[0], eval_envs[0].action_space.shape[0])
    params, act = init_state(agent, jax.random.PRNGKey(0)).sac.actor.params, make_eval_action(agent)
    evaluate(eval_envs, act, params)  # compile
    times = []
    for _ in range(3):
        start = time.perf_counter()
        evaluate(eval_envs, act, params)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def _percent(share: float) -> str:
    return "-" if np.isnan(share) else f"{100 * share:.0f}%"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--algos", default="omd,mle,vep,sac", help="comma-separated algorithms to time")
    parser.add_argument("--replay", choices=("device", "host", "both"), default="device",
                        help="replay buffer on the device (training's choice) or in host numpy")
    parser.add_argument("--flat", choices=("on", "off", "both"), default="on",
                        help="device replay: pass the agent state to the compiled calls packed (omd.flat: all of "
                             "it on GPUs, its small leaves on CPU; row 'device'), as training does, or as its "
                             "pytree (row 'pytree'); both: time each")
    parser.add_argument("--steps", type=int, default=1000,
                        help=f"timed environment steps per algorithm, in windows of {WINDOW}; the median window is printed")
    parser.add_argument("--capacity", type=int, default=1_000_000, help="replay capacity (default: max_steps)")
    parser.add_argument("--repeats", type=int, default=1,
                        help="rounds over all algorithms (compiled once); with more than one, also the median and range")
    parser.add_argument("--env_name", default="HalfCheetah-v5", help="gymnasium MuJoCo id to step")
    parser.add_argument("--eval_episodes", type=int, default=10,
                        help="also time one evaluation of this many episodes (0: skip)")
    args = parser.parse_args()

    if args.repeats < 1 or args.steps < 1:
        parser.error("--repeats and --steps must be at least 1")
    if args.capacity < FILL:
        parser.error(f"--capacity must be at least {FILL} (the transitions stored before timing)")
    print(f"jax {jax.__version__} on {jax.devices()[0].platform}; load average before: {os.getloadavg()}")
    flats = {"on": (True,), "off": (False,), "both": (False, True)}[args.flat]
    kinds = [("device" if f else "pytree") for f in flats] if args.replay != "host" else []
    kinds += ["host"] if args.replay != "device" else []
    runs = [(algo, kind) for algo in args.algos.split(",") for kind in kinds]
    benches = {}
    # On GPUs a 256-wide product is latency-bound, no yardstick for an update: the share is CPU-only.
    peak = make_peak() if jax.devices()[0].platform == "cpu" else None
    header = f"{'algo':>5} {'kind':>7} {'updates/s':>10} {'GFLOP/step':>11} {'GFLOP/s':>8} {'% peak':>7}"
    rates = {run: [] for run in runs}
    shares = {run: [] for run in runs}
    for rep in range(args.repeats):
        print(header if args.repeats == 1 else f"round {rep + 1} of {args.repeats}\n{header}")
        # Rounds interleave the algorithms, so a slow spell of the machine hits them all alike.
        for algo, kind in runs:
            if (algo, kind) not in benches:
                benches[algo, kind] = setup(algo, kind, args.capacity, args.env_name, peak)
            timed, flops = benches[algo, kind]
            rate, share = timed(args.steps)
            rates[algo, kind].append(rate)
            shares[algo, kind].append(share)
            print(f"{algo:>5} {kind:>7} {rate:>10.1f} {flops / 1e9:>11.3f} {rate * flops / 1e9:>8.1f} "
                  f"{_percent(share):>7}", flush=True)
    if args.repeats > 1:
        print(f"median (min-max) over {args.repeats} rounds")
        print(f"{'algo':>5} {'kind':>7} {'updates/s':>21} {'GFLOP/s':>8} {'% peak':>7}")
        for (algo, kind), values in rates.items():
            flops, median = benches[algo, kind][1], float(np.median(values))
            spread = f"{median:.1f} ({min(values):.1f}-{max(values):.1f})"
            print(f"{algo:>5} {kind:>7} {spread:>21} {median * flops / 1e9:>8.1f} "
                  f"{_percent(float(np.median(shares[algo, kind]))):>7}")
    if peak is not None:
        print(f"% peak: the update's GFLOP/s as a share of XLA's on 256-wide float32 products, "
              f"{peak():.0f} GFLOP/s just now (median of the windows' shares)")
    if args.eval_episodes:
        print(f"evaluation of {args.eval_episodes} episodes: {bench_evaluation(args.env_name, args.eval_episodes):.2f} s")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
