"""One ``train.csv`` column over training, mean ± standard error over seeds, one line per label.

    python -m omd.curves --column model_state_mse --log --out model_error.png \\
        'OMD=results/halfcheetah_paper_200k/seed=*,config.algo=omd,dim_distract=0' \\
        'MLE=results/halfcheetah_paper_200k/seed=*,config.algo=mle,dim_distract=0'

Each label takes a folder (a shell pattern allowed, quoted; repeat the label for more) holding
``<seed>/train.csv``, the layout both suites write; every seed found is one curve. Labels are split
into panels by the text after ``@`` (``OMD@0 distractors=...``). A column is found under its legacy names too
(``omd.columns``: ``--column outer_loss`` reads runs that wrote ``outer_critic_loss`` or ``loss_T``).
Seeds whose train.csv lacks the column are skipped and counted in the legend, so a run that
predates a column does not hide the others.
"""

from __future__ import annotations

import argparse
import glob
import os

import numpy as np
import pandas as pd

from omd import columns


def seed_curves(patterns: list[str], column: str) -> tuple[list[pd.Series], int]:
    """The column indexed by step for every ``<seed>/train.csv`` under the folders, and how many lack it."""
    curves, missing = [], 0
    folders = sorted({f for p in patterns for f in glob.glob(p)})
    if not folders:
        raise FileNotFoundError(f"no folder matches {' '.join(patterns)}")
    for folder in folders:
        for path in sorted(glob.glob(os.path.join(folder, "*", "train.csv"))):
            df = pd.read_csv(path)
            found = columns.find(df.columns, column)
            if found is None:
                missing += 1
                continue
            curves.append(df.set_index("step")[found].rename(column).dropna())
    return curves, missing


def mean_se(curves: list[pd.Series]) -> pd.DataFrame:
    """``mean``, ``se`` (NaN for one seed) and ``n`` at the steps every curve logged."""
    table = pd.concat(curves, axis=1, join="inner")
    n = table.shape[1]
    se = table.std(axis=1, ddof=1) / np.sqrt(n) if n > 1 else table.iloc[:, 0] * np.nan
    return pd.DataFrame({"mean": table.mean(axis=1), "se": se, "n": n})


def plot(series: dict[str, list[str]], column: str, out: str, log: bool = False, title: str = "") -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = list(dict.fromkeys(label.partition("@")[2] for label in series))  # in order of appearance
    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4), squeeze=False, sharey=True)
    for label, patterns in series.items():
        name, _, panel = label.partition("@")
        ax = axes[0, panels.index(panel)]
        curves, missing = seed_curves(patterns, column)
        if not curves:
            raise ValueError(f"{label}: no train.csv under {' '.join(patterns)} has a {column!r} column")
        stats = mean_se(curves)
        note = f", {missing} without it" if missing else ""
        ax.plot(stats.index, stats["mean"], label=f"{name} ({len(curves)} seed{'s' * (len(curves) > 1)}{note})")
        ax.fill_between(stats.index, stats["mean"] - stats["se"], stats["mean"] + stats["se"], alpha=0.25)
        ax.set_title(panel or title)
        ax.set_xlabel("environment steps")
    for ax in axes[0]:
        ax.grid(alpha=0.3)
        ax.legend()
        if log:
            ax.set_yscale("log")
    axes[0, 0].set_ylabel(f"{column} (mean ± s.e. over seeds)")
    if title and panels != [""]:
        fig.suptitle(title)
    save_figure(fig, out)


def parse_series(parser: argparse.ArgumentParser, items: list[str]) -> dict[str, list[str]]:
    """``LABEL=FOLDER`` arguments as {label: [folder patterns]}, a repeated label adding folders."""
    series: dict[str, list[str]] = {}
    for item in items:
        label, sep, folders = item.partition("=")
        if not sep or not folders:
            parser.error(f"{item!r} is not LABEL=FOLDER: give each series as a label, '=', then its folders")
        series.setdefault(label, []).append(folders)
    return series


def finish(fig, ax, xlabel: str, ylabel: str, title: str, out: str) -> None:
    """Label, grid and legend one axes, then write the figure (``save_figure``)."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    save_figure(fig, out)


def save_figure(fig, out: str) -> None:
    """Lay out, write (creating the folder) and close a matplotlib figure."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("series", nargs="+", help="LABEL[@PANEL]=FOLDER (a shell pattern allowed; repeat a label to add folders)")
    parser.add_argument("--column", required=True, help="a train.csv column, e.g. model_state_mse")
    parser.add_argument("--out", required=True, help="output image path (.png)")
    parser.add_argument("--log", action="store_true", help="logarithmic y axis")
    parser.add_argument("--title", default="", help="figure title")
    args = parser.parse_args()
    series = parse_series(parser, args.series)
    try:
        plot(series, args.column, args.out, args.log, args.title)
    except (FileNotFoundError, ValueError) as err:
        raise SystemExit(f"error: {err}") from None
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
