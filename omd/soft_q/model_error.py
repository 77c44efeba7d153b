"""The paper's Table 1 metric for a model that was never trained.

``next_obs_mse`` in ``train.csv`` is the mean over a sampled batch of the squared error
summed over state dimensions (``losses.prediction_errors``), logged during training. The
paper's table adds a randomly initialised model. This computes the same metric for the
model each seed's agent starts from (same key path as ``training.make_loop``'s ``init``),
over every transition of a replay buffer saved with ``cartpole/train.py --save_buf``::

    python -m omd.soft_q.model_error --data_path data/buf_0.pkl data/buf_1.pkl \\
        --model_hidden_dims 1,2,3,4,6,12 --seeds 10 --out random_model.csv

Each row: hidden size, mean ± standard error over seeds x buffers.
"""

from __future__ import annotations

import argparse
import dataclasses
import csv
import math
import sys

import jax
import jax.numpy as jnp
import numpy as np

from omd.envs import classic
from omd.soft_q import export, losses, networks
from omd.soft_q.config import SoftQConfig


def initial_model(config: SoftQConfig, obs_dim: int, num_actions: int, seed: int):
    """The model parameters the agent of ``seed`` starts from in ``cartpole/train.py``."""
    key_agent = jax.random.split(jax.random.key(seed), 4)[0]
    key_model = jax.random.split(key_agent, 3)[1]
    nets = networks.make_networks(config, obs_dim, num_actions)
    return nets, networks.init_model(nets, key_model)


def model_mse(nets: networks.Networks, params, data: dict[str, np.ndarray]) -> float:
    """``next_obs_mse`` of ``params`` over every transition of ``data`` (deterministic mean prediction)."""
    onehot = jax.nn.one_hot(data["action"], nets.num_actions, dtype=jnp.float32)
    pred = networks.predict(nets, params, jnp.asarray(data["obs"]), onehot, None)
    return float(losses.prediction_errors(pred, jnp.asarray(data["next_obs"]))["next_obs_mse"])


def random_model_table(config: SoftQConfig, buffers: list[dict[str, np.ndarray]], hidden_dims: list[int],
                       seeds: list[int]) -> list[dict]:
    env = classic.make(config.env_name, config.dim_distract)
    rows = []
    for hidden in hidden_dims:
        cfg = dataclasses.replace(config, model_hidden_dim=hidden)
        values = []
        for seed in seeds:
            nets, params = initial_model(cfg, env.obs_dim, env.num_actions, seed)
            values += [model_mse(nets, params, data) for data in buffers]
        mean = float(np.mean(values))
        se = float(np.std(values, ddof=1) / math.sqrt(len(values))) if len(values) > 1 else math.nan
        rows.append({"model_hidden_dim": hidden, "next_obs_mse": mean, "se": se, "n": len(values)})
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m omd.soft_q.model_error", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data_path", nargs="+", required=True, help="replay buffers saved with --save_buf")
    p.add_argument("--model_hidden_dims", default="1,2,3,4,6,12", help="comma-separated hidden sizes")
    p.add_argument("--seeds", type=int, default=10, help="initial models of seeds 0 .. N-1 (default 10)")
    p.add_argument("--dim_distract", type=int, default=0, help="as the runs that made the buffers")
    p.add_argument("--out", default=None, help="also write the table as CSV")
    args = p.parse_args(argv)
    try:
        hidden = [int(h) for h in args.model_hidden_dims.split(",")]
        if args.seeds < 1 or min(hidden) < 1:
            raise ValueError("--seeds and every --model_hidden_dims entry must be at least 1")
        buffers = [export.load_buffer(path) for path in args.data_path]
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    config = SoftQConfig(dim_distract=args.dim_distract)
    rows = random_model_table(config, buffers, hidden, list(range(args.seeds)))
    print("model_hidden_dim  next_obs_mse (mean ± s.e., n)")
    for r in rows:
        print(f"{r['model_hidden_dim']:>16}  {r['next_obs_mse']:.4g} ± {r['se']:.2g} ({r['n']})")
    if args.out:
        with open(args.out, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
