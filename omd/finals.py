"""Final return against a setting, mean ± s.e. over seeds, one line per label, across sweeps.

    python -m omd.finals --x model_hidden_dim --out figures/cartpole_stable_omd/final_vs_size.png \\
        'OMD=results/cartpole_hidden/agent_type=omd,model_hidden_dim=*,seeds=0-9' \\
        'MLE=results/cartpole_hidden/agent_type=mle,model_hidden_dim=*,seeds=0-9' \\
        'stable OMD=results/cartpole_omd_stable/agent_type=omd,model_hidden_dim=*,seeds=0-9,target_match_mix=0.5' \\
        'stable OMD@2=results/cartpole_omd_stabilisers/seeds=0-9,clip_target=True,target_match_mix=0.5'

Each label takes job folders (a shell pattern allowed, quoted; repeat a label for more); a job's
x is the ``KEY=value`` of ``--x`` in its folder name, or the value after ``@`` in the label, which
a job of another sweep needs where the setting is not in its name. A job's final return per seed is
``omd.outcomes``'s (the mean of the last evaluations), so the points match its tables; the table of
points is printed as Markdown.
"""

from __future__ import annotations

import argparse
import glob
import os
import re

import numpy as np
import pandas as pd

from omd import outcomes
from omd.curves import finish, parse_series


def _x_of(folder: str, key: str, given: str) -> float:
    found = re.search(rf"(?:^|,){re.escape(key)}=([^,]+)", os.path.basename(os.path.normpath(folder)))
    value = given or (found.group(1) if found else None)
    if value is None:
        raise ValueError(f"{folder}: no {key}=... in its name; give it after '@' in the label")
    return float(value)


def points(series: dict[str, list[str]], key: str) -> pd.DataFrame:
    """One row per (label, x): mean, s.e. and count of the per-seed final returns of its jobs."""
    rows = []
    for label, patterns in series.items():
        name, _, given = label.partition("@")
        folders = sorted({f for p in patterns for f in glob.glob(p) if not os.path.basename(f).startswith("_")})
        if not folders:
            raise FileNotFoundError(f"{label}: no folder matches {' '.join(patterns)}")
        for folder in folders:
            finals = outcomes.job_outcomes(folder)["final"].to_numpy()
            rows.append({"label": name, "x": _x_of(folder, key, given), "mean": finals.mean(), "n": len(finals),
                         "se": finals.std(ddof=1) / np.sqrt(len(finals)) if len(finals) > 1 else np.nan})
    return pd.DataFrame(rows).sort_values(["label", "x"], kind="stable").reset_index(drop=True)


def plot(table: pd.DataFrame, key: str, out: str, title: str = "") -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs = sorted(table["x"].unique())  # evenly spaced, as the paper draws model sizes
    fig, ax = plt.subplots(figsize=(6, 4))
    for label, rows in table.groupby("label", sort=False):
        pos = [xs.index(x) for x in rows["x"]]
        ax.errorbar(pos, rows["mean"], yerr=rows["se"].fillna(0), marker="o", capsize=3, label=label)
    ax.set_xticks(range(len(xs)), [f"{x:g}" for x in xs])
    finish(fig, ax, key, "final return (mean ± s.e. over seeds)", title, out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("series", nargs="+", help="LABEL[@X]=FOLDER (a shell pattern allowed; repeat a label to add folders)")
    parser.add_argument("--x", required=True, help="the setting on the x axis, as named in the job folders")
    parser.add_argument("--out", required=True, help="output image path (.png)")
    parser.add_argument("--title", default="", help="figure title")
    args = parser.parse_args()
    series = parse_series(parser, args.series)
    try:
        table = points(series, args.x)
        plot(table, args.x, args.out, args.title)
    except (FileNotFoundError, ValueError) as err:
        raise SystemExit(f"error: {err}") from None
    print(f"| label | {args.x} | final mean ± s.e. | seeds |\n|---|---|---|---|")
    for r in table.itertuples():
        print(f"| {r.label} | {r.x:g} | {r.mean:.0f} ± {r.se:.0f} | {r.n} |")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
