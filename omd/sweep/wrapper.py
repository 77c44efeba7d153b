"""Runs one job and records how it ended: ``python omd/sweep/wrapper.py SPEC.json``, where a spec is
``{"name", "root", "command", "out_dir", "cwd"}``, written by the runner (``_sweep/jobs/<job>.json``).

Per job: skip it if done; leave it to another live process that holds it; keep a failed attempt's
outputs in place when they hold a checkpoint to resume from, else move them aside (nothing is
overwritten); run the command pinned to the cores in ``$OMD_CPUS``, its output appended to the job's
log; write the exit status atomically. Signals (Slurm's on pre-emption or time-out, Ctrl-C) go to
the job first, so that it can checkpoint; the attempt counts as failed until it runs again.
"""

from __future__ import annotations

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

BUSY = 75  # EX_TEMPFAIL: another process runs this job
CHECKPOINT = "checkpoint.msgpack"  # what both suites leave in a seed's folder to resume from
SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1, signal.SIGUSR2, signal.SIGHUP)
STOPS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def _slurm_id() -> str | None:
    arr, task = os.environ.get("SLURM_ARRAY_JOB_ID"), os.environ.get("SLURM_ARRAY_TASK_ID")
    return f"{arr}_{task}" if arr and task else os.environ.get("SLURM_JOB_ID")


def _set_aside(layout: st.Layout, name: str, out_dir: str, attempt: int) -> str | None:
    if not os.path.isdir(out_dir) or not os.listdir(out_dir):
        return None
    dest, n = os.path.join(layout.attempts(name), str(attempt)), 0
    while os.path.exists(dest):  # never replace an earlier kept attempt
        n += 1
        dest = os.path.join(layout.attempts(name), f"{attempt}.{n}")
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    shutil.move(out_dir, dest)
    return dest


def _has_checkpoint(out_dir: str) -> bool:
    """``out_dir/[exp/]<seed>/checkpoint.msgpack``: a failed attempt that can continue where it stopped."""
    return any(glob.glob(os.path.join(out_dir, *["*"] * depth, CHECKPOINT)) for depth in (1, 2))


def run_job(spec: dict) -> int:
    # A stop that arrives before the job runs (the runner stopped right after this job was recorded
    # as running) is kept, so the attempt is recorded as failed instead of left at "running".
    child: list[subprocess.Popen] = []
    stops: list[int] = []

    def forward(signum, _frame):
        if child and child[0].poll() is None:
            child[0].send_signal(signum)
        elif signum in STOPS:
            stops.append(signum)

    for sig in SIGNALS:
        signal.signal(sig, forward)
    layout = st.Layout(spec["root"])
    name, cmd, out_dir = spec["name"], spec["command"], spec["out_dir"]
    os.makedirs(os.path.dirname(layout.state(name)), exist_ok=True)
    lock = open(layout.lock(name), "w")  # pylint: disable=consider-using-with  (held until exit)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        print(f"[sweep] {name}: another process is running it; leaving it alone", flush=True)
        return BUSY
    prev = st.read_json(layout.state(name)) or {}
    if prev.get("state") == st.DONE:
        print(f"[sweep] {name}: already done", flush=True)
        return 0
    resume = bool(prev) and _has_checkpoint(out_dir)
    moved = _set_aside(layout, name, out_dir, int(prev.get("attempt", 0))) if prev and not resume else None
    record = st.new_attempt_record(name, int(prev.get("attempt", 0)) + 1, cmd, _slurm_id())
    st.write_json(layout.state(name), record)
    os.makedirs(os.path.dirname(layout.log(name)), exist_ok=True)
    with open(layout.log(name), "a") as log:
        slurm = f" (slurm {record['slurm_job']})" if record["slurm_job"] else ""
        log.write(f"=== {time.strftime('%Y-%m-%d %H:%M:%S')} attempt {record['attempt']} of {name} on "
                  f"{record['host']}{slurm} ===\n")
        if moved:
            log.write(f"=== previous attempt's outputs kept in {moved} ===\n")
        elif resume:
            log.write(f"=== resuming from the previous attempt's checkpoint in {out_dir} ===\n")
        log.write("$ " + " ".join(cmd) + "\n")
        log.flush()
        cpus.pin_from_env()  # the job inherits the cores the runner gave this worker
        os.makedirs(os.path.dirname(os.path.abspath(out_dir)), exist_ok=True)
        if not stops:
            child.append(subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=spec.get("cwd")))
            if stops:  # arrived while the job was being started
                child[0].send_signal(stops[0])
        rc = child[0].wait() if child else -stops[0]
        record.update(state=st.DONE if rc == 0 else st.FAILED, returncode=rc, end=time.time())
        with open(layout.history(name), "a") as f:
            f.write(json.dumps(record) + "\n")
        st.write_json(layout.state(name), record)
        log.write(f"=== {st.exit_text(rc)} after {record['end'] - record['start']:.1f} s ===\n")
    print(f"[sweep] {name}: {'done' if rc == 0 else f'FAILED ({st.exit_text(rc)})'}", flush=True)
    return rc


def main(paths: list[str]) -> int:
    if len(paths) != 1:
        sys.exit(f"usage: {sys.argv[0]} SPEC.json  (one job; a Slurm task starts one wrapper per job)")
    with open(paths[0]) as f:
        return run_job(json.load(f))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
