"""The sweep runner against a real one-node Slurm cluster on localhost.

Brings the cluster up with .ci/slurm_up.sh (installs Debian's Slurm packages when missing),
submits the smoke sweep (CartPole), a sweep whose job fails, and a job that is requeued while it
runs (as on pre-emption), checks outputs and ``--status``, and shuts the cluster down.
Skipped without root or apt (a developer's laptop)."""

import os
import re
import shutil
import subprocess
import sys
import time

import pandas as pd
import pytest

from omd.sweep import state
from test_runner import write_fake_project, write_sweep
from test_runner_cartpole import with_results

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))

if os.geteuid() != 0 or (shutil.which("apt-get") is None and shutil.which("slurmctld") is None):
    pytest.skip("the Slurm test needs root and apt-get (Debian) to start a local cluster",
                allow_module_level=True)


SUBMITTED: list[str] = []  # array ids this test submitted, cancelled at teardown


@pytest.fixture(scope="module")
def cluster():
    up = subprocess.run(["bash", os.path.join(REPO, ".ci", "slurm_up.sh")], capture_output=True,
                        text=True, timeout=600)
    if up.returncode == 77:
        pytest.skip(f"no local Slurm: {up.stderr.strip()}")
    assert up.returncode == 0, up.stdout + up.stderr
    yield
    # without cgroups a job's processes outlive slurmd: cancel ours before stopping the daemons
    if SUBMITTED:
        subprocess.run(["scancel", *SUBMITTED], check=False)
        t0 = time.time()
        while time.time() - t0 < 30 and subprocess.run(
            ["squeue", "-h", "-j", ",".join(SUBMITTED)], capture_output=True,
            text=True).stdout.strip():
            time.sleep(0.5)
    subprocess.run(["bash", os.path.join(REPO, ".ci", "slurm_down.sh")], timeout=120)


def runner(*args, cwd=REPO):
    proc = subprocess.run([sys.executable, os.path.join(REPO, "runner.py"), *with_results(args)],
                          capture_output=True, text=True, cwd=cwd, env=ENV, timeout=600)
    SUBMITTED.extend(re.findall(r"submitted array (\d+)", proc.stdout))
    return proc.returncode, proc.stdout, proc.stderr


def wait_until(pred, timeout, what):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if pred():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def test_sweeps_on_slurm(cluster, tmp_path):
    smoke_root = tmp_path / "smoke"
    rc, out, err = runner("sweeps/smoke.py", "--slurm", "--root", smoke_root, "--time", "15")
    assert rc == 0, out + err
    assert "submitted array" in out and "2 tasks for 2 jobs" in out

    # a job that fails at start-up (flags valid, combination refused by the script); the runner's
    # own check refuses it too (tests/test_runner_cartpole.py), so it goes unchecked
    fail = write_sweep(tmp_path / "fail.py", """
        basename = "fail"
        grid = [dict(_main=["cartpole/train.py"], agent_type=["vep"], prob_model=[True],
                     num_train_steps=[300], seed=[0])]
        """)
    rc, out, err = runner(fail, "--slurm", "--root", tmp_path / "fail", "--no_validate")
    assert rc == 0, out + err

    # a job requeued while it runs, as Slurm does on pre-emption: it must run again and finish
    proj = write_fake_project(tmp_path / "proj")
    pre = write_sweep(tmp_path / "proj" / "pre.py", """
        basename = "pre"
        grid = [dict(_main=["fake_train.py"], seed=[0], sleep=[8.0])]
        """)
    rc, out, err = runner(pre, "--slurm", "--root", "runs/pre", cwd=proj)
    assert rc == 0, out + err
    pre_layout = state.Layout(os.path.join(proj, "runs", "pre"))
    wait_until(lambda: (state.read_json(pre_layout.state("default")) or {}).get("state") == "running",
               240, "the job to start")
    time.sleep(1.0)
    slurm_id = state.read_text(pre_layout.slurm_id("default"))
    subprocess.run(["scontrol", "requeue", slurm_id], check=True)
    wait_until(lambda: "(requeued)" in runner(pre, "--status", cwd=proj)[1], 60,
               "the requeued job to show as queued")

    def settled(args, cwd=REPO):
        out = runner(*args, "--status", cwd=cwd)[1]
        return "0 running, 0 queued" in out

    # "done on attempt 2", not merely "nothing queued": between the kill and the requeued start the job
    # can be briefly absent from squeue.
    def requeued_done():
        out = runner(pre, "--status", cwd=proj)[1]
        return "done     default" in out and "attempt 2" in out

    wait_until(requeued_done, 240, "the requeued job to finish on its second attempt")
    wait_until(lambda: settled(["sweeps/smoke.py", "--root", smoke_root]), 300,
               "the smoke sweep to finish")
    wait_until(lambda: settled([fail, "--root", tmp_path / "fail"]), 120, "the failing job")

    rc, out, _ = runner("sweeps/smoke.py", "--status", "--root", smoke_root)
    assert rc == 0 and "2 jobs: 2 done, 0 running, 0 queued, 0 failed, 0 missing" in out, out
    for name, seeds in (("agent_type=omd,seeds=0-1", (0, 1)), ("agent_type=mle,seeds=0-1", (0, 1))):
        assert (smoke_root / "_sweep" / "logs" / f"{name}.log").is_file()
        for seed in seeds:
            ev = pd.read_csv(smoke_root / name / str(seed) / "eval.csv")
            assert ev["step"].max() == 300 and ev["episode_return"].notna().all()
            assert (smoke_root / name / str(seed) / "train.csv").is_file()
    assert len(list((smoke_root / "_sweep" / "slurm").glob("*_*.out"))) == 2  # log per task

    rc, out, _ = runner(fail, "--status", "--root", tmp_path / "fail")
    assert "1 jobs: 0 done, 0 running, 0 queued, 1 failed, 0 missing" in out, out
    assert "failed   default" in out and "exit 2" in out  # a usage error
    log = (tmp_path / "fail" / "_sweep" / "logs" / "default.log").read_text()
    assert "--prob_model cannot be combined with --agent_type vep" in log

    rc, out, _ = runner(pre, "--status", cwd=proj)
    assert "done     default" in out and "attempt 2" in out, out
    hist = (pre_layout.history("default") and open(pre_layout.history("default")).read())
    assert hist.count('"state": "failed"') == 1 and hist.count('"state": "done"') == 1

    # a rerun submits nothing new: finished jobs are skipped
    rc, out, _ = runner("sweeps/smoke.py", "--slurm", "--root", smoke_root)
    assert rc == 0 and "2 jobs; 0 to run; skipping 2 done" in out
    rc, out, _ = runner("sweeps/smoke.py", "--plot", "--root", smoke_root)
    assert rc == 0 and "4/4 runs complete" in out
