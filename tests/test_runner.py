"""Sweep runner: grids -> jobs, flag checks, local runs, reruns, status, plots.

Uses small absl fixture scripts written into a temporary folder, so these tests do not depend on
the CartPole and MuJoCo suites (their end-to-end runs are in test_runner_cartpole.py)."""

import json
import math
import os
import shutil
import subprocess
import sys
import textwrap
import time

import numpy as np
import pandas as pd
import pytest

import runner
from omd.sweep import cpus, local, results, slurm, spec, state

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

FAKE_TRAIN = textwrap.dedent('''\
    """Fixture trainer: writes out_dir/<seed>/{eval,train}.csv like cartpole/train.py."""
    import os, sys, time
    from absl import app, flags
    flags.DEFINE_string("out_dir", "out", "output root")
    flags.DEFINE_integer("seed", 0, "first seed")
    flags.DEFINE_integer("num_seeds", 1, "seeds trained together")
    flags.DEFINE_integer("num_train_steps", 300, "steps")
    flags.DEFINE_integer("eval_frequency", 100, "steps between evaluations")
    flags.DEFINE_enum("agent_type", "omd", ["omd", "mle", "vep"], "agent")
    flags.DEFINE_integer("model_hidden_dim", 32, "model width")
    flags.DEFINE_bool("hard", False, "hard max")
    flags.DEFINE_integer("exit_code", 0, "exit with this code after writing")
    flags.DEFINE_integer("stop_at", -1, "stop logging after this step (a partial run)")
    flags.DEFINE_float("sleep", 0.0, "seconds to sleep before writing")
    FLAGS = flags.FLAGS

    def ret(agent, width, seed, step, total):
      base = {"omd": 400.0, "mle": 300.0, "vep": 100.0}[agent] + width
      return base * step / total + seed

    def main(_):
      time.sleep(FLAGS.sleep)
      for seed in range(FLAGS.seed, FLAGS.seed + FLAGS.num_seeds):
        d = os.path.join(FLAGS.out_dir, str(seed))
        if os.path.exists(d):
          sys.exit(f"{d} exists: refusing to overwrite")
        os.makedirs(d)
        n = FLAGS.num_train_steps
        with open(os.path.join(d, "eval.csv"), "w") as f:
          f.write("episode,step,episode_return\\n")
          for i, step in enumerate(range(FLAGS.eval_frequency, n + 1, FLAGS.eval_frequency)):
            if 0 <= FLAGS.stop_at < step:
              break
            f.write(f"{i},{step},{ret(FLAGS.agent_type, FLAGS.model_hidden_dim, seed, step, n)}\\n")
        with open(os.path.join(d, "train.csv"), "w") as f:
          f.write("episode,step,next_state_error\\n")
          f.write(f"0,{n},{1.0 / FLAGS.model_hidden_dim + seed}\\n")
      print("trained", FLAGS.agent_type, "hard" if FLAGS.hard else "soft", flush=True)
      sys.exit(FLAGS.exit_code)

    if __name__ == "__main__":
      app.run(main)
    ''')

FAKE_CFG_TRAIN = textwrap.dedent('''\
    """Fixture MuJoCo-style trainer: ml_collections config, writes save_dir/<seed>.txt."""
    import os
    from absl import app, flags
    from ml_collections import config_flags
    flags.DEFINE_string("save_dir", "./tmp/", "output folder")
    flags.DEFINE_integer("seed", 42, "seed")
    config_flags.DEFINE_config_file("config", os.path.join(os.path.dirname(__file__), "cfg.py"),
                                    "agent config")
    FLAGS = flags.FLAGS

    def main(_):
      os.makedirs(FLAGS.save_dir, exist_ok=True)
      with open(os.path.join(FLAGS.save_dir, f"{FLAGS.seed}.txt"), "w") as f:
        for t in (1000, 2000):
          f.write(f"{t} {FLAGS.config.model_hidden_dim * t / 1000.0}\\n")

    if __name__ == "__main__":
      app.run(main)
    ''')

FAKE_CFG = textwrap.dedent('''\
    from ml_collections import config_dict
    def get_config():
      c = config_dict.ConfigDict()
      c.algo = "omd"
      c.model_hidden_dim = 64
      c.hidden_dims = (256, 256)
      return c
    ''')


