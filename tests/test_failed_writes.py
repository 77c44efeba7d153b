"""A failed output write (disk full, the output folder removed) stops either deep suite in one line
naming the file, the cause and the last good checkpoint, which is kept; the same command then resumes.

The CLI tests run the entry scripts through a small driver that, at a checkpoint boundary, either
makes the n-th ``os.fsync`` of a checkpoint or an export (TensorBoard's event files, synced at every
log row, are not counted) fail with ENOSPC, as a full disk does,
or really removes a folder the run writes to and puts a plain file in its place. Both work as root,
where a read-only folder would not stop a write.
"""

import csv
import errno
import json
import os
import subprocess
import sys

import pytest

from omd import checkpoint
from omd.logging import EventFile, Logger
from omd.outputs import WriteFailed, WriteGuard

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENOSPC = os.strerror(errno.ENOSPC)  # "No space left on device"
ENOENT = os.strerror(errno.ENOENT)  # "No such file or directory"

DRIVER = r"""
import errno, os, runpy, shutil, sys
mode, arg, script, *flags = sys.argv[1:]
if mode == "full":  # the arg-th fsync finds the disk full
    fsync, calls = os.fsync, []
    def full(fd):
        if "tfevents" in os.readlink(f"/proc/self/fd/{fd}"):
            return fsync(fd)
        calls.append(fd)
        if len(calls) == int(arg):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return fsync(fd)
    os.fsync = full
elif mode == "gone":  # once the first checkpoint is written, the folder arg goes and a plain file takes its place
    from omd import checkpoint
    save = checkpoint.save
    def save_then_remove(path, tree):
        save(path, tree)
        if os.path.isdir(arg):
            shutil.rmtree(arg)
            open(arg, "w").close()
    checkpoint.save = save_then_remove
sys.argv = [script, *flags]
sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
runpy.run_path(script, run_name="__main__")
"""


def drive(script, args, mode="none", arg=""):
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run([sys.executable, "-c", DRIVER, mode, arg, script, *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)


def error_line(proc):
    """The run's one-line error: exit status 1, no traceback, one ``error:`` line and it is the last."""
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    lines = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and proc.stderr.strip().splitlines()[-1] == lines[0], proc.stderr[-3000:]
    return lines[0]


def kept(path, step):
    return (f"the run stopped, keeping its last good checkpoint, {path} (step {step}); fix the cause and run the "
            "same command to resume.")


def checkpoint_step(path):
    return json.loads(checkpoint.load(str(path))["host"])["step"]


def steps(path):
    with open(path) as f:
        return [float(row["step"]) for row in csv.DictReader(f)]


# --- the shared pieces, in-process ------------------------------------------------------------------


def test_a_full_disk_keeps_the_old_checkpoint_and_names_the_file_not_its_temporary(tmp_path, monkeypatch):
    path = tmp_path / "checkpoint.msgpack"
    checkpoint.save(str(path), {"s": "first"})
    before = path.read_bytes()

    def full(_fd):
        raise OSError(errno.ENOSPC, ENOSPC)

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OSError) as err:
        checkpoint.save(str(path), {"s": "second"})
    assert (err.value.errno, err.value.strerror, err.value.filename) == (errno.ENOSPC, ENOSPC, str(path))
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["checkpoint.msgpack"]


def test_the_logger_names_the_file_when_its_folder_is_removed(tmp_path):
    import shutil

    with Logger(str(tmp_path / "run"), console=False, tb_dir=str(tmp_path / "tb")) as logger:
        logger.log("train", 1, {"step": 1, "r": 1.0})
        shutil.rmtree(tmp_path / "run")  # rows written now would vanish with the removed file
        with pytest.raises(FileNotFoundError) as err:
            logger.log("train", 2, {"step": 2, "r": 2.0})
        assert err.value.filename == str(tmp_path / "run" / "train.csv") and err.value.strerror == ENOENT
        shutil.rmtree(tmp_path / "tb")
        with pytest.raises(FileNotFoundError) as err:
            logger.log("episode", 2, {"return": 2.0})  # TensorBoard only
        assert os.path.dirname(err.value.filename) == str(tmp_path / "tb")


def test_event_file_writes_what_tensorboardx_writes(tmp_path):
    """The Logger's synchronous writer stands in for tensorboardX's SummaryWriter, event for event."""
    import struct

    from tensorboardX import SummaryWriter
    from tensorboardX.proto.event_pb2 import Event

    row = {"step": 100, "loss": 0.25, "episodes": 3}
    writer, events = SummaryWriter(str(tmp_path / "a")), EventFile(str(tmp_path / "b"))
    for key, value in row.items():
        writer.add_scalar(f"train/{key}", value, 100)
    events.add_scalars("train", 100, row)
    writer.close()
    events.close()

    def read(folder):
        (name,) = os.listdir(folder)
        data, out, i = (folder / name).read_bytes(), [], 0
        while i < len(data):
            (n,) = struct.unpack("Q", data[i:i + 8])
            event = Event()
            event.ParseFromString(data[i + 12:i + 12 + n])
            event.wall_time, i = 0, i + 16 + n
            out.append(event)
        return name, out

    (name_a, a), (name_b, b) = read(tmp_path / "a"), read(tmp_path / "b")
    assert name_b.startswith("events.out.tfevents.") and name_b.split(".")[-1] == name_a.split(".")[-1]
    assert len(a) == len(b) == 4 and a == b


