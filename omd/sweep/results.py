"""Reads a sweep's runs into one row per (job, seed) and aggregates them per (series, x) cell:
mean ± standard error, count and median of the final value, and the mean learning curves.

A run is ``missing`` without a curve file, ``partial`` when its last logged step falls short of the
budget (or of its siblings' when the budget is unknown), and ``complete`` otherwise. Only complete
runs enter the means; the others are listed.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Sequence

import pandas as pd

from omd import columns
from omd.sweep import spec, state

AGENT_KEYS = ("agent_type", "config.algo", "algo")


@dataclasses.dataclass(frozen=True)
class PlotSpec:
    agent: str | None
    x: str | None
    metric: str = "episode_return"
    source: str = "eval"
    final_window: int = 10
    table: tuple[tuple[str, str], ...] = ()  # (column, source) extra metrics for the table
    xlabel: str | None = None
    ylabel: str | None = None
    title: str | None = None
    yscale: str = "linear"
    categorical_x: bool = False  # evenly spaced x ticks (e.g. hidden sizes 1, 2, 3, 4, 6, 12)


def plot_spec(sw: spec.Sweep) -> PlotSpec:
    p = dict(sw.plot)
    varying = [k for k in sw.varying if k not in (spec.SEED_KEY, spec.MAIN_KEY)]
    p.setdefault("agent", next((k for k in AGENT_KEYS if k in varying), None))
    p.setdefault("x", next((k for k in varying if k != p["agent"]), None))
    p["table"] = tuple(tuple(t) for t in p.get("table", ()))
    return PlotSpec(**p)


def flag_value(job: spec.Job, name: str | None, scripts: dict) -> Any:
    """The job's value of a flag: set by the sweep, else the script's default (None if unknown)."""
    if name is None or name in job.flag_dict:
        return job.flag_dict.get(name)
    flag = scripts[job.main].flags.get(name) if job.main in scripts else None
    return None if flag is None else flag.default


def series_label(job: spec.Job, ps: PlotSpec, varying: Sequence[str]) -> str:
    flags = job.flag_dict
    keys = [k for k in varying if k not in (ps.x, spec.SEED_KEY, spec.MAIN_KEY)]
    parts = [job.main] if spec.MAIN_KEY in varying else []
    parts += [str(flags.get(k, "default")) if k == ps.agent else f"{k}={flags.get(k, 'default')}" for k in keys]
    return ", ".join(parts) or "all"


def final_value(df: pd.DataFrame | None, col: str, window: int) -> float:
    if df is None or col not in df.columns:
        return math.nan
    vals = pd.to_numeric(df[col], errors="coerce").dropna()
    return float(vals.iloc[-window:].mean()) if len(vals) else math.nan


def _read(suite, job_dir: str, seed: int, source: str, ps: PlotSpec) -> pd.DataFrame | None:
    """One seed's curve, its columns renamed from legacy names (``omd.columns``) to the spec's."""
    curve = suite.curve(job_dir, seed, source)
    return None if curve is None else columns.with_canonical(curve, [ps.metric, *(col for col, _ in ps.table)])


def load_runs(jobs, layout, suite_of: dict, scripts: dict, ps: PlotSpec, varying, kept) -> pd.DataFrame:
    """One row per (job, seed): its cell, state, final values, and its curve (``curve`` column)."""
    rows = []
    for job in jobs:
        suite = suite_of[job.main]
        job_dir = suite.run_dir((state.done_in(layout, kept, job.name) or layout).out_dir(job.name), job.flag_dict)
        for seed in list(job.seeds) or suite.seeds_found(job_dir) or [None]:
            curve = None if seed is None else _read(suite, job_dir, seed, ps.source, ps)
            ok = curve is not None and ps.metric in curve.columns
            row = {"job": job.name, "config": repr(job.config_key()), "seed": -1 if seed is None else seed,
                   "series": series_label(job, ps, varying), "x": flag_value(job, ps.x, scripts),
                   "state": "complete" if ok else "missing",
                   "note": "" if ok else "no output" if curve is None else f"no column {ps.metric!r}",
                   "end": float(curve["step"].max()) if ok else math.nan,
                   "budget": flag_value(job, suite.budget_flag, scripts),
                   "interval": flag_value(job, suite.eval_flag, scripts),
                   "curve": curve, "final": final_value(curve, ps.metric, ps.final_window)}
            for col, src in ps.table:
                other = curve if src == ps.source or seed is None else _read(suite, job_dir, seed, src, ps)
                row[col] = final_value(other, col, ps.final_window)
            rows.append(row)
    runs = pd.DataFrame(rows)
    runs["x"] = pd.Series([r["x"] for r in rows], dtype=object)  # as given: 1 stays 1, not 1.0
    budget, interval = (pd.to_numeric(runs[c], errors="coerce").astype(float) for c in ("budget", "interval"))
    # partial: short of the budget (less one evaluation interval), or of its siblings' last step
    target = (budget - interval.fillna(0.0)).fillna(runs.groupby("config")["end"].transform("max"))
    short = (runs["state"] == "complete") & (runs["end"] < target)
    runs.loc[short, "state"] = "partial"
    runs.loc[short, "note"] = [f"last step {e:g} < {t:g}" for e, t in zip(runs["end"][short], target[short])]
    return runs


def mean_curve(curves: Sequence[pd.DataFrame], col: str) -> pd.DataFrame:
    """Mean ± SE over seeds at the steps every seed logged."""
    table = pd.concat([c.groupby("step")[col].mean() for c in curves], axis=1, join="inner")
    return pd.DataFrame({"step": table.index.values, "mean": table.mean(axis=1).values,
                         "se": table.sem(axis=1).values, "n": table.shape[1]})


def _not_complete(cell: pd.DataFrame) -> str:
    """'seeds 0, 1: missing (no output); seed 2: partial (...)': one entry per reason."""
    bad = cell[cell["state"] != "complete"]
    why = bad["state"] + " (" + bad["note"] + ")"
    return "; ".join(f"seed{'s' if len(g) > 1 else ''} {', '.join(map(str, g['seed']))}: {reason}"
                     for reason, g in bad.groupby(why, sort=False))


def aggregate(runs: pd.DataFrame, ps: PlotSpec) -> tuple[pd.DataFrame, dict]:
    """Table rows per (series, x) and the mean learning curves keyed the same way."""
    metric, rows, curves = f"final_{ps.metric}", [], {}
    for _, cell in runs.groupby(["series", runs["x"].map(repr)], sort=False):
        label, x = cell["series"].iloc[0], cell["x"].iloc[0]
        ok = cell[cell["state"] == "complete"]
        final = ok["final"].astype(float).dropna()
        # the median beside the mean, as one diverged seed can carry a mean by orders of magnitude
        row = {"series": label, "x": x, "seeds": len(final), "expected": len(cell), metric: final.mean(),
               f"{metric}_se": final.sem(), f"{metric}_median": final.median()}
        for col, _ in ps.table:
            row[col], row[f"{col}_se"] = ok[col].astype(float).mean(), ok[col].astype(float).sem()
        row["missing_or_partial"] = _not_complete(cell)
        rows.append(row)
        if len(ok):
            curves[(label, x)] = mean_curve(list(ok["curve"]), ps.metric)
    table = pd.DataFrame(rows)
    if not table.empty:
        table = table.sort_values(["series", "x"], key=sort_key).reset_index(drop=True)
    return table, curves


def is_number(v) -> bool:
    try:
        float(v)
        return v is not None and not isinstance(v, bool)
    except (TypeError, ValueError):
        return False


def order(v) -> tuple:
    """Numbers first, in numeric order, then everything else by its text."""
    return (0, float(v), "") if is_number(v) else (1, 0.0, str(v))


def sort_key(col: pd.Series) -> pd.Series:
    return col.map(order)