def write_fake_project(root) -> str:
    """Writes the fixture scripts into ``root`` (the folder the runner is started from)."""
    root = str(root)
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, "fake_train.py"), "w") as f:
        f.write(FAKE_TRAIN)
    os.makedirs(os.path.join(root, "fakemj"), exist_ok=True)
    with open(os.path.join(root, "fakemj", "train.py"), "w") as f:
        f.write(FAKE_CFG_TRAIN)
    with open(os.path.join(root, "fakemj", "cfg.py"), "w") as f:
        f.write(FAKE_CFG)
    return root


def write_sweep(path, body: str) -> str:
    with open(path, "w") as f:
        f.write(textwrap.dedent(body))
    return str(path)


@pytest.fixture
def project(tmp_path, monkeypatch):
    write_fake_project(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PYTHONPATH", REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return tmp_path


def run_cli(capfd, *argv):
    rc = runner.main([str(a) for a in argv])
    sys.stdout.flush()
    sys.stderr.flush()
    out = capfd.readouterr()
    return rc, out.out, out.err


# ---------------------------------------------------------------- grids -> jobs

def test_product_names_from_varying_keys_only(tmp_path):
    path = write_sweep(tmp_path / "s.py", """
        basename = "b"
        grid = [dict(_main=["x.py"], agent_type=["omd", "mle"], lr=[0.1], seed=[0, 1, 2])]
        """)
    sw = spec.load(path)
    assert len(sw.jobs) == 6
    assert sw.varying == ("agent_type", "seed")
    assert sw.jobs[0].name == "agent_type=omd,seed=0"
    assert sw.jobs[0].flag_dict == {"agent_type": "omd", "lr": 0.1, "seed": 0}
    assert sw.jobs[-1].seeds == (2,)
    assert len({j.name for j in sw.jobs}) == 6


def test_several_grids_and_duplicates(tmp_path):
    path = write_sweep(tmp_path / "s.py", """
        basename = "b"
        grid = [dict(_main=["a/train.py"], k=[1, 2]),
                dict(_main=["a/train.py"], k=[2, 3]),
                dict(_main=["c/train.py"], k=[1])]
        """)
    sw = spec.load(path)
    names = [j.name for j in sw.jobs]
    assert names == ["a,k=1", "a,k=2", "a,k=3", "c,k=1"]  # overlapping point (k=2) runs once


def test_group_seeds_merges_contiguous_seeds(tmp_path):
    path = write_sweep(tmp_path / "s.py", """
        basename = "b"
        group_seeds = True
        grid = [dict(_main=["x.py"], agent_type=["omd", "mle"], seed=[0, 1, 2, 5])]
        """)
    sw = spec.load(path)
    got = {j.name: (j.flag_dict["seed"], j.flag_dict["num_seeds"], j.seeds) for j in sw.jobs}
    assert got == {"agent_type=omd,seeds=0-2": (0, 3, (0, 1, 2)),
                   "agent_type=omd,seeds=5": (5, 1, (5,)),
                   "agent_type=mle,seeds=0-2": (0, 3, (0, 1, 2)),
                   "agent_type=mle,seeds=5": (5, 1, (5,))}
    assert len(spec.load(path, group_seeds=False).jobs) == 8


def test_ungrouped_jobs_with_num_seeds_list_every_seed_they_run(tmp_path):
    """A grid that splits seeds into several jobs itself (``seed`` the first, ``num_seeds`` the
    count): each job stands for all its seeds, and the jobs pool into one cell."""
    path = write_sweep(tmp_path / "s.py", """
        basename = "b"
        grid = [dict(_main=["x.py"], agent_type=["omd"], seed=[0, 2], num_seeds=[2])]
        """)
    jobs = spec.load(path).jobs
    assert {j.name: j.seeds for j in jobs} == {"seed=0": (0, 1), "seed=2": (2, 3)}
    assert jobs[0].config_key() == jobs[1].config_key()


@pytest.mark.parametrize("body, message", [
    ('grid = [dict(seed=[0])]', "'_main'"),
    ('grid = [dict(_main=["x.py"], seed=[])]', "empty list"),
    ('grid = [dict(_main=["x.py"], num_seeds=[2], seed=[0])]\ngroup_seeds = True', "num_seeds"),
    ('grid = {"omd": dict(_main=["x.py"], seed=[0]), "mle": dict(_main=["x.py"], seed=[1])}',
     "dict of blocks .*must be a list"),
    ('grid = dict(seed=[0, 1])', "must be a list of dicts"),
    ('grid = "x.py"', "must be a list of dicts"),
])
def test_malformed_sweeps_are_refused(tmp_path, body, message):
    path = write_sweep(tmp_path / "s.py", 'basename = "b"\n' + body + "\n")
    with pytest.raises(spec.SweepError, match=message):
        spec.load(path)


@pytest.mark.parametrize("body, where, message", [
    ('basename = "b"\ngrid = [dict(_main=["x.py"], seed=[0, 1]\n', "s.py:2:", "'(' was never closed (the file does not parse)"),
    ('basename = "b"\n\ngrid = [dict(_main=["x.py"], seed=list(rang(3)))]\n', "s.py:3:", "NameError: name 'rang' is not defined"),
    ('basename = "b"\nseeds = [0]\n', "s.py:2:", "the file ends without defining 'grid'"),
])
def test_a_sweep_file_that_does_not_run_is_one_line(project, capfd, body, where, message):
    path = write_sweep(project / "s.py", body)
    rc, out, err = run_cli(capfd, path, "--dry-run")
    assert rc == 2 and not out
    assert err.count("\n") == 1 and where in err and message in err, err  # no traceback


def test_flag_spelling():
    assert spec.format_flag("hard", True) == "--hard"
    assert spec.format_flag("hard", False) == "--nohard"
    assert spec.format_flag("config.tanh", False) == "--config.tanh=False"
    assert spec.format_flag("config.hidden_dims", (64, 64)) == "--config.hidden_dims=(64, 64)"
    job = spec.Job("j", "m.py", (("config.algo", "mle"), ("config", "c.py"), ("seed", 1)))
    assert spec.command(job, "save_dir", "/o") == [
        "python", "m.py", "--config=c.py", "--seed=1", "--config.algo=mle", "--save_dir=/o"]


# ---------------------------------------------------------------- flag checks

def test_dry_run_prints_every_checked_command(project, capfd):
    path = write_sweep(project / "s.py", """
        basename = "dry"
        grid = [dict(_main=["fake_train.py"], agent_type=["omd", "vep"], hard=[True, False])]
        """)
    rc, out, err = run_cli(capfd, path, "--dry-run")
    assert rc == 0
    lines = out.strip().splitlines()
    assert len(lines) == 4
    assert lines[0] == ("python fake_train.py --agent_type=omd --hard "
                        "--out_dir=runs/dry/agent_type=omd,hard=True")
    assert "--nohard" in lines[1]
    assert "checked against the scripts' flags" in err
    assert not os.path.exists(project / "runs")  # nothing ran, nothing written


@pytest.mark.parametrize("grid, message", [
    ('agent_typ=["omd"]', "unknown flag --agent_typ for fake_train.py (did you mean --agent_type?)"),
    ('agent_type=["ddpg"]', "flag --agent_type for fake_train.py: bad value 'ddpg'"),
    ('model_hidden_dim=["wide"]', "flag --model_hidden_dim for fake_train.py: bad value 'wide'"),
    ('out_dir=["elsewhere"]', "flag --out_dir is set by the runner"),
])
def test_bad_flags_stop_before_anything_runs(project, capfd, grid, message):
    path = write_sweep(project / "s.py", f"""
        basename = "bad"
        grid = [dict(_main=["fake_train.py"], seed=[0, 1], {grid})]
        """)
    modes = ("--dry-run", "--local") if "agent_typ=" in grid else ("--dry-run",)
    for mode in modes:
        rc, out, err = run_cli(capfd, path, mode)
        assert rc == 2
        assert message in err
    assert not os.path.exists(project / "runs" / "bad")


def test_config_overrides_checked_against_the_config_file(project, capfd):
    ok = write_sweep(project / "ok.py", """
        basename = "mj"
        grid = [dict(_main=["fakemj/train.py"], seed=[1], **{"config.algo": ["omd", "mle"],
                     "config.model_hidden_dim": [8]})]
        """)
    rc, out, _ = run_cli(capfd, ok, "--dry-run")
    assert rc == 0 and "--config.model_hidden_dim=8 --save_dir=runs/mj/config.algo=mle" in out
    bad = write_sweep(project / "bad.py", """
        basename = "mj"
        grid = [dict(_main=["fakemj/train.py"], **{"config.model_hiden_dim": [8],
                     "config.algo": [3]})]
        """)
    rc, _, err = run_cli(capfd, bad, "--dry-run")
    assert rc == 2
    assert "--config.model_hiden_dim" in err and "no field 'model_hiden_dim'" in err
    assert "--config.algo" in err and "is str, got 3" in err


# ---------------------------------------------------------------- local runs

def _read_state(root, name):
    return state.read_json(state.Layout(root).state(name))


def test_local_run_rerun_skips_done_and_keeps_failed_outputs(project, capfd):
    path = write_sweep(project / "s.py", """
        basename = "loc"
        grid = [dict(_main=["fake_train.py"], agent_type=["omd", "mle"], seed=[0, 1]),
                dict(_main=["fake_train.py"], agent_type=["vep"], seed=[0], exit_code=[3])]
        """)
    rc, out, _ = run_cli(capfd, path, "--local", "--workers", 2)
    assert rc == 1
    root = project / "runs" / "loc"
    ok = "agent_type=omd,seed=0"
    bad = "agent_type=vep,seed=0,exit_code=3"
    assert f"failed   {bad}" in out and "exit 3" in out
    assert "4 done, 0 running, 0 queued, 1 failed, 0 missing" in out
    for name in ("agent_type=omd,seed=0", "agent_type=omd,seed=1", "agent_type=mle,seed=1"):
        seed = name[-1]
        df = pd.read_csv(root / name / seed / "eval.csv")
        assert list(df["step"]) == [100, 200, 300]
    log = (root / "_sweep" / "logs" / f"{ok}.log").read_text()
    assert "trained omd soft" in log and "=== exit 0" in log
    done_file = root / ok / "0" / "eval.csv"
    mtime = done_file.stat().st_mtime_ns

    # rerun: the four done jobs are skipped, the failed one runs again (attempt 2)
    rc, out, _ = run_cli(capfd, path, "--local", "--workers", 2)
    assert rc == 1
    assert "5 jobs; 1 to run; skipping 4 done" in out
    assert done_file.stat().st_mtime_ns == mtime
    assert _read_state(root, ok)["attempt"] == 1
    st = _read_state(root, bad)
    assert (st["state"], st["attempt"], st["returncode"]) == ("failed", 2, 3)
    # attempt 1's outputs were moved aside, not overwritten; attempt 2 wrote fresh ones
    assert (root / "_sweep" / "attempts" / bad / "1" / "0" / "eval.csv").is_file()
    assert (root / bad / "0" / "eval.csv").is_file()
    history = (root / "_sweep" / "state" / f"{bad}.history").read_text().splitlines()
    assert [json.loads(h)["attempt"] for h in history] == [1, 2]

    rc, out, _ = run_cli(capfd, path, "--status")
    assert rc == 0
    assert out.count("done     ") == 4 and out.count("failed   ") == 1


def test_status_running_killed_queued_missing(tmp_path):
    layout = state.Layout(str(tmp_path))
    # a live process (this one) -> running
    rec = state.new_attempt_record("live", 1, ["x"], None)
    state.write_json(layout.state("live"), rec)
    assert state.status(layout, "live", {}).state == state.RUNNING
    # a process that exited without writing its exit status -> failed
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    state.write_json(layout.state("dead"), dict(rec, pid=p.pid, pid_start=None))
    st = state.status(layout, "dead", {})
    assert st.state == state.FAILED and "without an exit status" in st.detail
    # a reused pid (other start time) is not mistaken for the job
    state.write_json(layout.state("reused"), dict(rec, pid_start=rec["pid_start"] + 1))
    assert state.status(layout, "reused", {}).state == state.FAILED
    # submitted to Slurm: pending, running, gone without a trace
    with open(layout.slurm_id("q"), "w") as f:
        f.write("7_3\n")
    assert state.status(layout, "q", {"7_3": "PENDING"}).state == state.QUEUED
    assert state.status(layout, "q", {"7_3": "RUNNING"}).state == state.RUNNING
    assert state.status(layout, "q", {}).state == state.FAILED
    state.write_json(layout.state("q"), dict(rec, slurm_job="7_3", state="running"))
    st = state.status(layout, "q", {})
    assert st.state == state.FAILED and "time limit" in st.detail
    state.write_json(layout.state("q"), dict(rec, slurm_job="7_3", state="done", returncode=0))
    assert state.status(layout, "q", {}).state == state.DONE
    assert state.status(layout, "never", {}).state == state.MISSING


def test_wrapper_refuses_a_job_another_process_holds(project):
    import fcntl  # pylint: disable=import-outside-toplevel
    layout = state.Layout(str(project / "runs" / "w"))
    spec_path = str(project / "spec.json")
    state.write_json(spec_path, {"name": "j", "root": layout.root, "out_dir": layout.out_dir("j"),
                                 "command": [sys.executable, "-c", "print('ran')"], "cwd": None})
    os.makedirs(os.path.dirname(layout.lock("j")), exist_ok=True)
    with open(layout.lock("j"), "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        rc = subprocess.run(local.WRAPPER + [spec_path]).returncode
    assert rc == 75 and state.read_json(layout.state("j")) is None
    rc = subprocess.run(local.WRAPPER + [spec_path]).returncode
    assert rc == 0 and state.read_json(layout.state("j"))["state"] == "done"


def test_a_stop_before_the_job_starts_is_recorded_as_a_failure(project, monkeypatch):
    """SIGTERM between the "running" record and the job's start (a runner killed right then)."""
    import signal  # pylint: disable=import-outside-toplevel
    from omd.sweep import wrapper  # pylint: disable=import-outside-toplevel
    layout = state.Layout(str(project / "runs" / "early"))
    marker = project / "ran"
    job = {"name": "j", "root": layout.root, "out_dir": layout.out_dir("j"), "cwd": None,
           "command": [sys.executable, "-c", f"open({str(marker)!r}, 'w')"]}
    monkeypatch.setattr(wrapper.cpus, "pin_from_env", lambda: os.kill(os.getpid(), signal.SIGTERM))
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1,
                                                       signal.SIGUSR2, signal.SIGHUP)}
    try:
        rc = wrapper.run_job(job)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    assert rc == -signal.SIGTERM and not marker.exists()
    record = state.read_json(layout.state("j"))
    assert record["state"] == "failed" and record["returncode"] == -signal.SIGTERM


