"""The MuJoCo trainer refuses nonsense before any compute, never replaces results, and stops on NaN."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from omd import checkpoint
from omd.sac import outputs as outputs_lib
from omd.outputs import UserError
from omd.sac.config import RunConfig, SACConfig
from omd.sac.outputs import train_and_save

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--env_name=InvertedPendulum-v5", "--max_steps=120", "--start_training=32", "--batch_size=16",
        "--log_interval=20", "--eval_interval=60", "--eval_episodes=1", "--checkpoint_interval=50",
        "--config.hidden_dims=8,8", "--config.model_hidden_dim=4", "--notqdm"]


def _cli(args):
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run([sys.executable, "mujoco/train.py", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)


def _run(save_dir, **overrides):
    fields = dict(env_name="InvertedPendulum-v5", save_dir=str(save_dir), max_steps=120, start_training=32,
                  log_interval=20, eval_interval=60, eval_episodes=1, checkpoint_interval=50, tqdm=False)
    return RunConfig(**{**fields, **overrides})


def _agent(**overrides):
    return SACConfig(**{**dict(algo="sac", hidden_dims=(8, 8), model_hidden_dim=4, batch_size=16), **overrides})


def _snapshot(root):
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(Path(root).rglob("*")) if p.is_file()}


@pytest.mark.parametrize("agent_kw, run_kw, flag", [
    ({"discount": 1.5}, {}, "--config.discount"),
    ({"discount": -0.1}, {}, "--config.discount"),
    ({"tau": 2.0}, {}, "--config.tau"),
    ({"tau": 0.0}, {}, "--config.tau"),
    ({"hidden_dims": (0, 32)}, {}, "--config.hidden_dims"),
    ({"hidden_dims": (-4, 32)}, {}, "--config.hidden_dims"),
    ({"critic_lr": float("nan")}, {}, "--config.critic_lr"),
    ({"actor_lr": 0.0}, {}, "--config.actor_lr"),
    ({"model_lr": -3e-4}, {}, "--config.model_lr"),
    ({"temp_lr": float("inf")}, {}, "--config.temp_lr"),
    ({"target_entropy": float("nan")}, {}, "--config.target_entropy"),
    ({"init_temperature": 0.0}, {}, "--config.init_temperature"),
    ({"outer_steps": 0}, {}, "--config.outer_steps"),
    ({"inner_steps": -1}, {}, "--config.inner_steps"),
    ({"target_update_period": 0}, {}, "--config.target_update_period"),
    ({"model_hidden_dim": 0}, {}, "--config.model_hidden_dim"),
    ({"num_ensemble_vep": 0}, {}, "--config.num_ensemble_vep"),
    ({"cg_damping": -1e-5}, {}, "--config.cg_damping"),
    ({"cg_maxiter": 0}, {}, "--config.cg_maxiter"),
    ({"batch_size": 0}, {}, "--batch_size"),
    ({"batch_size": 32}, {"replay_buffer_size": 10, "start_training": 32}, "--config.replay_buffer_size"),
    ({}, {"replay_buffer_size": 0}, "--config.replay_buffer_size"),
    ({}, {"seed": -1}, "--seed"),
    ({}, {"dim_distract": -2}, "--dim_distract"),
    ({}, {"eval_episodes": 0}, "--eval_episodes"),
    ({}, {"log_interval": 0}, "--log_interval"),
    ({}, {"eval_interval": -5}, "--eval_interval"),
    ({}, {"checkpoint_interval": 0}, "--checkpoint_interval"),
    ({}, {"max_steps": 0}, "--max_steps"),
])
def test_settings_that_cannot_make_sense_are_refused_naming_the_flag(tmp_path, agent_kw, run_kw, flag):
    with pytest.raises(ValueError, match=re.escape(flag)) as info:
        train_and_save(_agent(**agent_kw), _run(tmp_path, **run_kw))
    assert "range" in str(info.value) or "must be" in str(info.value)
    assert not os.path.exists(tmp_path / "42")


@pytest.mark.parametrize("args, flag", [
    (["--config.discount=1.5"], "--config.discount"),
    (["--config.hidden_dims=(-4,32)"], "--config.hidden_dims"),
    (["--config.critic_lr=nan"], "--config.critic_lr"),
    (["--config.replay_buffer_size=10", "--batch_size=32"], "--config.replay_buffer_size"),
    (["--config.discout=0.9"], "--config.discout"),  # a typo: one line with the closest key
])
def test_the_cli_refuses_in_one_line(tmp_path, args, flag):
    proc = _cli([f"--save_dir={tmp_path}", *TINY, *args])
    assert proc.returncode == 2  # a setting refused before any compute, as cartpole/train.py's
    assert flag in proc.stderr and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    if "discout" in flag:
        assert "closest: discount" in proc.stderr
    assert not os.path.exists(tmp_path / "42")


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished tiny run that was killed after its checkpoint of step 50 and resumed."""
    root = tmp_path_factory.mktemp("finished")
    train_and_save(_agent(), _run(root), stop_after=70)
    train_and_save(_agent(), _run(root))
    return root


@pytest.fixture
def done(finished, tmp_path):
    shutil.copytree(finished, tmp_path / "out")
    return tmp_path / "out"


def test_a_resumed_run_writes_one_line_ending(done):
    for name in ("train.csv", "eval.csv"):
        data = (done / "42" / name).read_bytes()
        assert b"\r" not in data and data.count(b"\n") > 2, name


