"""The shipped smoke sweep through the real CartPole CLI: dry run, a local run, status, plot."""

import os
import subprocess
import sys
import textwrap

import pandas as pd

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def with_results(args) -> list[str]:
    """Keeps finished jobs' copies beside a test's ``--root`` instead of in the repository's results/."""
    args = [str(a) for a in args]
    if "--root" in args and "--results" not in args:
        args += ["--results", args[args.index("--root") + 1] + "_results"]
    return args


def runner(*args, timeout=900):
    """``python runner.py ARGS`` from the repository root: ``(returncode, stdout, stderr)``."""
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "runner.py", *with_results(args)], capture_output=True,
                          text=True, cwd=REPO, env=env, timeout=timeout)
    return proc.returncode, proc.stdout, proc.stderr


def test_smoke_sweep_local(tmp_path):
    rc, out, err = runner("sweeps/smoke.py", "--dry-run", "--root", tmp_path)
    assert rc == 0, err
    lines = out.strip().splitlines()
    assert len(lines) == 2 and all(l.startswith("python cartpole/train.py --seed=0 ") for l in lines)
    assert all("--num_seeds=2" in l for l in lines)
    assert "checked against the scripts' flags" in err

    # one of the two jobs (2 vmapped seeds), to keep the default suite short
    rc, out, err = runner("sweeps/smoke.py", "--local", "--root", tmp_path, "--only", "omd")
    assert rc == 0, out + err
    job = tmp_path / "agent_type=omd,seeds=0-1"
    for seed in (0, 1):
        ev = pd.read_csv(job / str(seed) / "eval.csv")
        assert ev["step"].max() == 300 and ev["episode_return"].between(1, 500).all()
    rc, out, _ = runner("sweeps/smoke.py", "--status", "--root", tmp_path)
    assert "2 jobs: 1 done, 0 running, 0 queued, 0 failed, 1 missing" in out, out

    rc, out, err = runner("sweeps/smoke.py", "--plot", "--root", tmp_path)
    assert rc == 0, err
    assert "2/4 runs complete; 2 missing or partial" in out
    assert "missing  agent_type=mle,seeds=0-1 seed 0: no output" in err
    assert (tmp_path / "figures" / "smoke_curves.png").stat().st_size > 1000
    assert "| mle | 0/2 | – |" in (tmp_path / "figures" / "smoke.md").read_text()


def test_settings_the_typed_config_refuses_stop_the_sweep(tmp_path):
    """Checked in the runner through cartpole/train.py's config_from_flags, as the run checks them at start-up."""
    sweep = tmp_path / "bad.py"
    sweep.write_text(textwrap.dedent("""
        basename = "bad"
        grid = [dict(_main=["cartpole/train.py"], agent_type=["vep", "omd"], prob_model=[True], discount=[0.99, 1.5])]
        """))
    rc, out, err = runner(sweep, "--dry-run", "--root", tmp_path / "runs")
    assert rc == 2 and not out, out
    assert "--prob_model cannot be combined with --agent_type vep" in err and "job 'agent_type=vep,discount=0.99'" in err
    assert "--discount=1.5 is out of range; it must be finite and in [0, 1]; job 'agent_type=omd,discount=1.5'" in err
    assert "3 bad flag(s), nothing was run" in err