def test_gpu_slots_pin_workers_and_turn_off_preallocation():
    got = local.slots(None, 2, ["0", "3"])
    assert [s["CUDA_VISIBLE_DEVICES"] for s in got] == ["0", "3", "0", "3"]
    assert all(s["XLA_PYTHON_CLIENT_PREALLOCATE"] == "false" for s in got)


def _core_probe(project, layout, name):
    """A job spec whose command prints the cores it may run on; returns the spec's path."""
    path = str(project / f"{name}.json")
    probe = "import os; print('cores', sorted(os.sched_getaffinity(0)))"
    state.write_json(path, {"name": name, "root": layout.root, "out_dir": layout.out_dir(name),
                            "command": [sys.executable, "-c", probe], "cwd": None})
    return path


def test_the_jobs_of_one_slurm_task_share_out_its_cores(project):
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        pytest.skip("needs two cores")
    layout = state.Layout(str(project / "runs" / "task"))
    paths = [_core_probe(project, layout, name) for name in ("a", "b")]
    assert slurm.Task(paths, requeue=False)() == 0  # what submitit calls on the node
    seen = []
    for name in ("a", "b"):
        with open(layout.log(name)) as f:
            seen.append(next(line for line in f if line.startswith("cores")).strip())
    assert seen == [f"cores {block}" for block in cpus.split(cores, 2)]


