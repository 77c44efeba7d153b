"""Reads a sweep's runs into per-seed curves and aggregates them (mean ± standard error).

A run is one (job, seed). It is ``missing`` without a curve file, ``partial`` when its last
logged step falls short of the budget (or of its siblings' when the budget is unknown), and
``complete`` otherwise. Only complete runs enter the means; the others are listed.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Sequence

import numpy as np
import pandas as pd

from omd.sweep import archive, spec, suites

AGENT_KEYS = ("agent_type", "config.algo", "algo")


@dataclasses.dataclass
class Run:
    job: spec.Job
    seed: int
    curve: pd.DataFrame | None
    extra: dict[str, pd.DataFrame | None]
    state: str = "complete"
    note: str = ""


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
    if "agent" not in p:
        p["agent"] = next((k for k in AGENT_KEYS if k in varying), None)
    if "x" not in p:
        p["x"] = next((k for k in varying if k != p["agent"]), None)
    p["table"] = tuple(tuple(t) for t in p.get("table", ()))
    return PlotSpec(**p)


def _budget(job: spec.Job, suite: suites.Suite, info: dict) -> tuple[float | None, float]:
    def value(flag):
        if flag is None:
            return None
        v = job.flag_dict.get(flag, (info.get(flag) or {}).get("default"))
        try:
            return float(v)
        except (TypeError, ValueError):
            return None
    return value(suite.budget_flag), value(suite.eval_flag) or 0.0


def load_runs(jobs: Sequence[spec.Job], layout, suite_of: dict, infos: dict,
              ps: PlotSpec, kept=None) -> list[Run]:
    runs = []
    for job in jobs:
        suite = suite_of[job.main]
        job_dir = suite.run_dir(archive.job_dir(layout, kept, job.name), job.flag_dict)
        seeds = list(job.seeds) or suite.seeds_found(job_dir) or [None]
        for seed in seeds:
            curve = suite.curve(job_dir, seed, ps.source) if seed is not None else None
            extra = {}
            for col, src in ps.table:
                extra[col] = curve if src == ps.source else (
                    suite.curve(job_dir, seed, src) if seed is not None else None)
            run = Run(job, -1 if seed is None else seed, curve, extra)
            if curve is None or ps.metric not in curve.columns:
                run.state, run.note = "missing", (
                    "no output" if curve is None else f"no column {ps.metric!r}")
            runs.append(run)
    # a run is partial when it stops short of the budget, or (budget unknown) of its siblings
    by_cfg: dict[tuple, list[Run]] = {}
    for r in runs:
        by_cfg.setdefault(r.job.config_key(), []).append(r)
    for group in by_cfg.values():
        last = [float(r.curve["step"].max()) for r in group if r.state == "complete"]
        for r in group:
            if r.state != "complete":
                continue
            budget, interval = _budget(r.job, suite_of[r.job.main], infos.get(r.job.main, {}))
            target = (budget - interval) if budget is not None else max(last)
            end = float(r.curve["step"].max())
            if end < target:
                r.state, r.note = "partial", f"last step {end:g} < {target:g}"
    return runs


def series_label(job: spec.Job, ps: PlotSpec, varying: Sequence[str]) -> str:
    flags = job.flag_dict
    keys = [k for k in varying if k not in (ps.x, spec.SEED_KEY, spec.MAIN_KEY)]
    if spec.MAIN_KEY in varying:
        keys.insert(0, spec.MAIN_KEY)
    parts = []
    for k in keys:
        if k == spec.MAIN_KEY:
            parts.append(job.main)
        elif k == ps.agent:
            parts.append(str(flags.get(k, "default")))
        else:
            parts.append(f"{k}={flags.get(k, 'default')}")
    return ", ".join(parts) or "all"


def x_value(job: spec.Job, ps: PlotSpec, infos: dict) -> Any:
    if ps.x is None:
        return None
    if ps.x in job.flag_dict:
        return job.flag_dict[ps.x]
    return ((infos.get(job.main) or {}).get(ps.x) or {}).get("default")


def final_value(df: pd.DataFrame | None, col: str, window: int) -> float:
    if df is None or col not in df.columns:
        return math.nan
    vals = pd.to_numeric(df[col], errors="coerce").dropna()
    return float(vals.iloc[-window:].mean()) if len(vals) else math.nan


def mean_se(values: Sequence[float]) -> tuple[float, float, int]:
    v = np.asarray([x for x in values if not math.isnan(x)], dtype=float)
    if len(v) == 0:
        return math.nan, math.nan, 0
    se = float(v.std(ddof=1) / math.sqrt(len(v))) if len(v) > 1 else math.nan
    return float(v.mean()), se, len(v)


def median(values: Sequence[float]) -> float:
    """Median over the finite-or-infinite values, NaN (no value) dropped; NaN if none is left.
    Shown beside the mean because one diverged seed can carry a mean by orders of magnitude."""
    v = [x for x in values if not math.isnan(x)]
    return float(np.median(v)) if v else math.nan


def mean_curve(curves: Sequence[pd.DataFrame], col: str) -> pd.DataFrame:
    """Mean ± SE over seeds at the steps every seed logged."""
    series = [c.groupby("step")[col].mean() for c in curves]
    table = pd.concat(series, axis=1, join="inner")
    n = table.shape[1]
    out = pd.DataFrame({"step": table.index.values, "mean": table.mean(axis=1).values})
    out["se"] = table.std(axis=1, ddof=1).values / math.sqrt(n) if n > 1 else np.nan
    out["n"] = n
    return out


def aggregate(runs: Sequence[Run], ps: PlotSpec, varying, infos) -> tuple[pd.DataFrame, dict]:
    """Table rows per (series, x) and the mean learning curves keyed the same way."""
    cells: dict[tuple, list[Run]] = {}
    for r in runs:
        cells.setdefault((series_label(r.job, ps, varying), x_value(r.job, ps, infos)),
                         []).append(r)
    rows, curves = [], {}
    for (label, x), members in cells.items():
        ok = [r for r in members if r.state == "complete"]
        finals = [final_value(r.curve, ps.metric, ps.final_window) for r in ok]
        m, se, n = mean_se(finals)
        row = {"series": label, "x": x, "seeds": n, "expected": len(members),
               f"final_{ps.metric}": m, f"final_{ps.metric}_se": se,
               f"final_{ps.metric}_median": median(finals)}
        for col, _ in ps.table:
            em, ese, _ = mean_se([final_value(r.extra[col], col, ps.final_window) for r in ok])
            row[col], row[f"{col}_se"] = em, ese
        row["missing_or_partial"] = _not_complete(members)
        rows.append(row)
        if ok:
            curves[(label, x)] = mean_curve([r.curve for r in ok], ps.metric)
    table = pd.DataFrame(rows)
    if not table.empty:
        table = table.sort_values(["series", "x"], key=_sort_key).reset_index(drop=True)
    return table, curves


def _not_complete(members: Sequence[Run]) -> str:
    """'seeds 0, 1: missing (no output); seed 2: partial (...)': seeds that share a reason are
    listed once, so a cell whose 10 seeds have not run takes one line."""
    reasons: dict[str, list[str]] = {}
    for r in members:
        if r.state != "complete":
            reasons.setdefault(f"{r.state} ({r.note})", []).append(str(r.seed))
    return "; ".join(f"seed{'s' if len(seeds) > 1 else ''} {', '.join(seeds)}: {why}"
                     for why, seeds in reasons.items())


def _sort_key(col: pd.Series) -> pd.Series:
    return col.map(lambda v: (0, float(v), "") if _is_number(v) else (1, 0.0, str(v)))


def _is_number(v) -> bool:
    try:
        float(v)
        return v is not None and not isinstance(v, bool)
    except (TypeError, ValueError):
        return False