def test_a_truncated_checkpoint_is_named_with_the_way_out(done):
    ckpt = done / "42" / "checkpoint.msgpack"
    ckpt.write_bytes(ckpt.read_bytes()[:1000])
    proc = _cli([f"--save_dir={done}", *TINY, "--config.algo=sac"])
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert str(ckpt) in proc.stderr and "unreadable" in proc.stderr and "--save_dir" in proc.stderr


def test_a_checkpoint_of_an_earlier_version_is_refused_in_one_line_naming_the_ways_out(done):
    ckpt = done / "42" / "checkpoint.msgpack"
    saved = checkpoint.load(str(ckpt))
    del saved["format"]  # as checkpoints written before the format version was recorded
    checkpoint.save(str(ckpt), saved)
    before = _snapshot(done)
    proc = _cli([f"--save_dir={done}", *TINY, "--config.algo=sac", "--max_steps=200"])
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    line = proc.stderr.strip().splitlines()[-1]
    assert line.startswith(f"error: {ckpt} was written by an earlier version of this code"), line
    assert "finish that run with the version that started it" in line and "--overwrite" in line
    assert str(done / "42.old-1") in line and "nothing is lost" in line
    assert _snapshot(done) == before


def test_finished_results_without_checkpoint_are_refused_then_moved_aside(done):
    (done / "42" / "checkpoint.msgpack").unlink()  # users delete checkpoints: each holds the whole replay buffer
    before = _snapshot(done)
    proc = _cli([f"--save_dir={done}", *TINY, "--config.algo=mle"])
    assert proc.returncode != 0 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert str(done / "42") in proc.stderr and "--overwrite" in proc.stderr
    assert _snapshot(done) == before  # byte-identical

    aside = re.search(r"move them to (\S+) ", proc.stderr).group(1)
    train_and_save(_agent(algo="mle"), _run(done, overwrite=True))
    # <seed>/* (its TensorBoard events in <seed>/tb) and <seed>.txt all in the folder the message named,
    # byte for byte.
    where = {"42/": ""}
    moved = {next((k.replace(a, b, 1) for a, b in where.items() if k.startswith(a)), k): v for k, v in before.items()}
    assert _snapshot(aside) == moved
    assert (done / "42" / "checkpoint.msgpack").exists() and (done / "42.txt").exists()


def test_overwrite_also_moves_the_events_of_a_run_started_before_they_moved_into_the_seed_folder(tmp_path):
    # Started with tb/<seed>/, resumed with <seed>/tb/: both sets of events go aside, neither replaces the other.
    for name in ("42/train.csv", "42/tb/events.new", "tb/42/events.old", "42.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(name)
    assert outputs_lib._move_aside(_run(tmp_path)) == str(tmp_path / "42.old-1")
    aside = tmp_path / "42.old-1"
    assert sorted(str(p.relative_to(aside)) for p in aside.rglob("*") if p.is_file()) == [
        "42.txt", "tb.legacy/events.old", "tb/events.new", "train.csv"]
    assert not (tmp_path / "42").exists() and not (tmp_path / "tb" / "42").exists()


def test_a_run_stopped_before_its_first_checkpoint_starts_again_but_a_finished_one_is_refused(tmp_path):
    agent, run = _agent(), _run(tmp_path)
    (tmp_path / "42").mkdir()
    (tmp_path / "42" / "train.csv").write_text("step,q\n20,0.5\n")
    info = {"fingerprint": outputs_lib._fingerprint(agent, run), "finished": False}
    (tmp_path / "42" / outputs_lib.RUN_INFO).write_text(json.dumps(info))
    ckpt, txt = str(tmp_path / "42" / outputs_lib.CHECKPOINT), str(tmp_path / "42.txt")
    assert outputs_lib._claim_outputs(run, outputs_lib._fingerprint(agent, run), ckpt, txt) is None
    assert (tmp_path / "42.old-1" / "train.csv").read_text() == "step,q\n20,0.5\n"

    (tmp_path / "42").mkdir()
    (tmp_path / "42" / "train.csv").write_text("step,q\n20,0.5\n")
    (tmp_path / "42" / outputs_lib.RUN_INFO).write_text(json.dumps({**info, "finished": True}))
    with pytest.raises(UserError, match="finished run.*--overwrite.*42.old-2"):
        outputs_lib._claim_outputs(run, outputs_lib._fingerprint(agent, run), ckpt, txt)


def test_a_run_gone_nan_stops_naming_step_algo_metric_and_keeps_the_good_checkpoint(tmp_path):
    proc = _cli([f"--save_dir={tmp_path}", *TINY, "--config.algo=sac", "--checkpoint_interval=20",
                 "--config.critic_lr=1e30", "--config.actor_lr=1e30", "--max_steps=200"])
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    found = re.search(r"sac on InvertedPendulum-v5, seed 42: (\w+) is not finite .* at step (\d+)", proc.stderr)
    assert found, proc.stderr[-2000:]
    step = int(found.group(2))
    saved = json.loads(checkpoint.load(str(tmp_path / "42" / "checkpoint.msgpack"))["host"])["step"]
    assert saved < step and saved % 20 == 0
    rows = (tmp_path / "42" / "train.csv").read_text().splitlines()
    assert rows[0].startswith("step,") and rows[-1].startswith(f"{step},")
    assert found.group(1) in rows[0].split(",")