def test_exit_status_names_the_signal():
    assert state.exit_text(0) == "exit 0" and state.exit_text(1) == "exit 1"
    assert state.exit_text(143) == "exit 143 (SIGTERM)" and state.exit_text(130) == "exit 130 (SIGINT)"
    assert state.exit_text(-9) == "exit -9 (SIGKILL)" and state.exit_text(None) == "exit None"


def test_cpu_slots_share_out_the_cores(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0, 1, 2, 4, 5}, raising=False)
    assert cpus.split([0, 1, 2, 4, 5], 2) == [[0, 1, 2], [4, 5]]
    assert cpus.split([0, 1, 2, 4, 5], 5) == [[0], [1], [2], [4], [5]]
    assert cpus.split([0, 1], 3) is None and cpus.split([0, 1], 1) is None
    assert local.slots(None, 1, []) == [{"OMD_CPUS": c} for c in ("0", "1", "2", "4", "5")]
    assert local.slots(2, 1, []) == [{"OMD_CPUS": "0,1,2"}, {"OMD_CPUS": "4,5"}]
    assert local.slots(6, 1, []) == [{}] * 6  # more workers than cores: the OS shares them out
    assert local.slots(1, 1, []) == [{}]


def test_wrapper_pins_its_job_to_the_given_cores(project):
    layout = state.Layout(str(project / "runs" / "pin"))
    spec_path = _core_probe(project, layout, "j")
    core = max(os.sched_getaffinity(0))
    rc = subprocess.run(local.WRAPPER + [spec_path], env={**os.environ, cpus.ENV: str(core)}).returncode
    assert rc == 0
    with open(layout.log("j")) as f:
        assert f"cores [{core}]" in f.read()


