"""The MuJoCo suite end to end: the CLI for every algorithm, bad input, resume after a kill or a stop signal."""

import csv
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import jax
import numpy as np
import pytest

from omd.outputs import UserError
from omd.sac.config import RunConfig, SACConfig
from omd.sac.outputs import train_and_save
from omd.sac.train import train

ROOT = Path(__file__).resolve().parents[1]
TINY = [
    "--env_name=InvertedPendulum-v5", "--max_steps=240", "--start_training=80", "--batch_size=16",
    "--log_interval=40", "--eval_interval=120", "--eval_episodes=1", "--checkpoint_interval=1000",
    "--config.hidden_dims=8,8", "--config.model_hidden_dim=4", "--config.num_ensemble_vep=2", "--notqdm",
]
ALGO_KEYS = {"omd": "outer_loss", "mle": "model_state_mse", "vep": "model_value_err", "sac": "critic_loss"}


def _cli(args, cwd=ROOT, script="mujoco/train.py"):
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run([sys.executable, script, *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=600)


def _rows(path):
    with open(path) as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize(
    "algo,extra,inside",
    [("omd", [], False), pytest.param("omd", ["--config.implicit=cg"], False, marks=pytest.mark.slow),
     ("mle", [], False), ("vep", [], False), ("sac", [], True)],
)
def test_every_algo_trains_through_the_cli(tmp_path, algo, extra, inside):
    args = [f"--config.algo={algo}", f"--save_dir={tmp_path}", *TINY, *extra]
    proc = _cli(args, cwd=ROOT / "mujoco", script="train.py") if inside else _cli(args)
    assert proc.returncode == 0, proc.stderr[-3000:]
    # Updates from step 80 to 240 inclusive; evaluations at 120 and 240.
    assert "Done: 240 steps, 161 updates, 2 evaluations" in proc.stdout
    txt = np.loadtxt(tmp_path / "42.txt")
    # One evaluation episode of InvertedPendulum (reward 1 a step upright, at most 1000 steps): a whole number.
    assert txt.shape == (2, 2) and list(txt[:, 0]) == [120, 240]
    assert np.all((txt[:, 1] >= 0) & (txt[:, 1] <= 1000) & (txt[:, 1] == np.round(txt[:, 1]))), txt
    evals = _rows(tmp_path / "42" / "eval.csv")
    assert [float(r["step"]) for r in evals] == [120.0, 240.0]
    np.testing.assert_allclose([float(r["episode_return"]) for r in evals], txt[:, 1], rtol=1e-6)  # both files agree
    train_rows = _rows(tmp_path / "42" / "train.csv")
    assert [float(r["step"]) for r in train_rows] == [40.0 * i for i in range(1, 7)]
    assert np.isfinite(float(train_rows[-1][ALGO_KEYS[algo]]))
    if algo in ("omd", "mle"):  # both model-based agents log their model's next-state error (Figure 6's claim)
        assert float(train_rows[-1]["model_state_mse"]) > 0
    assert list(evals[0]) == ["step", "episode_return"]  # CartPole's names (omd.columns)
    assert list(train_rows[0])[-3:] == ["episode_return", "episodes", "steps_per_second"]
    assert any(name.startswith("events") for name in os.listdir(tmp_path / "42" / "tb"))  # beside the CSVs
    assert not (tmp_path / "tb").exists()
    assert (tmp_path / "42" / "checkpoint.msgpack").exists()


def test_v2_id_stops_with_the_v5_name(tmp_path):
    proc = _cli(["--env_name=HalfCheetah-v2", f"--save_dir={tmp_path}"])
    assert proc.returncode != 0
    assert "HalfCheetah-v5" in proc.stderr and "mujoco-py" in proc.stderr


def _leaves(a, b):
    """The leaves of two agent states side by side; each run makes its own optimizers, static fields
    of its tree, so two runs' states are compared leaf by leaf rather than with ``jax.tree.map``."""
    la, lb = jax.tree.leaves(a), jax.tree.leaves(b)
    assert len(la) == len(lb)
    return zip(la, lb)


def _tiny_run(save_dir, **overrides):
    fields = dict(env_name="InvertedPendulum-v5", save_dir=str(save_dir), max_steps=240, start_training=80,
                  log_interval=40, eval_interval=80, eval_episodes=1, checkpoint_interval=100, tqdm=False)
    return RunConfig(**{**fields, **overrides})


def _tiny_agent(**overrides):
    return SACConfig(**{**dict(hidden_dims=(8, 8), model_hidden_dim=4, batch_size=16), **overrides})


@pytest.mark.parametrize(
    "agent_kw,run_kw,match",
    [
        ({"algo": "dyna"}, {}, "config.algo"),
        ({"implicit": "neumann"}, {}, "config.implicit"),
        ({}, {"env_name": "CartPole-v1"}, "continuous"),
        ({}, {"start_training": 8}, "--start_training"),
    ],
)
def test_bad_input_stops_before_training(tmp_path, agent_kw, run_kw, match):
    with pytest.raises(ValueError, match=match):
        train_and_save(_tiny_agent(**agent_kw), _tiny_run(tmp_path, **run_kw))
    assert not (tmp_path / "42" / "checkpoint.msgpack").exists()


def test_unwritable_save_dir_is_named(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(UserError, match="--save_dir"):
        train_and_save(_tiny_agent(), _tiny_run(blocker / "out"))


def test_killed_and_resumed_run_matches_an_uninterrupted_one(tmp_path):
    agent = _tiny_agent(algo="omd")
    whole = train_and_save(agent, _tiny_run(tmp_path / "whole", eval_episodes=2))
    # Killed at step 170: the checkpoint of step 100 survives, steps 101-170 are lost and redone.
    cut = train_and_save(agent, _tiny_run(tmp_path / "cut", eval_episodes=2), stop_after=170)
    assert cut["steps"] == 170
    resumed = train_and_save(agent, _tiny_run(tmp_path / "cut", eval_episodes=2))
    for key in ("steps", "updates", "evaluations", "episodes"):
        assert resumed[key] == whole[key], key
    assert whole["updates"] == 161 and whole["evaluations"] == 3
    assert resumed["eval_rows"] == whole["eval_rows"]
    assert all(np.array_equal(x, y) for x, y in _leaves(resumed["state"], whole["state"]))
    assert (tmp_path / "cut" / "42.txt").read_text() == (tmp_path / "whole" / "42.txt").read_text()
    assert _rows(tmp_path / "cut" / "42" / "eval.csv") == _rows(tmp_path / "whole" / "42" / "eval.csv")
    drop = lambda rows: [{k: v for k, v in r.items() if k != "steps_per_second"} for r in rows]  # noqa: E731
    assert drop(_rows(tmp_path / "cut" / "42" / "train.csv")) == drop(_rows(tmp_path / "whole" / "42" / "train.csv"))


def test_the_packed_state_carry_trains_as_the_pytree_one(tmp_path, monkeypatch):
    """The default carry, the state packed (``omd.flat``), against the state as its pytree.

    The kill-and-resume test above runs the default, so the packed carry resumes exactly.
    """
    import omd.sac.train as train_lib
    from omd.sac.env_step import make_env_step

    agent = _tiny_agent(algo="omd")
    whole = train_and_save(agent, _tiny_run(tmp_path / "whole"))
    steps = []
    monkeypatch.setattr(train_lib, "make_env_step", lambda *a: steps.append(make_env_step(*a, flat=False)) or steps[-1])
    tree = train_and_save(agent, _tiny_run(tmp_path / "tree"))
    assert len(steps) == 3 and not any(step.flat for step in steps)
    # Packing changes XLA's fusions (last-bit differences), so against the pytree run: close.
    np.testing.assert_allclose([r for _, r in whole["eval_rows"]], [r for _, r in tree["eval_rows"]], rtol=1e-3)
    for x, y in _leaves(whole["state"], tree["state"]):
        np.testing.assert_allclose(x, y, rtol=1e-3, atol=1e-5)
    rows, tree_rows = _rows(tmp_path / "whole" / "42" / "train.csv"), _rows(tmp_path / "tree" / "42" / "train.csv")
    assert [r.keys() for r in rows] == [r.keys() for r in tree_rows] and len(rows) == 6
    np.testing.assert_allclose([float(r["q"]) for r in rows[2:]], [float(r["q"]) for r in tree_rows[2:]], rtol=1e-3)


def test_the_loop_hands_its_metrics_and_snapshots_to_callbacks_and_writes_no_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    events, snapshots = [], []
    run = _tiny_run(tmp_path / "out")  # steps 240, learning from 80, logs every 40, evaluations every 80
    state, summary = train(_tiny_agent(algo="sac"), run, progress_fn=lambda step, m: events.append((step, m)),
                           checkpoint_fn=lambda step, snap: snapshots.append((step, sorted(snap))))
    assert list(tmp_path.iterdir()) == []
    train_rows = [(step, m) for step, m in events if "train/critic_loss" in m]
    assert [step for step, _ in train_rows] == [40 * i for i in range(1, 7)]
    assert np.isnan(train_rows[0][1]["train/critic_loss"]) and np.isfinite(train_rows[-1][1]["train/critic_loss"])
    assert {"train/episode_return", "train/episodes", "train/steps_per_second"} <= set(train_rows[0][1])
    evals = [[step, m["eval/episode_return"]] for step, m in events if "eval/episode_return" in m]
    assert evals == summary["eval_rows"] and [step for step, _ in evals] == [80, 160, 240]
    assert len([m for _, m in events if "episode/return" in m]) == summary["episodes"] > 0
    # Snapshots at the checkpoint interval (100) and the last step, with all a resume needs.
    assert [step for step, _ in snapshots] == [100, 200, 240]
    assert snapshots[0][1] == sorted(["agent", "buffer", "env", "eval_envs", "obs", "action", "counters"])
    assert summary["steps"] == 240 and summary["updates"] == 161 and not summary["stopped"]
    assert int(state.sac.critic.step) == 161


def test_checkpoint_write_is_atomic(tmp_path, monkeypatch):
    from omd import checkpoint

    path = tmp_path / "ckpt.msgpack"
    checkpoint.save(str(path), {"a": np.arange(3), "s": "first"})

    def killed(*_args):
        raise KeyboardInterrupt("killed while writing")

    monkeypatch.setattr(os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        checkpoint.save(str(path), {"a": np.arange(5), "s": "second"})
    monkeypatch.undo()
    loaded = checkpoint.load(str(path))
    assert loaded["s"] == "first" and list(loaded["a"]) == [0, 1, 2]
    assert os.listdir(tmp_path) == ["ckpt.msgpack"]


def test_a_stop_signal_checkpoints_after_the_step_and_the_resumed_run_matches(tmp_path, monkeypatch):
    from omd.sac import evaluation

    agent = _tiny_agent(algo="sac")
    whole = train_and_save(agent, _tiny_run(tmp_path / "whole"))
    evaluate, calls = evaluation.evaluate, []

    def evaluate_then_signal(*args, **kwargs):  # Slurm's warning arrives during the evaluation of step 160
        calls.append(1)
        if len(calls) == 2:
            os.kill(os.getpid(), signal.SIGUSR1)
        return evaluate(*args, **kwargs)

    monkeypatch.setattr(evaluation, "evaluate", evaluate_then_signal)
    cut = train_and_save(agent, _tiny_run(tmp_path / "cut"))
    monkeypatch.undo()
    assert cut["stopped_by"] == "SIGUSR1" and cut["steps"] == 160 and whole["stopped_by"] is None
    assert signal.getsignal(signal.SIGUSR1) == signal.SIG_DFL  # the handlers are put back
    resumed = train_and_save(agent, _tiny_run(tmp_path / "cut"))
    assert resumed["steps"] == 240 and resumed["updates"] == whole["updates"]
    assert resumed["eval_rows"] == whole["eval_rows"]
    assert all(np.array_equal(x, y) for x, y in _leaves(resumed["state"], whole["state"]))


def test_sigterm_stops_the_cli_with_a_checkpoint_and_the_same_command_resumes(tmp_path):
    from omd import checkpoint

    args = [f"--save_dir={tmp_path}", "--config.algo=sac", *TINY, "--max_steps=1000000"]
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "mujoco/train.py", *args], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    watchdog = threading.Timer(300, proc.kill)  # a run that never logs fails the test instead of hanging it
    watchdog.start()
    try:
        lines = []
        for line in proc.stdout:  # wait until it trains
            lines.append(line)
            if line.startswith("train |") and int(line.split("step")[1].split("|")[0]) >= 120:
                proc.send_signal(signal.SIGTERM)
                break
        out = "".join(lines) + proc.communicate()[0]
    finally:
        watchdog.cancel()
    assert proc.returncode == 128 + signal.SIGTERM, out[-3000:]
    assert "Stopped by SIGTERM" in out and "Run the same command to resume" in out
    step = json.loads(checkpoint.load(str(tmp_path / "42" / "checkpoint.msgpack"))["host"])["step"]
    assert 120 <= step < 1_000_000
    resumed = _cli([*args[:-1], f"--max_steps={step + 40}"])
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"from step {step}" in resumed.stdout and f"Done: {step + 40} steps" in resumed.stdout
