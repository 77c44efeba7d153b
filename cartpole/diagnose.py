"""Train as cartpole/train.py does and probe the agent every --log_frequency steps.

  python cartpole/diagnose.py --agent_type omd --model_hidden_dim 2 --num_seeds 10 --diag_out runs/diag/omd2

Takes every flag of cartpole/train.py (same names, defaults and checks) and computes the same run
for the same seeds: the probe (``omd.soft_q.diagnostics.probe``) draws its own batches and changes
nothing. Writes ``<diag_out>/<seed>/probe.csv``: one row per log boundary with the evaluation
return, the chunk's mean train metrics (train.csv's) and the probe's quantities at the end of the
chunk. No checkpoints and no resume: a diagnostic run is short and is rerun whole.
"""

from __future__ import annotations

import csv
import os
import sys

import train  # noqa: F401  (cartpole/train.py: defines the flags and splits the host into per-core devices)

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from absl import app, flags  # noqa: E402
from tqdm import tqdm  # noqa: E402

from omd.soft_q import boundaries, make_loop  # noqa: E402
from omd.soft_q.config import from_flags  # noqa: E402
from omd.soft_q.diagnostics import PROBE_KEYS, probe  # noqa: E402
from omd.soft_q.updates import METRIC_KEYS  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_string("diag_out", "runs/diagnose", "Folder for <seed>/probe.csv.")

PROBE_SEED = 2**31 - 1  # the probe's own key stream, apart from the run's


def diagnose(config, seeds: list[int], out: str) -> None:
    loop = make_loop(config)
    keys = jax.vmap(jax.random.key)(jnp.asarray(seeds, jnp.uint32))
    state = jax.jit(jax.vmap(loop.init))(keys)
    run_steps = jax.jit(jax.vmap(loop.run_steps, in_axes=(0, None, None)), donate_argnums=0)
    evaluate = jax.jit(jax.vmap(loop.evaluate, in_axes=(0, None)))
    probe_all = jax.jit(jax.vmap(lambda s, k: probe(loop.agent, s.agent, s.buffer, k)))
    probe_key = jax.random.key(PROBE_SEED)
    metric_keys = METRIC_KEYS[config.algo]
    columns = ["step", "eval_return", *metric_keys, *PROBE_KEYS]
    files = []
    for seed in seeds:
        os.makedirs(os.path.join(out, str(seed)), exist_ok=True)
        files.append(open(os.path.join(out, str(seed), "probe.csv"), "w", newline=""))
    writers = [csv.writer(f) for f in files]
    for w in writers:
        w.writerow(columns)
    points = boundaries(config)
    last_eval, pending = np.full(len(seeds), np.nan), None
    for a, b in tqdm(list(zip(points[:-1], points[1:])), desc="chunks", disable=not FLAGS.tqdm):
        if a % config.eval_interval == 0:
            last_eval = np.asarray(evaluate(state, a // config.eval_interval))
        state, sums = run_steps(state, a, b)
        sums = jax.device_get(sums)
        pending = sums if pending is None else {k: pending[k] + v for k, v in sums.items()}
        if b % config.log_interval and b != config.max_steps:
            continue
        probed = jax.device_get(probe_all(state, jax.random.split(jax.random.fold_in(probe_key, b), len(seeds))))
        sums, pending = pending, None
        n = np.maximum(sums["num_updates"], 1)
        for j, w in enumerate(writers):
            w.writerow([b, last_eval[j], *(sums[k][j] / n[j] for k in metric_keys),
                        *(probed[k][j] for k in PROBE_KEYS)])
            files[j].flush()
    for f in files:
        f.close()
    print(f"probes of seeds {seeds[0]}-{seeds[-1]} written under {out}/<seed>/probe.csv")


def main(argv):
    if len(argv) > 1:
        sys.exit(f"error: unexpected arguments: {' '.join(argv[1:])}")
    try:
        config = from_flags(FLAGS).validate()
    except ValueError as err:
        sys.exit(f"error: {err}")
    diagnose(config, list(range(FLAGS.seed, FLAGS.seed + FLAGS.num_seeds)), FLAGS.diag_out)


if __name__ == "__main__":
    app.run(main)