FAKE_SBATCH = """#!/bin/sh
cp "$1" "$(dirname "$0")/submitted.sh"
echo "Submitted batch job 7"
"""


def test_the_array_carries_the_options(project, capfd, monkeypatch):
    """What reaches sbatch (a stand-in that keeps the script): the array, its throttle, resources, requeue."""
    bin_dir = project / "bin"
    os.makedirs(bin_dir)
    for name, text in (("sbatch", FAKE_SBATCH), ("srun", "#!/bin/sh\n"), ("squeue", "#!/bin/sh\n")):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    path = write_sweep(project / "s.py", """
        basename = "sb"
        grid = [dict(_main=["fake_train.py"], seed=list(range(7)))]
        """)
    rc, out, err = run_cli(capfd, path, "--slurm", "--time", "1:00:00", "--mem", "8G", "--cpus", 4, "--gpus", 1,
                           "--partition", "long", "--jobs_per_task", 2, "--max_parallel", 3,
                           "--sbatch_arg=--account=abc")
    assert rc == 0, err
    assert "submitted array 7: 4 tasks for 7 jobs" in out
    text = (bin_dir / "submitted.sh").read_text()
    for opt in ("--array=0-3%3", "--time=60", "--mem=8G", "--cpus-per-task=4", "--gpus-per-task=1",
                "--partition=long", "--requeue", "--account=abc", "--job-name=sb", f"--chdir={project}",
                f"--signal=USR1@{slurm.SIGNAL_DELAY_S}"):
        assert f"#SBATCH {opt}\n" in text, opt
    assert "export SUBMITIT_PREEMPT_SIGNAL=USR1" in text
    assert state.read_text(state.Layout(str(project / "runs" / "sb")).slurm_id("seed=6")) == "7_3"
    rc, out, _ = run_cli(capfd, path, "--status")
    assert "7 jobs: 0 done, 0 running, 0 queued, 7 failed" in out  # gone from the queue without a trace
    rc, _, _ = run_cli(capfd, path, "--slurm", "--no_requeue", "--only", "seed=0")
    assert "#SBATCH --no-requeue\n" in (bin_dir / "submitted.sh").read_text()
    assert run_cli(capfd, path, "--slurm", "--time", "soon")[0] == 2


