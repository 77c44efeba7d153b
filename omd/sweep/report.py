"""``runner.py SWEEP --plot``: learning curves (mean ± s.e. over seeds) per agent, final return
vs the swept value, and the numbers behind them as CSV and Markdown. Missing and partial runs
are printed and listed in the table, never silently dropped."""

from __future__ import annotations

import math
import os
import sys

import matplotlib

matplotlib.use("Agg")  # files only: no display needed, none opened
import matplotlib.pyplot as plt  # noqa: E402  pylint: disable=wrong-import-position

from omd.sweep import results  # noqa: E402  pylint: disable=wrong-import-position


def _fmt(v, se=None) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if not isinstance(v, float):
        return str(v)
    s = format(v, ".3g" if abs(v) < 1e-2 or abs(v) >= 1e4 else ".4g")
    return s if se is None or (isinstance(se, float) and math.isnan(se)) else f"{s} ± {se:.2g}"


def markdown(table, ps: results.PlotSpec) -> str:
    metric = f"final_{ps.metric}"
    head = ["series"] + ([ps.x] if ps.x else []) + [
        "seeds", f"{ps.metric} (last {ps.final_window})", "median"]
    head += [c for c, _ in ps.table] + ["missing / partial"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for _, r in table.iterrows():
        cells = [r["series"]] + ([_fmt(r["x"])] if ps.x else []) + [
            f"{r['seeds']}/{r['expected']}", _fmt(r[metric], r[f"{metric}_se"]),
            _fmt(r[f"{metric}_median"])]
        cells += [_fmt(r[c], r[f"{c}_se"]) for c, _ in ps.table]
        cells.append(r["missing_or_partial"] or "")
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


def _save(fig, out: str, stem: str) -> list[str]:
    paths = [os.path.join(out, f"{stem}.{ext}") for ext in ("png", "pdf")]
    for p in paths:
        fig.savefig(p, bbox_inches="tight", dpi=150)
    plt.close(fig)
    return paths


def plot_curves(curves, ps: results.PlotSpec, title: str):
    xs = sorted({x for _, x in curves}, key=results.order)
    labels = sorted({label for label, _ in curves})
    ncol = min(len(xs), 3)
    nrow = math.ceil(len(xs) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.2 * ncol, 3.2 * nrow), squeeze=False,
                             sharey=True)
    for ax, x in zip(axes.flat, xs):
        for j, label in enumerate(labels):  # one colour per series across the panels
            c = curves.get((label, x))
            if c is not None:  # the band is empty (NaN) for a single seed
                ax.plot(c["step"], c["mean"], color=f"C{j % 10}", label=f"{label} (n={int(c['n'].iloc[0])})")
                ax.fill_between(c["step"], c["mean"] - c["se"], c["mean"] + c["se"], color=f"C{j % 10}",
                                alpha=0.2, linewidth=0)
        if ps.x:  # one panel per swept value; a single panel has the figure's title only
            ax.set_title(f"{ps.x} = {x}")
        ax.set_xlabel("environment steps")
        ax.set_yscale(ps.yscale)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    for ax in axes.flat[len(xs):]:
        ax.axis("off")
    for row in axes:
        row[0].set_ylabel(ps.ylabel or ps.metric.replace("_", " "))
    fig.suptitle(f"{title}: mean ± standard error over seeds")
    fig.tight_layout()
    return fig


def plot_final(table, ps: results.PlotSpec, title: str):
    fig, ax = plt.subplots(figsize=(5, 3.6))
    metric = f"final_{ps.metric}"
    numeric = not ps.categorical_x and all(results.is_number(v) for v in table["x"])
    cats = list(dict.fromkeys(table["x"]))
    if all(results.is_number(v) for v in cats):  # evenly spaced, but in numeric order whatever the grid's
        cats.sort(key=float)
    for label, rows in table.groupby("series", sort=False):
        xs = [float(v) for v in rows["x"]] if numeric else [cats.index(v) for v in rows["x"]]
        ax.errorbar(xs, rows[metric], yerr=rows[f"{metric}_se"].fillna(0.0), marker="o",
                    capsize=3, label=label)
    if not numeric:
        ax.set_xticks(range(len(cats)), [str(c) for c in cats])
    ax.set_yscale(ps.yscale)
    ax.set_xlabel(ps.xlabel or (ps.x or ""))
    ax.set_ylabel(ps.ylabel or f"final {ps.metric.replace('_', ' ')}")
    ax.set_title(f"{title} (last {ps.final_window} evaluations, ± s.e.)", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def main(sw, jobs, layout, suite_of, scripts, out, kept) -> int:
    """``kept``: the committed results, read for jobs not done under ``layout``."""
    ps = results.plot_spec(sw)
    out = out or os.path.join(layout.root, "figures")
    os.makedirs(out, exist_ok=True)
    runs = results.load_runs(jobs, layout, suite_of, scripts, ps, sw.varying, kept)
    table, curves = results.aggregate(runs, ps)
    bad = runs[runs["state"] != "complete"]
    for r in bad.itertuples():
        print(f"{r.state:8s} {r.job} seed {r.seed}: {r.note}", file=sys.stderr)
    n_ok = len(runs) - len(bad)
    print(f"{n_ok}/{len(runs)} runs complete"
          + (f"; {len(bad)} missing or partial (listed above, left out of the means)" if len(bad) else ""))
    if not n_ok:
        print("nothing to plot yet", file=sys.stderr)
        return 1
    stem, title = sw.basename, ps.title or sw.basename
    written = [os.path.join(out, f"{stem}.csv"), os.path.join(out, f"{stem}.md")]
    table.to_csv(written[0], index=False)
    with open(written[1], "w") as f:
        f.write(f"# {title}\n\n" + markdown(table, ps))
    written += _save(plot_curves(curves, ps, title), out, f"{stem}_curves")
    if ps.x is not None:
        written += _save(plot_final(table, ps, title), out, f"{stem}_final")
    print(markdown(table, ps))
    print("wrote " + ", ".join(written))
    return 0
