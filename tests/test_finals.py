"""``python -m omd.finals``: final return against a setting, one line per label, across sweeps."""

import os
import subprocess
import sys

import numpy as np
import pytest

from omd.finals import points

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _job(folder, finals):
    """A CartPole-layout job whose seed s ends with ten evaluations of finals[s]."""
    for seed, value in enumerate(finals):
        d = folder / str(seed)
        os.makedirs(d)
        (d / "eval.csv").write_text("episode,step,episode_return\n"
                                    + "".join(f"{i},{1000 * i},{value}\n" for i in range(1, 11)))
        (d / "train.csv").write_text("step,vals_Q\n1000,10.0\n")


def test_points_are_per_job_means_and_standard_errors_at_the_x_in_the_name_or_label(tmp_path):
    _job(tmp_path / "a/agent_type=omd,model_hidden_dim=1,seeds=0-1", [100.0, 300.0])
    _job(tmp_path / "a/agent_type=omd,model_hidden_dim=12,seeds=0-1", [500.0, 500.0])
    _job(tmp_path / "b/seeds=0-1,clip_target=True", [400.0, 200.0])  # another sweep: size not in its name
    table = points({"OMD": [str(tmp_path / "a/agent_type=omd,model_hidden_dim=*,seeds=0-1")],
                    "OMD@2": [str(tmp_path / "b/seeds=0-1,clip_target=True")]}, "model_hidden_dim")
    assert table["x"].tolist() == [1.0, 2.0, 12.0] and set(table["label"]) == {"OMD"}
    np.testing.assert_allclose(table["mean"], [200.0, 300.0, 500.0])
    np.testing.assert_allclose(table["se"], [100.0, 100.0, 0.0])  # std (ddof 1) over sqrt(2)


def test_a_job_without_the_setting_in_its_name_is_named(tmp_path):
    _job(tmp_path / "seeds=0-1", [1.0, 2.0])
    with pytest.raises(ValueError, match="no model_hidden_dim=... in its name; give it after '@'"):
        points({"OMD": [str(tmp_path / "seeds=0-1")]}, "model_hidden_dim")


def test_cli_draws_the_figure_and_prints_the_points(tmp_path):
    _job(tmp_path / "model_hidden_dim=1", [100.0, 300.0])
    _job(tmp_path / "model_hidden_dim=2", [50.0, 50.0])
    out = tmp_path / "fig" / "final.png"
    proc = subprocess.run([sys.executable, "-m", "omd.finals", "--x", "model_hidden_dim", "--out", str(out),
                           f"OMD={tmp_path}/model_hidden_dim=*"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "| OMD | 1 | 200 ± 100 | 2 |" in proc.stdout and "| OMD | 2 | 50 ± 0 | 2 |" in proc.stdout
    assert out.stat().st_size > 10_000
    bad = subprocess.run([sys.executable, "-m", "omd.finals", "--x", "k", "--out", str(out), f"OMD={tmp_path}/none*"],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert bad.returncode != 0 and bad.stderr.startswith("error: OMD: no folder matches")