def test_slurm_without_sbatch_says_so(project, capfd, monkeypatch):
    monkeypatch.setenv("PATH", str(project))
    path = write_sweep(project / "s.py", """
        basename = "ns"
        grid = [dict(_main=["fake_train.py"], seed=[0])]
        """)
    rc, _, err = run_cli(capfd, path, "--slurm", "--no_validate")
    assert rc == 2 and "sbatch not found" in err and "--local" in err


# ---------------------------------------------------------------- results

def test_mean_and_standard_error():
    a = pd.DataFrame({"step": [1, 2, 3], "r": [0.0, 1.0, 2.0]})
    b = pd.DataFrame({"step": [1, 2], "r": [2.0, 3.0]})
    c = results.mean_curve([a, b], "r")
    assert list(c["step"]) == [1, 2] and list(c["mean"]) == [1.0, 2.0]
    assert list(c["se"]) == pytest.approx([1.0, 1.0])
    # per cell: complete runs only, NaN left out, and the median beside the mean
    runs = pd.DataFrame({"series": "s", "x": [1] * 4 + [2] * 4 + [3], "seed": [0, 1, 2, 3] * 2 + [0],
                         "final": [1.0, 2.0, 6.0, math.nan, 1.0, 2.0, 600.0, 7.0, math.nan],
                         "state": ["complete"] * 7 + ["missing", "complete"], "note": [""] * 7 + ["x", ""],
                         "curve": [a] * 9})
    table, _ = results.aggregate(runs, results.PlotSpec(agent=None, x="x", metric="r"))
    one, two, three = (table.iloc[i] for i in range(3))
    assert (one["final_r"], one["seeds"], one["expected"]) == (3.0, 3, 4)
    assert one["final_r_se"] == pytest.approx(np.std([1, 2, 6], ddof=1) / math.sqrt(3))
    assert two["final_r_median"] == 2.0 and two["final_r"] == 201.0  # one runaway seed carries the mean
    assert three["seeds"] == 0 and math.isnan(three["final_r_median"])


