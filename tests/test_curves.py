"""``python -m omd.curves``: a train.csv column's mean ± s.e. over seeds, drawn by label and panel."""

import os
import subprocess
import sys

import numpy as np

from omd.curves import mean_se, seed_curves

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _write(folder, seed, rows, column="model_state_mse"):
    os.makedirs(folder / str(seed))
    with open(folder / str(seed) / "train.csv", "w") as f:
        f.write(f"step,{column}\n" + "".join(f"{s},{v}\n" for s, v in rows))


def test_mean_and_standard_error_over_seeds_at_shared_steps(tmp_path):
    _write(tmp_path / "seed=0,algo=omd", 0, [(1000, 1.0), (2000, 3.0)])
    _write(tmp_path / "seed=1,algo=omd", 1, [(1000, 3.0), (2000, 5.0), (3000, 9.0)])  # 3000 not shared
    _write(tmp_path / "seed=2,algo=omd", 2, [(1000, 7.0)], column="q")                   # predates the column
    curves, missing = seed_curves([str(tmp_path / "seed=*,algo=omd")], "model_state_mse")
    assert len(curves) == 2 and missing == 1
    stats = mean_se(curves)
    assert stats.index.tolist() == [1000, 2000]
    np.testing.assert_allclose(stats["mean"], [2.0, 4.0])
    np.testing.assert_allclose(stats["se"], [1.0, 1.0])  # std (ddof 1) sqrt(2) over sqrt(2) seeds
    assert np.isnan(mean_se(curves[:1])["se"]).all()      # one seed: no standard error


def test_a_column_is_read_under_its_legacy_names_too(tmp_path):
    _write(tmp_path / "new", 0, [(1000, 1.0)], column="outer_loss")
    _write(tmp_path / "mujoco", 0, [(1000, 3.0)], column="outer_critic_loss")  # runs before omd.columns
    _write(tmp_path / "cartpole", 0, [(1000, 5.0)], column="loss_T")
    curves, missing = seed_curves([str(tmp_path / "*")], "outer_loss")
    assert missing == 0 and [c.name for c in curves] == ["outer_loss"] * 3
    assert sorted(float(c.iloc[0]) for c in curves) == [1.0, 3.0, 5.0]


def test_cli_draws_panels_and_names_a_bad_series(tmp_path):
    for algo in ("omd", "mle"):
        _write(tmp_path / f"seed=0,algo={algo}", 0, [(1000, 2.0), (2000, 1.0)])
    out = tmp_path / "fig" / "error.png"
    ok = subprocess.run([sys.executable, "-m", "omd.curves", "--column", "model_state_mse", "--log", "--out", str(out),
                         f"OMD@a={tmp_path}/seed=*,algo=omd", f"MLE@b={tmp_path}/seed=*,algo=mle"],
                        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert out.stat().st_size > 10_000  # a drawn PNG, not an empty canvas
    bad = subprocess.run([sys.executable, "-m", "omd.curves", "--column", "nope", "--out", str(out),
                          f"OMD={tmp_path}/seed=*,algo=omd"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert bad.returncode != 0 and bad.stderr.startswith("error: OMD: no train.csv under")
    assert "'nope'" in bad.stderr and "Traceback" not in bad.stderr
