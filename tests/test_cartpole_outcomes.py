"""Outcome counts of CartPole jobs (omd.soft_q.outcomes) on runs whose endings are known, and on a
committed job whose counts docs/results/cartpole.md reports."""

import os
import subprocess
import sys

import numpy as np
import pytest

from omd.soft_q.outcomes import job_outcomes, mann_whitney, summary

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _write_run(folder, evals, vals_q):
    os.makedirs(folder)
    with open(os.path.join(folder, "eval.csv"), "w") as f:
        f.write("episode,step,episode_return\n")
        f.writelines(f"{i},{1000 * i},{r}\n" for i, r in enumerate(evals))
    with open(os.path.join(folder, "train.csv"), "w") as f:
        f.write("episode,step,vals_Q\n")
        f.writelines(f"{i},{1000 * i},{q}\n" for i, q in enumerate(vals_q))


def test_each_ending_is_classified(tmp_path):
    job = tmp_path / "job"
    _write_run(job / "0", [20] * 5 + [500] * 20, [90] * 20)            # learned and stayed
    _write_run(job / "1", [20] * 5 + [500] * 5 + [100] * 15, [90] * 20)  # reached 450, fell back
    _write_run(job / "2", [20] * 5 + [500] * 5 + [9] * 15, [1e4] * 20)   # fell back, Q diverged
    _write_run(job / "3", [20] * 25, [float("nan")] * 20)               # never learned, NaN Q
    df = job_outcomes(str(job))
    assert df["reached"].tolist() == [True, True, True, False]
    assert df["fell_back"].tolist() == [False, True, True, False]
    assert df["q_diverged"].tolist() == [False, False, True, True]
    np.testing.assert_allclose(df["final"], [500, 100, 9, 20])
    # evaluations after step 12,000 (half of the last, 24,000): 12 of each run's 25
    np.testing.assert_allclose(df["late"], [500, 100, 9, 20])
    s = summary(str(job))
    assert (s["reached_450"], s["fell_back"], s["q_diverged"]) == (3, 2, 2)
    assert mann_whitney(str(job), str(job)) == pytest.approx(1.0)


def test_committed_figure4_job_matches_the_docs():
    job = os.path.join(ROOT, "results", "cartpole_hidden", "agent_type=omd,model_hidden_dim=2,seeds=0-9")
    s = summary(job)
    assert (s["reached_450"], s["fell_back"], s["q_diverged"]) == (6, 5, 4)  # docs/results/cartpole.md, size 2
    assert round(s["mean"]) == 136 and round(s["se"]) == 26
    assert round(s["late_mean"]) == 162 and round(s["late_se"]) == 26  # second-half mean, computed by hand once


def test_cli_prints_a_table_and_refuses_an_empty_folder(tmp_path):
    job = os.path.join(ROOT, "results", "cartpole_hidden", "agent_type=mle,model_hidden_dim=2,seeds=0-9")
    out = subprocess.run([sys.executable, "-m", "omd.soft_q.outcomes", job, "--against", job], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "| agent_type=mle,model_hidden_dim=2,seeds=0-9 | 47 ± 6 | 45 | 2 / 2 / 5 of 10 |" in out.stdout
    bad = subprocess.run([sys.executable, "-m", "omd.soft_q.outcomes", str(tmp_path)], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode != 0 and bad.stderr.startswith("error: no <seed>/eval.csv under")
    assert "Traceback" not in bad.stderr