def test_plot_writes_figures_and_reports_missing_and_partial(project, capfd):
    path = write_sweep(project / "s.py", """
        basename = "pl"
        grid = [dict(_main=["fake_train.py"], agent_type=["omd", "mle"], model_hidden_dim=[1, 4],
                     seed=[0, 1, 2], num_train_steps=[300])]
        plot = dict(agent="agent_type", x="model_hidden_dim", final_window=2,
                    table=[("next_state_error", "train")])
        """)
    # group the seeds (the fixture trains --num_seeds seeds in one process) to keep this quick;
    # mle with width 1 never runs: missing
    rc, _, _ = run_cli(capfd, path, "--local", "--group_seeds", "--only", "omd|dim=4")
    assert rc == 0
    root = project / "runs" / "pl"
    # a run killed after its first evaluation: partial
    cut = root / "agent_type=omd,model_hidden_dim=4,seeds=0-2" / "2" / "eval.csv"
    cut.write_text("\n".join(cut.read_text().splitlines()[:2]) + "\n")
    rc, out, err = run_cli(capfd, path, "--plot", "--group_seeds")
    assert rc == 0
    assert "missing  agent_type=mle,model_hidden_dim=1,seeds=0-2 seed 1: no output" in err
    assert "partial  agent_type=omd,model_hidden_dim=4,seeds=0-2 seed 2: last step 100 < 200" in err
    assert "8/12 runs complete; 4 missing or partial" in out
    table = pd.read_csv(root / "figures" / "pl.csv")
    row = table[(table.series == "omd") & (table.x == 1)].iloc[0]
    # last 2 evaluations (steps 200, 300) of omd width 1: 401 * (2/3 + 1) / 2 + seed, seeds 0..2
    per_seed = [401 * (200 / 300 + 1) / 2 + s for s in (0, 1, 2)]
    assert row["final_episode_return"] == pytest.approx(np.mean(per_seed))
    assert row["final_episode_return_se"] == pytest.approx(np.std(per_seed, ddof=1) / math.sqrt(3))
    assert row["final_episode_return_median"] == pytest.approx(np.median(per_seed))
    assert row["next_state_error"] == pytest.approx(1.0 + 1.0)  # 1/width + seed, mean over seeds
    row4 = table[(table.series == "omd") & (table.x == 4)].iloc[0]
    assert (row4["seeds"], row4["expected"]) == (2, 3) and "partial" in row4["missing_or_partial"]
    assert table[(table.series == "mle") & (table.x == 1)].iloc[0]["seeds"] == 0
    for stem in ("pl_curves", "pl_final"):
        for ext in ("png", "pdf"):
            assert (root / "figures" / f"{stem}.{ext}").stat().st_size > 1000
    md = (root / "figures" / "pl.md").read_text()
    assert "| omd | 1 | 3/3 |" in md and "| seeds 0, 1, 2: missing (no output) |" in md
    assert "| seed 2: partial (last step 100 < 200) |" in md


def test_plot_reads_mujoco_style_seed_files(project, capfd):
    path = write_sweep(project / "s.py", """
        basename = "mjp"
        grid = [dict(_main=["fakemj/train.py"], seed=[0, 1],
                     **{"config.model_hidden_dim": [2, 3]})]
        """)
    rc, _, _ = run_cli(capfd, path, "--local", "--workers", 2)
    assert rc == 0
    rc, out, _ = run_cli(capfd, path, "--plot")
    assert rc == 0 and "4/4 runs complete" in out
    table = pd.read_csv(project / "runs" / "mjp" / "figures" / "mjp.csv")
    assert sorted(table["final_episode_return"]) == [3.0, 4.5]  # mean of the 2 rows


def test_a_failed_attempt_with_a_checkpoint_keeps_its_folder(tmp_path):
    """A failed attempt that left ``<seed>/checkpoint.msgpack`` (either suite) restarts in the same folder so
    it continues from it; one without starts clean with the old outputs kept aside."""
    resume = ("import os, sys; d = os.path.join(sys.argv[1], '0'); os.makedirs(d, exist_ok=True); "
              "p = os.path.join(d, sys.argv[2]); done = os.path.exists(p); open(p, 'a').write('x'); "
              "sys.exit(0 if done else 1)")
    for name in ("checkpoint.msgpack", "other.txt"):
        layout = state.Layout(str(tmp_path / name))
        out = layout.out_dir("j")
        spec_path = str(tmp_path / f"{name}.json")
        state.write_json(spec_path, {"name": "j", "root": layout.root, "out_dir": out,
                                     "command": [sys.executable, "-c", resume, out, name], "cwd": None})
        codes = [subprocess.run(local.WRAPPER + [spec_path]).returncode
                 for _ in range(2)]
        kept = os.path.join(layout.attempts("j"), "1", "0", name)
        if name == "checkpoint.msgpack":
            assert codes == [1, 0] and open(os.path.join(out, "0", name)).read() == "xx"
            assert not os.path.exists(kept)
        else:
            assert codes == [1, 1] and open(os.path.join(out, "0", name)).read() == "x"
            assert open(kept).read() == "x"


