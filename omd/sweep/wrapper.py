"""Runs jobs and records how they ended: ``python omd/sweep/wrapper.py SPEC.json`` runs one job;
given several specs (the jobs of one Slurm array task) it runs them side by side, one wrapper each,
sharing out the task's cores.

Per job: skip if already done; refuse if another live process holds it; leave the outputs of a
failed attempt in place when they hold a checkpoint to resume from (``<seed>/checkpoint.msgpack``,
as both suites write), else keep them aside (nothing is overwritten); pin itself (and so the job)
to the cores in ``$OMD_CPUS``; run the command with its output appended to the job's log; write
the exit status atomically. Signals (Slurm's on pre-emption or time-out, Ctrl-C) go to the child
first, so a suite can checkpoint, and the attempt is recorded as failed until it runs again.
"""

from __future__ import annotations

import argparse
import fcntl
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import time

if __package__:
    from omd.sweep import cpus
    from omd.sweep import state as st
else:  # run as a file (how the runner starts it): importing the omd package would load JAX
    import cpus  # pylint: disable=import-error
    import state as st  # pylint: disable=import-error

COMMAND = [sys.executable, os.path.abspath(__file__)]  # how to start a wrapper

BUSY = 75  # EX_TEMPFAIL: another process runs this job
CHECKPOINT = "checkpoint.msgpack"  # what a resumable attempt leaves in a seed's folder


def _slurm_id() -> str | None:
    arr, task = os.environ.get("SLURM_ARRAY_JOB_ID"), os.environ.get("SLURM_ARRAY_TASK_ID")
    if arr and task:
        return f"{arr}_{task}"
    return os.environ.get("SLURM_JOB_ID")


def _set_aside(layout: st.Layout, name: str, out_dir: str, attempt: int) -> str | None:
    if not os.path.isdir(out_dir) or not os.listdir(out_dir):
        return None
    dest = os.path.join(layout.attempts(name), str(attempt))
    n = 0
    while os.path.exists(dest):  # never replace an earlier kept attempt
        n += 1
        dest = os.path.join(layout.attempts(name), f"{attempt}.{n}")
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    shutil.move(out_dir, dest)
    return dest


def _has_checkpoint(out_dir: str) -> bool:
    """Whether a failed attempt left a checkpoint to resume from: ``out_dir/[exp/]<seed>/checkpoint.msgpack``."""
    return any(glob.glob(os.path.join(out_dir, *["*"] * depth, CHECKPOINT)) for depth in (1, 2))


def run_job(spec: dict) -> int:
    # Signals go to the child once it runs. A stop that arrives earlier (the runner stopped
    # right after this job was recorded as running) is kept: the job is then recorded as failed,
    # instead of the wrapper dying with its record left at "running".
    child: list[subprocess.Popen] = []
    stops: list[int] = []

    def forward(signum, _frame):
        if child and child[0].poll() is None:
            child[0].send_signal(signum)
        elif signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            stops.append(signum)

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1, signal.SIGUSR2, signal.SIGHUP):
        signal.signal(sig, forward)
    layout = st.Layout(spec["root"])
    name, cmd, out_dir = spec["name"], spec["command"], spec["out_dir"]
    os.makedirs(os.path.dirname(layout.state(name)), exist_ok=True)
    lock = open(layout.lock(name), "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        print(f"[sweep] {name}: another process is running it; leaving it alone", flush=True)
        return BUSY
    prev = st.read_json(layout.state(name)) or {}
    if prev.get("state") == st.DONE:
        print(f"[sweep] {name}: already done", flush=True)
        return 0
    attempt = int(prev.get("attempt", 0)) + 1
    os.makedirs(os.path.dirname(layout.log(name)), exist_ok=True)
    log = open(layout.log(name), "a")
    moved = None
    if prev and not _has_checkpoint(out_dir):
        moved = _set_aside(layout, name, out_dir, int(prev.get("attempt", 0)))
    record = st.new_attempt_record(name, attempt, cmd, _slurm_id())
    st.write_json(layout.state(name), record)
    header = (f"=== {time.strftime('%Y-%m-%d %H:%M:%S')} attempt {attempt} of {name} on "
              f"{record['host']}" + (f" (slurm {record['slurm_job']})" if record["slurm_job"]
                                     else "") + " ===\n")
    if moved:
        header += f"=== previous attempt's outputs kept in {moved} ===\n"
    elif prev and _has_checkpoint(out_dir):
        header += f"=== resuming from the previous attempt's checkpoint in {out_dir} ===\n"
    log.write(header + "$ " + " ".join(cmd) + "\n")
    log.flush()
    cpus.pin_from_env()  # the job inherits the cores the runner gave this worker
    env = dict(os.environ, **spec.get("env", {}))
    os.makedirs(os.path.dirname(os.path.abspath(out_dir)), exist_ok=True)
    if stops:
        rc = -stops[0]
    else:
        child.append(subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=spec.get("cwd"), env=env))
        if stops:  # arrived while the child was being started
            child[0].send_signal(stops[0])
        rc = child[0].wait()
    record.update(state=st.DONE if rc == 0 else st.FAILED, returncode=rc, end=time.time())
    with open(layout.history(name), "a") as f:
        f.write(json.dumps(record) + "\n")
    st.write_json(layout.state(name), record)
    log.write(f"=== {st.exit_text(rc)} after {record['end'] - record['start']:.1f} s ===\n")
    log.close()
    print(f"[sweep] {name}: {'done' if rc == 0 else f'FAILED ({st.exit_text(rc)})'}", flush=True)
    return rc


def run_side_by_side(spec_paths: list[str]) -> int:
    """Runs one array task's jobs concurrently, each in a wrapper on its share of the cores."""
    procs = [subprocess.Popen(COMMAND + [path], env=dict(os.environ, **cores))
             for path, cores in zip(spec_paths, cpus.overlays(len(spec_paths)))]

    def forward(signum, _frame):
        for p in procs:
            if p.poll() is None:
                p.send_signal(signum)

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1, signal.SIGUSR2):
        signal.signal(sig, forward)
    codes = [p.wait() for p in procs]
    return next((c for c in codes if c != 0), 0)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("specs", nargs="+", help="job spec JSON files written by the runner")
    paths = parser.parse_args(argv).specs
    if len(paths) > 1:
        return run_side_by_side(paths)
    with open(paths[0]) as f:
        return run_job(json.load(f))


if __name__ == "__main__":
    sys.exit(main())
