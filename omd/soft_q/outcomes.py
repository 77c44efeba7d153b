"""How each run of a CartPole job ended: final return, whether it reached 450, fell back, or its Q diverged.

  python -m omd.soft_q.outcomes results/cartpole_omd_stabilisers/* results/cartpole_hidden/agent_type=omd,model_hidden_dim=2,seeds=0-9

The definitions of docs/results/cartpole.md ("how runs fail"): the final return is the mean of the last 10
evaluations; a run *reached 450* if any evaluation did; it *fell back* if it reached 450 and its
final return is below half its peak; its Q *diverged* if the mean ``vals_Q`` of its last 10 train
rows exceeds 200 in magnitude or is not finite (a soft value with rewards of 1 is at most about 100).
The *second-half mean* is the mean of all evaluations after half the run's steps: a less noisy
measure than the final return for runs whose returns swing from one evaluation to the next.
"""

from __future__ import annotations

import argparse
import glob
import os

import numpy as np
import pandas as pd
from scipy import stats

REACHED, Q_LIMIT, WINDOW = 450.0, 200.0, 10


def run_outcome(seed_dir: str) -> dict:
    eval_df = pd.read_csv(os.path.join(seed_dir, "eval.csv"))
    evals = eval_df["episode_return"].to_numpy()
    late = evals[eval_df["step"].to_numpy() > eval_df["step"].max() / 2]
    vals_q = pd.read_csv(os.path.join(seed_dir, "train.csv"))["vals_Q"].to_numpy()[-WINDOW:]
    final, peak = float(np.mean(evals[-WINDOW:])), float(np.max(evals))
    q_end = float(np.mean(vals_q))
    reached = peak >= REACHED
    return {"final": final, "late": float(np.mean(late)), "peak": peak, "reached": reached,
            "fell_back": reached and final < peak / 2, "q_diverged": not np.isfinite(q_end) or abs(q_end) > Q_LIMIT}


def job_outcomes(job_dir: str) -> pd.DataFrame:
    """One row per seed folder of a job (``<job>/<seed>/eval.csv``), indexed by seed."""
    rows = {}
    for path in glob.glob(os.path.join(job_dir, "*", "eval.csv")):
        seed = os.path.basename(os.path.dirname(path))
        if seed.isdigit():
            rows[int(seed)] = run_outcome(os.path.dirname(path))
    if not rows:
        raise FileNotFoundError(f"no <seed>/eval.csv under {job_dir}")
    return pd.DataFrame.from_dict(rows, orient="index").sort_index()


def summary(job_dir: str) -> dict:
    df = job_outcomes(job_dir)
    finals, late = df["final"].to_numpy(), df["late"].to_numpy()
    return {"late_mean": late.mean(), "late_se": late.std(ddof=1) / np.sqrt(len(late)) if len(late) > 1 else np.nan,
            "job": os.path.basename(os.path.normpath(job_dir)), "seeds": len(df),
            "mean": finals.mean(), "se": finals.std(ddof=1) / np.sqrt(len(finals)) if len(finals) > 1 else np.nan,
            "median": np.median(finals), "reached_450": int(df["reached"].sum()),
            "fell_back": int(df["fell_back"].sum()), "q_diverged": int(df["q_diverged"].sum()),
            "per_seed": ", ".join(f"{v:.0f}" for v in finals)}


def mann_whitney(job_a: str, job_b: str) -> float:
    """Two-sided Mann-Whitney U p-value of the two jobs' final returns."""
    a, b = job_outcomes(job_a)["final"], job_outcomes(job_b)["final"]
    return float(stats.mannwhitneyu(a, b, alternative="two-sided").pvalue)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("jobs", nargs="+", help="job folders holding <seed>/eval.csv and <seed>/train.csv")
    parser.add_argument("--against", help="a job folder to test every job against (two-sided Mann-Whitney U)")
    args = parser.parse_args()
    head = "| job | mean ± s.e. | median | reached 450 / fell back / Q diverged | per seed | second-half mean ± s.e. |"
    print(head + (" p vs --against |" if args.against else ""))
    print("|---" * (6 + bool(args.against)) + "|")
    for job in args.jobs:
        try:
            s = summary(job)
        except FileNotFoundError as err:
            raise SystemExit(f"error: {err}") from None
        line = (f"| {s['job']} | {s['mean']:.0f} ± {s['se']:.0f} | {s['median']:.0f} | {s['reached_450']} / "
                f"{s['fell_back']} / {s['q_diverged']} of {s['seeds']} | {s['per_seed']} | "
                f"{s['late_mean']:.0f} ± {s['late_se']:.0f} |")
        if args.against:
            line += f" {mann_whitney(job, args.against):.2g} |"
        print(line)


if __name__ == "__main__":
    main()
