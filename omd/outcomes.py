"""How each run of a job ended: final return, whether it reached a return, fell back, or its Q diverged.

  python -m omd.outcomes results/cartpole_omd_stabilisers/* --against results/cartpole_hidden/agent_type=omd,model_hidden_dim=2,seeds=0-9
  python -m omd.outcomes results/halfcheetah_paper_200k/* --by_setting --reached 3000 \
      --against results/halfcheetah_paper_200k/seed=*,config.algo=mle,dim_distract=0

Both suites' layouts are read (``<job>/<seed>/{eval,train}.csv``): the ``episode_return`` column of both
(or its legacy name, ``omd.columns``: MuJoCo runs before the shared vocabulary wrote ``return``), and
CartPole's ``vals_Q`` or MuJoCo's ``q``; each suite has its own defaults (``SUITES``).
The definitions (docs/results/cartpole.md, "how runs fail"): the final return is the mean of the
last ``window`` evaluations; a run *reached* a return if any evaluation did; it *fell back* if it
reached it and its final return is below half its peak (and it *first reached* it at the step of the
first evaluation that did: how fast it learns, where the final return says where it ends); its Q *diverged* if the mean Q of its last
``window`` train rows exceeds ``q_limit`` in magnitude or is not finite (CartPole: a soft value
with rewards of 1 is at most about 100, so 200; HalfCheetah: rewards per step stay below 10, so a
value above 1,000 is out of reach at discount 0.99). The *second-half mean* is the mean of all
evaluations after half the run's steps: a less noisy measure than the final return for runs whose
returns swing from one evaluation to the next.
"""

from __future__ import annotations

import argparse
import glob
import os
import re

import numpy as np
import pandas as pd
from scipy import stats

from omd import columns

# suite: (Q column, reached, q_limit, window); told apart by the train.csv Q column, both suites'
# eval.csv sharing its return column
SUITES = {"cartpole": ("vals_Q", 450.0, 200.0, 10), "mujoco": ("q", 1000.0, 1000.0, 5)}
RETURN = "episode_return"


def suite_of(seed_dir: str) -> str:
    header = pd.read_csv(os.path.join(seed_dir, "train.csv"), nrows=0).columns
    for suite, (q_col, *_rest) in SUITES.items():
        if q_col in header:
            return suite
    raise ValueError(f"{seed_dir}/train.csv has none of the Q columns {[v[0] for v in SUITES.values()]}")


def _column(path: str, wanted: str) -> pd.DataFrame:
    """The CSV with ``wanted`` under that name, whichever name (``omd.columns``) the run wrote it as."""
    df = columns.with_canonical(pd.read_csv(path), [wanted])
    if wanted not in df.columns:
        raise ValueError(f"{path} has no {wanted!r} column")
    return df


def run_outcome(seed_dir: str, reached: float | None = None, q_limit: float | None = None,
                window: int | None = None) -> dict:
    """One run's outcome; ``None`` settings take its suite's defaults (``SUITES``)."""
    q_col, *defaults = SUITES[suite_of(seed_dir)]
    reached, q_limit, window = (d if v is None else v for v, d in zip((reached, q_limit, window), defaults))
    eval_df = _column(os.path.join(seed_dir, "eval.csv"), RETURN)
    evals = eval_df[RETURN].to_numpy()
    late = evals[eval_df["step"].to_numpy() > eval_df["step"].max() / 2]
    vals_q = pd.read_csv(os.path.join(seed_dir, "train.csv"))[q_col].to_numpy()[-window:]
    final, peak = float(np.mean(evals[-window:])), float(np.max(evals))
    q_end = float(np.mean(vals_q))
    hits = eval_df["step"].to_numpy()[evals >= reached]
    reached = peak >= reached
    return {"final": final, "late": float(np.mean(late)), "peak": peak, "reached": reached,
            "first_reached": float(hits[0]) if len(hits) else np.nan,
            "fell_back": reached and final < peak / 2, "q_diverged": not np.isfinite(q_end) or abs(q_end) > q_limit}


def seed_dirs(job_dir: str) -> list[str]:
    """The job's ``<seed>`` folders that hold an eval.csv; raises ``FileNotFoundError`` if none."""
    dirs = [os.path.dirname(p) for p in glob.glob(os.path.join(job_dir, "*", "eval.csv"))]
    dirs = sorted((d for d in dirs if os.path.basename(d).isdigit()), key=lambda d: int(os.path.basename(d)))
    if not dirs:
        raise FileNotFoundError(f"no <seed>/eval.csv under {job_dir}")
    return dirs


Job = str | list[str]  # a job folder, or the one-seed folders of one setting (``by_setting``)


def job_outcomes(job: Job, **settings) -> pd.DataFrame:
    """One row per seed folder of a job, indexed by seed; ``settings`` as ``run_outcome``'s."""
    dirs = run_dirs(job)
    rows = {int(os.path.basename(d)): run_outcome(d, **settings) for d in dirs}
    return pd.DataFrame.from_dict(rows, orient="index").sort_index()


def run_dirs(job: Job) -> list[str]:
    return [d for folder in ([job] if isinstance(job, str) else job) for d in seed_dirs(folder)]


