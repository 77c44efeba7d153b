"""Learning curves from ``save_dir/<seed>.txt`` files (timesteps, average evaluation return).

    python -m omd.sac.plot --out curves.png omd=runs/omd mle=runs/mle sac=runs/sac
"""

from __future__ import annotations

import argparse

import numpy as np

from omd.curves import finish
from omd.sweep.suites import MUJOCO


def load_curves(save_dir: str) -> list[np.ndarray]:
    """One (n, 2) array (step, return) per ``<seed>.txt`` in ``save_dir``, read as the sweep runner reads them."""
    curves = [MUJOCO.curve(save_dir, seed) for seed in MUJOCO.seeds_found(save_dir)]
    return [c[["step", "episode_return"]].to_numpy() for c in curves if c is not None]


def plot(runs: dict[str, str], out: str, title: str = "") -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for label, save_dir in runs.items():
        curves = load_curves(save_dir)
        if not curves:
            raise FileNotFoundError(f"No <seed>.txt evaluation file in {save_dir}.")
        n = min(len(c) for c in curves)
        steps = curves[0][:n, 0]
        returns = np.stack([c[:n, 1] for c in curves])
        mean = returns.mean(0)
        ax.plot(steps, mean, label=f"{label} ({len(curves)} seed{'s' if len(curves) > 1 else ''})")
        if len(curves) > 1:
            ax.fill_between(steps, mean - returns.std(0), mean + returns.std(0), alpha=0.2)
    finish(fig, ax, "environment steps", "average evaluation return", title, out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", help="label=save_dir pairs")
    parser.add_argument("--out", required=True, help="output image path (.png)")
    parser.add_argument("--title", default="", help="figure title")
    args = parser.parse_args()
    runs = dict(item.split("=", 1) for item in args.runs)
    plot(runs, args.out, args.title)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
