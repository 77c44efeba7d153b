"""The collapse probes (omd.soft_q.diagnostics) and cartpole/diagnose.py: the probe reads a run
without changing it, and its quantities are what they say."""

import csv
import functools
import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from omd import replay
from omd.soft_q import SoftQConfig, make_loop
from omd.soft_q.diagnostics import PROBE_KEYS, observed_range, probe

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = ["--num_train_steps", "600", "--init_steps", "200", "--batch_size", "32", "--hidden_dim", "8",
        "--model_hidden_dim", "2", "--eval_frequency", "200", "--log_frequency", "200",
        "--num_eval_episodes", "2", "--notqdm", "--num_seeds", "2"]


def rows(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def test_observed_range_is_that_of_the_stored_next_states_only():
    buf = replay.init({"next_obs": jnp.zeros(3)}, 10)
    data = np.array([[1.0, -2.0, 0.5], [3.0, 4.0, -1.0], [-5.0, 0.0, 2.0]], np.float32)
    for row in data:
        buf = replay.add(buf, {"next_obs": jnp.asarray(row)})
    low, high = observed_range(buf)  # the 7 unfilled zero slots must not count
    np.testing.assert_array_equal(low, data.min(0))
    np.testing.assert_array_equal(high, data.max(0))


@functools.lru_cache(maxsize=None)  # one short run per agent, shared by the tests below
def _trained(algo):
    config = SoftQConfig(algo=algo, max_steps=400, start_training=100, batch_size=32, hidden_dim=8,
                         model_hidden_dim=2, eval_episodes=1)
    loop = make_loop(config)
    state, _ = jax.jit(loop.run_steps)(loop.init(jax.random.key(0)), 0, 400)
    return loop, state


@pytest.mark.parametrize("algo", ["omd", "mle"])
def test_probe_values(algo):
    loop, state = _trained(algo)
    out = jax.device_get(jax.jit(lambda s, k: probe(loop.agent, s.agent, s.buffer, k))(state, jax.random.key(1)))
    assert set(out) == set(PROBE_KEYS)
    assert 0.0 <= out["pred_out_of_range"] <= 1.0 and out["pred_excess"] >= 0.0
    assert np.isfinite(out["model_grad_norm"]) and out["model_grad_norm"] > 0
    assert out["target_error"] >= (out["target_model"] - out["target_real"]) ** 2 - 1e-3  # mean square >= squared mean
    # A soft return is at least the first step's reward (1 unless the state was terminal) and at most 1 + log 2 / 100
    # per step over 1 / (1 - 0.99) steps; an almost untrained Q is near 0, so it underestimates.
    assert 0.0 <= out["mc_return"] <= 101.0 and out["q_minus_mc"] < 0
    if algo == "omd":
        assert -1.0 <= out["cos_identity_cg"] <= 1.0 and out["inner_grad_norm"] > 0
        assert all(-1.0 <= out[k] <= 1.0 for k in ("cos_identity_match", "cos_cg_match"))
    else:
        assert np.isnan(out["cos_identity_cg"]) and np.isnan(out["inner_grad_norm"])
        assert np.isnan(out["cos_identity_match"]) and np.isnan(out["cos_cg_match"])


def test_a_model_that_predicts_far_away_is_out_of_range():
    loop, state = _trained("mle")
    model = state.agent.model
    far = jax.tree.map(lambda x: x, model.params)
    # Shift every next-state output bias far beyond CartPole's data: every component leaves the range.
    far = jax.tree_util.tree_map_with_path(
        lambda p, x: x + 1e3 if "bias" in jax.tree_util.keystr(p) and x.shape[-1] == 4 else x, far)
    agent_state = state.agent.replace(model=model.replace(params=far))
    out = probe(loop.agent, agent_state, state.buffer, jax.random.key(1))
    assert float(out["pred_out_of_range"]) == 1.0
    assert float(out["pred_excess"]) > 10.0


def test_diagnose_computes_the_same_run_as_train(tmp_path):
    train = subprocess.run([sys.executable, "cartpole/train.py", "--out_dir", str(tmp_path / "train"), *TINY],
                           cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert train.returncode == 0, train.stderr[-3000:]
    diag = subprocess.run([sys.executable, "cartpole/diagnose.py", "--diag_out", str(tmp_path / "diag"), *TINY],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert diag.returncode == 0, diag.stderr[-3000:]
    for seed in (0, 1):
        probes = rows(tmp_path / "diag" / str(seed) / "probe.csv")
        evals = rows(tmp_path / "train" / str(seed) / "eval.csv")
        train_rows = rows(tmp_path / "train" / str(seed) / "train.csv")
        assert [int(r["step"]) for r in probes] == [200, 400, 600]
        # The evaluation before each chunk, and the chunk's mean metrics, equal train.py's.
        np.testing.assert_allclose([float(r["eval_return"]) for r in probes],
                                   [float(r["episode_return"]) for r in evals[:3]], rtol=1e-6)
        np.testing.assert_allclose([float(r["outer_loss"]) for r in probes],
                                   [float(r["outer_loss"]) for r in train_rows], rtol=1e-6)
        assert all(np.isfinite(float(r["cos_identity_cg"])) and np.isfinite(float(r["q_minus_mc"])) for r in probes)
    figure = subprocess.run([sys.executable, "-m", "omd.soft_q.probe_plots", str(tmp_path / "diag"), "--out",
                             str(tmp_path / "probes.png")], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert figure.returncode == 0 and (tmp_path / "probes.png").stat().st_size > 10_000, figure.stderr[-3000:]


def test_diagnose_refuses_a_bad_setting_in_one_line(tmp_path):
    out = subprocess.run([sys.executable, "cartpole/diagnose.py", "--diag_out", str(tmp_path), "--lr", "-1",
                          "--notqdm"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert out.returncode != 0
    assert out.stderr.strip().startswith("error: --lr") and "Traceback" not in out.stderr
