"""Figures of ``cartpole/diagnose.py``'s probes: one column of panels per run, one line per seed.

  python -m omd.soft_q.probe_plots runs/diag/omd2 runs/diag/mle2 --out figures/cartpole_collapse/probes.png
"""

from __future__ import annotations

import argparse
import glob
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from omd import columns  # noqa: E402

PANELS = (  # column, label, y scale
    ("eval_return", "evaluation return", "linear"),
    ("q_sa", "Q(s, a) on replay", "symlog"),
    ("pred_reward", "model reward (true: 1)", "symlog"),
    ("pred_out_of_range", "model s' outside data range (fraction)", "linear"),
    ("target_bias", "model target − real target (batch mean)", "symlog"),
    ("target_error", "(model target − real target)² per sample", "log"),
    ("real_bellman_error", "Bellman error on real data", "log"),
    ("model_grad_norm", "model gradient norm", "log"),
    ("cos_identity_cg", "cos(identity, CG) model gradient (OMD)", "linear"),
    ("q_minus_mc", "Q(s, a) − Monte Carlo soft return", "symlog"),
)


def read_probes(folder: str) -> dict[int, pd.DataFrame]:
    """``{seed: probe.csv}`` of one diagnostic run."""
    out = {}
    for path in sorted(glob.glob(os.path.join(folder, "*", "probe.csv"))):
        seed = os.path.basename(os.path.dirname(path))
        if seed.isdigit():
            out[int(seed)] = pd.read_csv(path)
    if not out:
        raise FileNotFoundError(f"no <seed>/probe.csv under {folder}: run cartpole/diagnose.py --diag_out {folder}")
    return out


def plot(folders: list[str], out: str, labels: list[str] | None = None, caption: str = "") -> str:
    labels = labels or [os.path.basename(os.path.normpath(f)) for f in folders]
    fig, axes = plt.subplots(len(PANELS), len(folders), figsize=(4.2 * len(folders), 2.0 * len(PANELS)),
                             sharex=True, sharey="row", squeeze=False)
    for col, (folder, label) in enumerate(zip(folders, labels)):
        runs = read_probes(folder)
        for df in runs.values():
            df["target_bias"] = df["target_model"] - df["target_real"]
        for row, (key, name, scale) in enumerate(PANELS):
            ax = axes[row, col]
            for seed, df in runs.items():
                # probes written before real_bellman_error existed: OMD's outer loss (loss_T in probes written
                # before the shared vocabulary, omd.columns) is that error after the inner step
                column = key if key in df or key != "real_bellman_error" else columns.find(df.columns, "outer_loss")
                if column is not None and column in df:  # probes written before a key existed lack it
                    ax.plot(df["step"] / 1e3, df[column], lw=0.8, label=str(seed))
            present = [df[key] for df in runs.values() if key in df]
            if present and all(col.isna().all() for col in present):
                ax.text(0.5, 0.5, "not applicable", transform=ax.transAxes, ha="center", fontsize=8, color="gray")
            elif not present and key != "real_bellman_error":
                ax.text(0.5, 0.5, "not recorded", transform=ax.transAxes, ha="center", fontsize=8, color="gray")
            ax.set_yscale(scale, **({"linthresh": 1.0 if key == "target_bias" else 10.0} if scale == "symlog" else {}))
            if col == 0:
                ax.set_ylabel(name, fontsize=7)
            if row == 0:
                ax.set_title(label, fontsize=9)
        axes[-1, col].set_xlabel("environment steps (thousands)")
    axes[0, -1].legend(fontsize=6, ncol=2, title="seed", title_fontsize=6)
    if caption:
        fig.text(0.5, 0.002, caption, ha="center", va="bottom", fontsize=7)
    fig.tight_layout(rect=(0, 0.015 if caption else 0, 1, 1))
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", nargs="+", help="--diag_out folders of cartpole/diagnose.py runs")
    parser.add_argument("--labels", nargs="+", help="one title per folder (default: the folder names)")
    parser.add_argument("--out", required=True, help="the PNG to write")
    parser.add_argument("--caption", default="", help="a line under the figure (date, machine, command)")
    args = parser.parse_args()
    if args.labels and len(args.labels) != len(args.folders):
        parser.error(f"--labels takes one title per folder ({len(args.folders)}), not {len(args.labels)}")
    print(plot(args.folders, args.out, args.labels, args.caption))


if __name__ == "__main__":
    main()
