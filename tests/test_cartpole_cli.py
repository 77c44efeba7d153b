"""cartpole/train.py end to end with tiny budgets, and its refusals."""

import csv
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = ["--num_train_steps", "600", "--init_steps", "200", "--batch_size", "32", "--hidden_dim", "8",
        "--model_hidden_dim", "8", "--eval_frequency", "200", "--log_frequency", "200",
        "--num_eval_episodes", "2", "--notqdm"]


def run(args, cwd=ROOT, script="cartpole/train.py"):
    return subprocess.run([sys.executable, script, *args], cwd=cwd, capture_output=True, text=True, timeout=600)


def rows(path):
    with open(path) as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize("agent_type, extra, seeds", [
    ("omd", ["--with_inv_jac"], [0]),
    ("mle", ["--prob_model", "--dim_distract", "2"], [0]),
    ("vep", ["--num_seeds", "2", "--seed", "5"], [5, 6]),
])
def test_each_agent_trains_and_writes_outputs(tmp_path, agent_type, extra, seeds):
    out = run(["--agent_type", agent_type, "--out_dir", str(tmp_path), *TINY, *extra])
    assert out.returncode == 0, out.stderr[-3000:]
    for seed in seeds:
        train = rows(tmp_path / str(seed) / "train.csv")
        evals = rows(tmp_path / str(seed) / "eval.csv")
        assert [int(float(r["step"])) for r in train] == [200, 400, 600]
        assert [int(float(r["step"])) for r in evals] == [0, 200, 400, 600]
        # The model's loss named for what it is (omd.columns), where runs before that wrote loss_T.
        model_loss = "outer_loss" if agent_type == "omd" else "model_loss"
        assert list(train[0]) == ["episode", "step", "episode_return", "duration", "vals_Q", "loss_Q", "grad_norm_Q",
                                  "entropy_Q", model_loss, "next_obs_nll", "next_obs_mse", "steps_per_second"]
        assert list(evals[0]) == ["episode", "step", "episode_return"]
        for key in train[-1]:
            assert float(train[-1][key]) == float(train[-1][key]), key  # present and not NaN
        assert os.listdir(tmp_path / str(seed) / "tb")
        assert "done:" in out.stdout
    # Distinct seeds see different episodes.
    if len(seeds) == 2:
        assert rows(tmp_path / "5" / "eval.csv") != rows(tmp_path / "6" / "eval.csv")


def test_save_and_eval_only_from_inside_cartpole(tmp_path):
    agent, buf = tmp_path / "agent.pkl", tmp_path / "buf.pkl"
    args = ["--out_dir", str(tmp_path / "out"), "--save_agent", "--save_buf", "--agent_path", str(agent),
            "--data_path", str(buf), *TINY]
    out = run(args, cwd=os.path.join(ROOT, "cartpole"), script="train.py")
    assert out.returncode == 0, out.stderr[-3000:]
    from omd.soft_q import export

    config, params = export.load_agent(str(agent))
    assert config.algo == "omd" and config.max_steps == 600 and params["step"] == 600
    data = export.load_buffer(str(buf))
    assert data["obs"].shape == (600, 4) and data["action"].shape == (600,)
    assert set(data["not_done"]) <= {0.0, 1.0}
    out = run(["--eval_only", "--agent_path", str(agent), "--num_eval_episodes", "3"])
    assert out.returncode == 0, out.stderr[-3000:]
    assert "mean return over 3 episodes" in out.stdout
    # Outputs are never silently overwritten.
    out = run(args, cwd=os.path.join(ROOT, "cartpole"), script="train.py")
    assert out.returncode != 0 and "--overwrite" in out.stderr


@pytest.mark.parametrize("args, message", [
    (["--agent_type", "vep", "--prob_model"], "--prob_model cannot be combined with --agent_type vep"),
    (["--batch_size", "512", "--init_steps", "100"], "Raise --init_steps to at least --batch_size"),
    (["--env_name", "Pendulum-v1"], "continuous action space"),
    (["--eps", "1.5"], "--eps is a probability"),
])
def test_bad_flags_are_refused_with_a_message(tmp_path, args, message):
    out = run(["--out_dir", str(tmp_path), *args])
    assert out.returncode != 0
    assert message in out.stderr
    assert not os.listdir(tmp_path)  # refused before anything was written
