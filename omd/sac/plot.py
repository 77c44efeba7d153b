"""Learning curves from ``save_dir/<seed>.txt`` files (timesteps, average evaluation return).

    python -m omd.sac.plot --out curves.png omd=runs/omd mle=runs/mle sac=runs/sac
"""

from __future__ import annotations

import argparse
import glob
import os

import numpy as np


def load_curves(save_dir: str) -> list[np.ndarray]:
    """One (n, 2) array per seed file found in ``save_dir``."""
    curves = []
    for path in sorted(glob.glob(os.path.join(save_dir, "*.txt"))):
        if os.path.basename(path)[:-4].lstrip("-").isdigit():
            data = np.loadtxt(path, ndmin=2)
            if data.size:
                curves.append(data)
    return curves


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
    ax.set_xlabel("environment steps")
    ax.set_ylabel("average evaluation return")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)


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
