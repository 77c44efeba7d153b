"""Outcome counts of jobs (omd.outcomes) on runs whose endings are known, on a committed CartPole job
whose counts docs/results/cartpole.md reports, and on MuJoCo's layout."""

import os
import subprocess
import sys

import numpy as np
import pytest
from scipy import stats

from omd.outcomes import job_outcomes, mann_whitney, summary

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
    np.testing.assert_allclose(df["first_reached"], [5000, 5000, 5000, np.nan])  # the 6th evaluation, step 5,000
    s = summary(str(job))
    assert s["first_reached"] == 5000  # the median over the three runs that reached 450
    assert (s["reached"], s["fell_back"], s["q_diverged"]) == (3, 2, 2)
    assert mann_whitney(str(job), str(job)) == pytest.approx(1.0)


def test_committed_figure4_job_matches_the_docs():
    job = os.path.join(ROOT, "results", "cartpole_hidden", "agent_type=omd,model_hidden_dim=2,seeds=0-9")
    s = summary(job)
    assert (s["reached"], s["fell_back"], s["q_diverged"]) == (6, 5, 4)  # docs/results/cartpole.md, size 2
    assert round(s["mean"]) == 136 and round(s["se"]) == 26
    assert round(s["late_mean"]) == 162 and round(s["late_se"]) == 26  # second-half mean, computed by hand once


def test_cli_prints_a_table_and_refuses_an_empty_folder(tmp_path):
    job = os.path.join(ROOT, "results", "cartpole_hidden", "agent_type=mle,model_hidden_dim=2,seeds=0-9")
    out = subprocess.run([sys.executable, "-m", "omd.outcomes", job, "--against", job], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "| agent_type=mle,model_hidden_dim=2,seeds=0-9 | 47 ± 6 | 45 | 2 / 2 / 5 of 10 |" in out.stdout
    bad = subprocess.run([sys.executable, "-m", "omd.outcomes", str(tmp_path)], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode != 0 and bad.stderr.startswith("error: no <seed>/eval.csv under")
    assert "Traceback" not in bad.stderr


# MuJoCo runs before the shared vocabulary (omd.columns) named the return column "return".
@pytest.mark.parametrize("return_column", ["episode_return", "return"])
def test_mujoco_layout_takes_its_own_defaults_and_the_cli_settings(tmp_path, return_column):
    job = tmp_path / "seed=0,config.algo=omd"
    for seed, (evals, q) in enumerate([([-100] * 5 + [3500] * 5, [300] * 5),     # reached 3000 and kept it
                                       ([-100] * 5 + [1200] + [100] * 5, [5e3] * 5)]):  # 1000 then fell, Q diverged
        os.makedirs(job / str(seed))
        with open(job / str(seed) / "eval.csv", "w") as f:
            f.write(f"step,{return_column}\n" + "".join(f"{5000 * (i + 1)},{r}\n" for i, r in enumerate(evals)))
        with open(job / str(seed) / "train.csv", "w") as f:
            f.write("step,q\n" + "".join(f"{1000 * (i + 1)},{v}\n" for i, v in enumerate(q)))
    df = job_outcomes(str(job))  # reached 1000, Q limit 1000, the last 5 evaluations
    assert df["reached"].tolist() == [True, True] and df["q_diverged"].tolist() == [False, True]
    np.testing.assert_allclose(df["final"], [3500, 100])
    assert df["fell_back"].tolist() == [False, True]
    out = subprocess.run([sys.executable, "-m", "omd.outcomes", str(job), str(tmp_path / "_sweep"), "--reached", "3000"],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "| reached 3000 / fell back / Q diverged |" in out.stdout and "| median step first at 3000 |" in out.stdout
    assert "| seed=0,config.algo=omd | 1800 ± 1700 | 1800 | 1 / 0 / 1 of 2 | 3500, 100 |" in out.stdout
    assert out.stdout.splitlines()[2].endswith("| 30k |")  # the 6th evaluation of the run that reached 3000


def test_one_job_per_seed_sweeps_pool_by_setting(tmp_path):
    for seed, final in ((0, 500), (1, 300)):
        for algo in ("omd", "mle"):
            _write_run(tmp_path / f"seed={seed},algo={algo}" / str(seed), [20] * 5 + [final if algo == "omd" else 50] * 15,
                       [90] * 20)
    out = subprocess.run([sys.executable, "-m", "omd.outcomes", *sorted(str(p) for p in tmp_path.iterdir()),
                          "--by_setting", "--against", str(tmp_path / "seed=0,algo=mle"), str(tmp_path / "seed=1,algo=mle")],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    p = stats.mannwhitneyu([500, 300], [50, 50], alternative="two-sided").pvalue  # the pooled seeds, by hand
    assert f"| algo=omd | 400 ± 100 | 400 | 1 / 0 / 0 of 2 | 500, 300 | 400 ± 100 | 5k | {p:.2g} |" in out.stdout
    assert "| algo=mle | 50 ± 0 | 50 | 0 / 0 / 0 of 2 | 50, 50 | 50 ± 0 | – | 1 |" in out.stdout  # none reached 450
    one = subprocess.run([sys.executable, "-m", "omd.outcomes", str(tmp_path / "seed=0,algo=omd")],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert "| seed=0,algo=omd | 500 | 500 | 1 / 0 / 0 of 1 | 500 | 500 |" in one.stdout  # no "± nan" for one seed


def test_jobs_named_by_seed_alone_pool_under_their_sweep(tmp_path):
    """A setting split in seed blocks (``seed=0`` holding seeds 0-1, ``seed=2`` seeds 2-3) is one row."""
    for job, seeds in (("seed=0", (0, 1)), ("seed=2", (2, 3))):
        for seed in seeds:
            _write_run(tmp_path / "sweep_cg" / job / str(seed), [20] * 5 + [100 * (seed + 1)] * 15, [90] * 20)
    out = subprocess.run([sys.executable, "-m", "omd.outcomes", str(tmp_path / "sweep_cg" / "seed=0"),
                          str(tmp_path / "sweep_cg" / "seed=2"), "--by_setting"],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "| sweep_cg | 250 ± 65 | 250 | 0 / 0 / 0 of 4 | 100, 200, 300, 400 |" in out.stdout
