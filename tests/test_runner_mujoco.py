"""A tiny HalfCheetah sweep through the real MuJoCo CLI: config overrides, local run, plot.
Slow (two SAC compilations), so out of the default run: ``pytest -m slow tests/test_runner_mujoco.py``."""

import functools
import textwrap

import pandas as pd
import pytest
from test_runner_cartpole import runner

runner = functools.partial(runner, timeout=1200)  # two SAC compilations


@pytest.mark.slow
def test_tiny_halfcheetah_sweep(tmp_path):
    sweep = tmp_path / "mj.py"
    sweep.write_text(textwrap.dedent("""
        basename = "mj"
        grid = [dict(_main=["mujoco/train.py"], seed=[0, 1], max_steps=[300], start_training=[100],
                     batch_size=[32], eval_interval=[150], eval_episodes=[1], notqdm=[True],
                     **{"config.algo": ["mle"], "config.hidden_dims": [(16, 16)],
                        "config.model_hidden_dim": [8]})]
        plot = dict(agent="config.algo", x=None, final_window=1)
        """))
    rc, out, err = runner(sweep, "--dry-run", "--root", tmp_path / "runs")
    assert rc == 0 and "'--config.hidden_dims=(16, 16)'" in out, err
    rc, out, err = runner(sweep, "--local", "--root", tmp_path / "runs")
    assert rc == 0 and "2 jobs: 2 done" in out, out + err
    for seed in (0, 1):
        rows = pd.read_csv(tmp_path / "runs" / f"seed={seed}" / f"{seed}.txt", sep=" ",
                           header=None)
        assert list(rows[0]) == [150, 300]
    rc, out, err = runner(sweep, "--plot", "--root", tmp_path / "runs")
    assert rc == 0 and "2/2 runs complete" in out, err
    table = pd.read_csv(tmp_path / "runs" / "figures" / "mj.csv")
    assert table["seeds"].tolist() == [2] and table["final_episode_return"].notna().all()