def by_setting(folders: list[str]) -> dict[str, list[str]]:
    """Job folders grouped by their name without its ``seed=N`` part: a sweep that runs one job
    per seed (``seed=0,config.algo=omd``, ``seed=1,config.algo=omd``) as one job per setting. Jobs
    named by their seed alone (``seed=0``, ``seed=2``: one setting split in seed blocks) pool under
    their parent folder's name."""
    groups: dict[str, list[str]] = {}
    for folder in folders:
        name = os.path.basename(os.path.normpath(folder))
        key = (",".join(p for p in name.split(",") if not re.fullmatch(r"(config\.)?seed=\d+", p))
               or os.path.basename(os.path.dirname(os.path.abspath(folder))))
        groups.setdefault(key, []).append(folder)
    return groups


def _name(job: Job) -> str:
    return os.path.basename(os.path.normpath(job)) if isinstance(job, str) else by_setting(job).popitem()[0]


def summary(job: Job, **settings) -> dict:
    df = job_outcomes(job, **settings)
    finals, late = df["final"].to_numpy(), df["late"].to_numpy()
    return {"late_mean": late.mean(), "late_se": late.std(ddof=1) / np.sqrt(len(late)) if len(late) > 1 else np.nan,
            "job": _name(job), "seeds": len(df),
            "mean": finals.mean(), "se": finals.std(ddof=1) / np.sqrt(len(finals)) if len(finals) > 1 else np.nan,
            "median": np.median(finals), "reached": int(df["reached"].sum()),
            # over the runs that reached it: how fast those learned
            "first_reached": float(df["first_reached"].median()) if df["reached"].any() else np.nan,
            "fell_back": int(df["fell_back"].sum()), "q_diverged": int(df["q_diverged"].sum()),
            "per_seed": ", ".join(f"{v:.0f}" for v in finals)}


def mann_whitney(job_a: Job, job_b: Job, **settings) -> float:
    """Two-sided Mann-Whitney U p-value of the two jobs' final returns."""
    a, b = job_outcomes(job_a, **settings)["final"], job_outcomes(job_b, **settings)["final"]
    return float(stats.mannwhitneyu(a, b, alternative="two-sided").pvalue)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("jobs", nargs="+", help="job folders holding <seed>/eval.csv and <seed>/train.csv (folders "
                        "named _* , such as a sweep's _sweep, are skipped)")
    parser.add_argument("--against", nargs="+", help="a job folder (or one setting's one-seed folders, pooled) to test "
                        "every job against (two-sided Mann-Whitney U of the final returns); put it last")
    parser.add_argument("--reached", type=float, help="the return a run must reach (default: CartPole 450, MuJoCo 1000)")
    parser.add_argument("--q_limit", type=float, help="|Q| above which it diverged (default: CartPole 200, MuJoCo 1000)")
    parser.add_argument("--by_setting", action="store_true", help="one row per setting: jobs whose names differ only "
                        "in seed=N (a sweep with one job per seed) pooled")
    parser.add_argument("--window", type=int, help="evaluations (and train rows) in the final mean (CartPole 10, "
                        "MuJoCo 5)")
    args = parser.parse_args()
    settings = {"reached": args.reached, "q_limit": args.q_limit, "window": args.window}
    folders = [j for j in args.jobs if not os.path.basename(os.path.normpath(j)).startswith("_")]
    jobs: list[Job] = list(by_setting(folders).values()) if args.by_setting else folders
    try:
        threshold = args.reached or SUITES[suite_of(run_dirs(jobs[0])[0])][1]
    except (IndexError, FileNotFoundError, ValueError) as err:
        raise SystemExit(f"error: {err if jobs else 'no job folder among ' + ' '.join(args.jobs)}") from None
    print(f"| job | mean ± s.e. | median | reached {threshold:.0f} / fell back / Q diverged | per seed | second-half "
          f"mean ± s.e. | median step first at {threshold:.0f} |" + (" p vs --against |" if args.against else ""))
    print("|---" * (7 + bool(args.against)) + "|")
    for job in jobs:
        try:
            s = summary(job, **settings)
        except (FileNotFoundError, ValueError) as err:
            raise SystemExit(f"error: {err}") from None
        line = (f"| {s['job']} | {_pm(s['mean'], s['se'])} | {s['median']:.0f} | {s['reached']} / "
                f"{s['fell_back']} / {s['q_diverged']} of {s['seeds']} | {s['per_seed']} | "
                f"{_pm(s['late_mean'], s['late_se'])} | {_steps(s['first_reached'])} |")
        if args.against:
            line += f" {mann_whitney(job, args.against, **settings):.2g} |"  # a list of folders: one pooled job
        print(line)


def _steps(step: float) -> str:
    """``14.5k``; ``–`` where no run reached the threshold."""
    return "–" if np.isnan(step) else f"{step / 1000:g}k"


def _pm(mean: float, se: float) -> str:
    """``mean ± s.e.``; the mean alone for one seed, whose standard error is undefined."""
    return f"{mean:.0f}" if np.isnan(se) else f"{mean:.0f} ± {se:.0f}"


if __name__ == "__main__":
    main()
