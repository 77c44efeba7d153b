"""``python -m omd.soft_q.dead_units``: each hidden unit's activity over a saved buffer; and saved
agents written before a setting existed still load (with that setting's default, as they ran)."""

import os
import pickle
import subprocess
import sys

import numpy as np

from omd.soft_q import export
from omd.soft_q.config import SoftQConfig, to_flags
from omd.soft_q.dead_units import activity

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _layer(kernel, bias):
    return {"kernel": np.array(kernel, np.float32), "bias": np.array(bias, np.float32)}


def test_activity_counts_positive_preactivations_and_finds_a_dead_unit():
    params = {"hidden_0": _layer([[1.0], [0.0]], [0.0]),        # active where x0 > 0
              "hidden_1": _layer([[-1.414]], [0.0]),           # fed a ReLU output: never positive
              "out": _layer([[1.0]], [0.0])}
    x = np.array([[1.0, 0.0], [2.0, 1.0], [-1.0, 0.0], [-3.0, 5.0]], np.float32)
    first, second = activity(params, x)
    np.testing.assert_allclose(first, [0.5])
    np.testing.assert_allclose(second, [0.0])


def _save_old_agent(path):
    """An agent file as written before --model_activation existed (its config lacks the flag)."""
    config = {k: v for k, v in to_flags(SoftQConfig(model_hidden_dim=1)).items() if k != "model_activation"}
    head = {"hidden_0": _layer([[1.0]] * 4 + [[0.0]] * 2, [0.0]), "hidden_1": _layer([[-1.414]], [0.0]),
            "out": _layer([[0.01] * 4], [0.0] * 4)}
    payload = {"format": export.AGENT_FORMAT, "config": config, "params_Q": {}, "target_params_Q": {},
               "params_T": {"next_state": head}, "params_vep": None, "step": 10}
    with open(path, "wb") as f:
        pickle.dump(payload, f)


def test_an_agent_saved_before_a_setting_existed_loads_with_its_default(tmp_path):
    _save_old_agent(tmp_path / "agent.pkl")
    config, params = export.load_agent(str(tmp_path / "agent.pkl"))
    assert config.model_activation == "relu" and config.model_hidden_dim == 1 and params["step"] == 10


def test_cli_reports_each_network_and_its_dead_units(tmp_path):
    _save_old_agent(tmp_path / "agent.pkl")
    rng = np.random.default_rng(0)
    with open(tmp_path / "buf.pkl", "wb") as f:
        pickle.dump({"format": export.BUFFER_FORMAT, "obs": rng.normal(size=(50, 4)).astype(np.float32),
                     "action": rng.integers(0, 2, 50).astype(np.int32)}, f)
    proc = subprocess.run([sys.executable, "-m", "omd.soft_q.dead_units", str(tmp_path / "agent.pkl")],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("agent.pkl next_state: active share per unit layer 0: ")
    assert "layer 1: 0.00; dead units 1" in proc.stdout
    bad = subprocess.run([sys.executable, "-m", "omd.soft_q.dead_units", str(tmp_path / "none.pkl")],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert bad.returncode != 0 and bad.stderr.startswith("error:")
