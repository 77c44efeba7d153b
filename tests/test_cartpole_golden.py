"""What a CartPole run computes, pinned: refactors must leave finished sweep results valid.

``tests/golden/cartpole_golden.json`` holds the evaluation returns and per-interval
training metrics of one tiny two-seed CLI run per agent, made with the code that
produced the committed sweep results under ``results/`` (commit 310486d). Any change
to what a run computes fails here; if one is intended, the affected sweeps are rerun
and this file regenerated with the same command.
"""

import csv
import json
import os

import numpy as np
import pytest

from test_cartpole_cli import ROOT, run

GOLDEN = os.path.join(os.path.dirname(__file__), "golden", "cartpole_golden.json")
ARGS = ["--num_train_steps", "800", "--init_steps", "200", "--batch_size", "32", "--hidden_dim", "8",
        "--model_hidden_dim", "4", "--eval_frequency", "200", "--log_frequency", "200",
        "--num_eval_episodes", "3", "--notqdm", "--num_seeds", "2", "--notensorboard"]
METRICS = ("loss_Q", "vals_Q", "loss_T", "next_obs_mse")


@pytest.mark.parametrize("agent_type", ["omd", "mle", "vep"])
def test_a_tiny_run_computes_what_the_sweeps_computed(tmp_path, agent_type):
    with open(GOLDEN) as f:
        expected = json.load(f)[agent_type]
    out = run(["--agent_type", agent_type, "--out_dir", str(tmp_path), *ARGS])
    assert out.returncode == 0, out.stderr[-3000:]
    for seed in ("0", "1"):
        with open(tmp_path / seed / "eval.csv") as f:
            evals = [float(r["episode_return"]) for r in csv.DictReader(f)]
        with open(tmp_path / seed / "train.csv") as f:
            train = list(csv.DictReader(f))
        np.testing.assert_allclose(evals, expected[seed]["eval"], rtol=1e-6, err_msg=f"seed {seed} eval")
        for key in METRICS:
            np.testing.assert_allclose([float(r[key]) for r in train], expected[seed][key], rtol=1e-5,
                                       err_msg=f"seed {seed} {key}")