def test_write_guard_says_which_checkpoint_is_kept(tmp_path):
    path = tmp_path / "checkpoint.msgpack"
    full = OSError(errno.ENOSPC, ENOSPC, str(tmp_path / "train.csv"))
    with pytest.raises(WriteFailed) as err:
        with WriteGuard(str(path), None, no_checkpoint="rerun with --overwrite"):
            raise full
    assert str(err.value) == (f"cannot write {tmp_path / 'train.csv'} ({ENOSPC}): the run stopped before its first "
                              "checkpoint, so there is none to resume; fix the cause and rerun with --overwrite.")
    path.write_bytes(b"saved")
    with pytest.raises(WriteFailed) as err, WriteGuard(str(path)) as guard:
        guard.saved(300)
        raise full
    assert str(err.value) == f"cannot write {tmp_path / 'train.csv'} ({ENOSPC}): {kept(path, 300)}"
    path.unlink()
    with pytest.raises(WriteFailed, match=r"\(step 300\), is gone too; fix the cause and run the same command"):
        with WriteGuard(str(path), 300):
            raise full
    with pytest.raises(ValueError), WriteGuard(str(path)):  # anything else passes through
        raise ValueError("not a write")


# --- end to end through the CLIs ----------------------------------------------------------------------

# Two seeds; checkpoints at 200 and 400, the end at 600; a train row every 100 steps.
CARTPOLE = ["--num_train_steps", "600", "--init_steps", "100", "--batch_size", "32", "--hidden_dim", "8",
            "--model_hidden_dim", "4", "--eval_frequency", "200", "--log_frequency", "100", "--num_eval_episodes", "2",
            "--notqdm", "--num_seeds", "2", "--checkpoint_interval", "200", "--save_agent"]


def test_cartpole_failed_writes_stop_in_one_line_and_the_same_command_resumes(tmp_path):
    out, ckpt = tmp_path / "out", tmp_path / "out" / "0" / "checkpoint.msgpack"
    args = ["--out_dir", str(out), "--agent_path", str(tmp_path / "agent.pkl"), *CARTPOLE]
    # A full disk at the second checkpoint (the second fsync): the first one stays.
    line = error_line(drive("cartpole/train.py", args, "full", "2"))
    assert line == f"error: cannot write {ckpt} ({ENOSPC}): {kept(ckpt, 200)}"
    assert checkpoint_step(ckpt) == 200 and sorted(os.listdir(ckpt.parent)) == [
        "checkpoint.msgpack", "eval.csv", "tb", "train.csv"]  # no temporary file left
    # The same command resumes; once its checkpoint of step 400 is written, seed 1's folder is removed (a
    # plain file in its place): its next row (the evaluation at 400) fails; the checkpoint, in seed 0's folder, stays.
    proc = drive("cartpole/train.py", args, "gone", str(out / "1"))
    assert "from step 200" in proc.stdout
    assert error_line(proc) == f"error: cannot write {out / '1' / 'eval.csv'} ({ENOENT}): {kept(ckpt, 400)}"
    assert checkpoint_step(ckpt) == 400
    # Once that is fixed, the same command resumes; a full disk at the agent export (its first fsync) stops it.
    os.remove(out / "1")
    proc = drive("cartpole/train.py", args, "full", "1")
    assert "from step 400" in proc.stdout
    assert error_line(proc) == f"error: cannot write {tmp_path / 'agent_0.pkl'} ({ENOSPC}): {kept(ckpt, 400)}"
    # And then it finishes, with every row once.
    proc = drive("cartpole/train.py", args)
    assert proc.returncode == 0 and "from step 400" in proc.stdout, proc.stderr[-3000:]
    for seed in ("0", "1"):
        assert steps(out / seed / "train.csv") == [100.0 * i for i in range(1, 7)]
        assert steps(out / seed / "eval.csv") == [0.0, 200.0, 400.0, 600.0]
        assert os.path.exists(tmp_path / f"agent_{seed}.pkl")
    assert not ckpt.exists()


# Checkpoints at 50 and 100 and at the end (120); a train row every 20 steps.
MUJOCO = ["--env_name=InvertedPendulum-v5", "--max_steps=120", "--start_training=32", "--batch_size=16",
          "--log_interval=20", "--eval_interval=60", "--eval_episodes=1", "--checkpoint_interval=50",
          "--config.hidden_dims=8,8", "--config.model_hidden_dim=4", "--notqdm", "--config.algo=sac"]


@pytest.mark.slow  # about 1 min of compiles; the shared WriteGuard is covered by the CartPole CLI test above
def test_mujoco_failed_writes_stop_in_one_line_and_the_same_command_resumes(tmp_path):
    ckpt = tmp_path / "42" / "checkpoint.msgpack"
    args = [f"--save_dir={tmp_path}", *MUJOCO]
    line = error_line(drive("mujoco/train.py", args, "full", "2"))
    assert line == f"error: cannot write {ckpt} ({ENOSPC}): {kept(ckpt, 50)}"
    assert checkpoint_step(ckpt) == 50 and not [n for n in os.listdir(ckpt.parent) if n.startswith(".tmp")]
    # Resumed; after the checkpoint of step 100 its TensorBoard folder goes: the next event fails.
    proc = drive("mujoco/train.py", args, "gone", str(tmp_path / "42" / "tb"))
    assert "from step 50" in proc.stdout
    line = error_line(proc)
    assert line.startswith(f"error: cannot write {tmp_path / '42' / 'tb' / 'events.out.tfevents.'}")
    assert line.endswith(f" ({ENOENT}): {kept(ckpt, 100)}") and checkpoint_step(ckpt) == 100
    os.remove(tmp_path / "42" / "tb")
    proc = drive("mujoco/train.py", args)
    assert proc.returncode == 0 and "from step 100" in proc.stdout, proc.stderr[-3000:]
    assert "Done: 120 steps" in proc.stdout
    assert steps(tmp_path / "42" / "train.csv") == [20.0 * i for i in range(1, 7)]
    assert steps(tmp_path / "42" / "eval.csv") == [60.0, 120.0]
