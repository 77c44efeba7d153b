"""CartPole checkpoints and resume: a stopped or killed run, rerun with the same command,
finishes with exactly the outputs of an uninterrupted run; the sweep wrapper lets it resume."""

import csv
import json
import os
import pickle
import signal
import subprocess
import sys
import threading

import numpy as np
import pytest

from test_cartpole_cli import ROOT, run

TIMING = ("duration", "steps_per_second")
# Two vmapped seeds (sharded over the cores); checkpoints at 300, 600 and 900.
TINY = ["--num_train_steps", "1200", "--init_steps", "200", "--batch_size", "32", "--hidden_dim", "8",
        "--model_hidden_dim", "4", "--eval_frequency", "200", "--log_frequency", "100", "--num_eval_episodes", "2",
        "--notqdm", "--num_seeds", "2", "--notensorboard", "--checkpoint_interval", "300"]


def args_for(base, extra=()):
    return ["--out_dir", str(base / "out"), "--save_agent", "--agent_path", str(base / "agent.pkl"), "--save_buf",
            "--data_path", str(base / "buf.pkl"), *TINY, *extra]


def outputs(base):
    """Each seed's CSV rows without the timing columns, and its saved agent and replay buffer."""
    out = {}
    for seed in (0, 1):
        for name in ("train.csv", "eval.csv"):
            with open(base / "out" / str(seed) / name, newline="") as f:
                out[seed, name] = [{k: v for k, v in r.items() if k not in TIMING} for r in csv.DictReader(f)]
        for name in ("agent", "buf"):
            with open(base / f"{name}_{seed}.pkl", "rb") as f:
                out[seed, name] = pickle.load(f)
    return out


def assert_same(a, b):
    assert a.keys() == b.keys()
    for key in a:
        if key[1].endswith(".csv"):
            assert a[key] == b[key], key
        else:
            flat_a, flat_b = _flatten(a[key]), _flatten(b[key])
            assert flat_a.keys() == flat_b.keys(), key
            for name in flat_a:
                assert np.array_equal(flat_a[name], flat_b[name]), (key, name)  # bit for bit


def _flatten(tree, prefix=""):
    if isinstance(tree, dict):
        return {k: v for name, sub in tree.items() for k, v in _flatten(sub, f"{prefix}/{name}").items()}
    return {prefix: np.asarray(tree) if tree is not None else None}


@pytest.fixture(scope="module")
def whole(tmp_path_factory):
    base = tmp_path_factory.mktemp("whole")
    out = run(args_for(base))
    assert out.returncode == 0, out.stderr[-3000:]
    assert not os.path.exists(base / "out" / "0" / "checkpoint.msgpack")  # a finished run leaves none
    return outputs(base)


def start_and_signal(args, at_step, sig):
    """Start the CLI, send ``sig`` once it has logged a train row at ``at_step`` or later; (returncode, output)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "cartpole/train.py", *args], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    watchdog = threading.Timer(600, proc.kill)
    watchdog.start()
    try:
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if " train | step" in line and int(line.split("step")[1].split("|")[0]) >= at_step:
                proc.send_signal(sig)
                break
        text = "".join(lines) + proc.communicate()[0]
    finally:
        watchdog.cancel()
    return proc.returncode, text


def saved_step(base):
    from omd import checkpoint

    return json.loads(checkpoint.load(str(base / "out" / "0" / "checkpoint.msgpack"))["host"])["step"]


def forget_newer_flags(base):
    from omd import checkpoint

    path = str(base / "out" / "0" / "checkpoint.msgpack")
    saved = checkpoint.load(path)
    host = json.loads(saved["host"])
    for flag in ("without_replacement", "x64"):
        del host["fingerprint"][flag]
    checkpoint.save(path, {**saved, "host": json.dumps(host)})


def test_killed_then_stopped_run_resumes_to_the_uninterrupted_outputs(tmp_path, whole):
    args = args_for(tmp_path)
    # SIGKILL: the last periodic checkpoint survives; rows written after it are dropped and redone.
    rc, text = start_and_signal(args, 400, signal.SIGKILL)
    assert rc == -signal.SIGKILL, text[-3000:]
    killed_at = saved_step(tmp_path)
    assert killed_at in (300, 600, 900)
    # SIGTERM (Slurm's pre-emption) in the resumed run: a checkpoint at the next boundary and a message.
    rc, text = start_and_signal(args, killed_at + 200, signal.SIGTERM)
    assert rc == 128 + signal.SIGTERM, text[-3000:]
    assert f"from step {killed_at}" in text
    assert "Stopped by SIGTERM" in text and "Run the same command to resume" in text
    step = saved_step(tmp_path)
    assert killed_at + 200 <= step < 1200
    before = {p: p.read_bytes() for p in (tmp_path / "out").rglob("*") if p.is_file()}
    # Other settings are refused, naming the flag, and change nothing.
    other = run([*args, "--lr", "0.002"])
    assert other.returncode != 0 and "--lr" in other.stderr and "other settings" in other.stderr, other.stderr
    assert {p: p.read_bytes() for p in (tmp_path / "out").rglob("*") if p.is_file()} == before
    forget_newer_flags(tmp_path)  # as a checkpoint written before --without_replacement and --x64 existed
    resumed = run(args)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"from step {step}" in resumed.stdout
    assert_same(outputs(tmp_path), whole)
    assert not os.path.exists(tmp_path / "out" / "0" / "checkpoint.msgpack")
    # A finished run is neither resumed nor overwritten.
    again = run(args)
    assert again.returncode != 0 and "--overwrite" in again.stderr


def test_the_sweep_wrapper_keeps_a_resumable_cartpole_attempt_in_place(tmp_path):
    """A failed attempt that left ``<seed>/checkpoint.msgpack`` reruns in its folder; one without is set aside."""
    from omd.sweep import local, state

    script = ("import os, sys; d = os.path.join(sys.argv[1], sys.argv[2], '0'); os.makedirs(d, exist_ok=True); "
              "p = os.path.join(d, 'checkpoint.msgpack'); done = os.path.exists(p); "
              "open(os.path.join(d, 'train.csv'), 'a').write('x'); "
              "sys.exit(0 if done else (open(p, 'w').close() or 143) if sys.argv[3] == 'ckpt' else 1)")
    for mode, exp in (("ckpt", ""), ("ckpt", "exp"), ("none", "")):
        layout = state.Layout(str(tmp_path / f"{mode}{exp}"))
        out = layout.out_dir("j")
        spec_path = str(tmp_path / f"spec{mode}{exp}.json")
        state.write_json(spec_path, {"name": "j", "root": layout.root, "out_dir": out, "cwd": None,
                                     "command": [sys.executable, "-c", script, out, exp, mode]})
        codes = [subprocess.run(local.WRAPPER + [spec_path]).returncode for _ in range(2)]
        train_csv = os.path.join(out, exp, "0", "train.csv")
        if mode == "ckpt":
            assert codes == [143, 0] and open(train_csv).read() == "xx"
            assert not os.path.exists(layout.attempts("j"))
            assert "resuming from the previous attempt's checkpoint" in open(layout.log("j")).read()
        else:
            assert codes == [1, 1] and open(train_csv).read() == "x"
            assert open(os.path.join(layout.attempts("j"), "1", "0", "train.csv")).read() == "x"