def test_killing_the_runner_stops_its_jobs(project):
    path = write_sweep(project / "s.py", """
        basename = "kill"
        grid = [dict(_main=["fake_train.py"], seed=[0, 1, 2], sleep=[60.0])]
        """)
    proc = subprocess.Popen([sys.executable, os.path.join(REPO, "runner.py"), path, "--local",
                             "--workers", "1", "--no_validate"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    layout = state.Layout(str(project / "runs" / "kill"))
    t0 = time.time()
    while (state.read_json(layout.state("seed=0")) or {}).get("state") != "running":
        assert time.time() - t0 < 60 and proc.poll() is None
        time.sleep(0.2)
    wrapper_pid = state.read_json(layout.state("seed=0"))["pid"]
    proc.terminate()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "interrupted" in err
    st = state.read_json(layout.state("seed=0"))
    assert st["state"] == "failed" and st["returncode"] != 0
    t0 = time.time()
    while state._pid_alive(wrapper_pid, None):  # pylint: disable=protected-access
        assert time.time() - t0 < 10, "the job's wrapper outlived the runner"
        time.sleep(0.2)
    assert state.read_json(layout.state("seed=1")) is None  # never started


def test_status_notes_jobs_run_with_other_flags(project, capfd):
    body = """
        basename = "chg"
        grid = [dict(_main=["fake_train.py"], seed=[0], num_train_steps=[{}])]
        """
    path = write_sweep(project / "s.py", body.format(200))
    assert run_cli(capfd, path, "--local", "--no_validate")[0] == 0
    assert "NOTE" not in run_cli(capfd, path, "--status")[1]
    write_sweep(project / "s.py", body.format(300))
    rc, out, _ = run_cli(capfd, path, "--status")
    assert "done     default" in out and "NOTE: ran with other flags" in out


def test_finished_jobs_are_kept_in_results_and_count_as_done_from_a_fresh_clone(project, capfd):
    path = write_sweep(project / "s.py", """
        basename = "kept"
        grid = [dict(_main=["fake_train.py"], agent_type=["omd", "mle"], seed=[0, 1])]
        """)
    rc, _, _ = run_cli(capfd, path, "--local", "--workers", 2)
    assert rc == 0
    kept = project / "results" / "kept"
    job = "agent_type=omd,seed=0"
    assert (kept / job / "0" / "eval.csv").read_bytes() == (project / "runs" / "kept" / job / "0" / "eval.csv").read_bytes()
    assert _read_state(kept, job)["state"] == "done"
    # --collect copies CSV/TXT and the state record only, never checkpoints or TensorBoard events
    (project / "runs" / "kept" / job / "0" / "checkpoint.msgpack").write_bytes(b"x")
    os.makedirs(project / "runs" / "kept" / job / "0" / "tb")
    (project / "runs" / "kept" / job / "0" / "tb" / "events.csv").write_text("x")
    rc, out, _ = run_cli(capfd, path, "--collect")
    assert rc == 0 and "copied 4 done jobs of 4" in out
    assert sorted(os.listdir(kept / job / "0")) == ["eval.csv", "train.csv"]

    # a fresh clone holds results/ but no runs/: everything is done, nothing reruns, plots read results/
    shutil.rmtree(project / "runs")
    rc, out, _ = run_cli(capfd, path, "--status")
    assert "4 jobs: 4 done" in out and f"committed in results/kept/{job}" in out
    rc, out, _ = run_cli(capfd, path, "--local")
    assert rc == 0 and "4 jobs; 0 to run; skipping 4 done" in out
    assert not (project / "runs" / "kept" / job).exists()
    rc, out, _ = run_cli(capfd, path, "--plot", "--out", project / "fig")
    assert rc == 0 and "4/4 runs complete" in out
