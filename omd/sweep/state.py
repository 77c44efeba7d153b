"""Per-job state on disk, written by the job wrapper, and the status derived from it.

Layout under a sweep's root (``runs/<basename>`` by default)::

  <job>/                         the job's output folder (the script's --out_dir / --save_dir)
  _sweep/jobs/<job>.json         what to run: command, output folder, working folder
  _sweep/state/<job>.json        latest attempt: running | done | failed, exit code, host, pid
  _sweep/state/<job>.history     one JSON line per finished attempt
  _sweep/state/<job>.slurm       Slurm id (<array>_<task>; <id> alone for one task) of the latest submission
  _sweep/logs/<job>.log          the job's stdout+stderr, appended across attempts
  _sweep/attempts/<job>/<n>/     outputs of a failed attempt that left no checkpoint, kept
  _sweep/slurm/                  submitit's sbatch scripts, pickles and per-task Slurm logs
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import socket
import time

DONE, RUNNING, QUEUED, FAILED, MISSING = "done", "running", "queued", "failed", "missing"


@dataclasses.dataclass(frozen=True)
class Layout:
    root: str

    @property
    def meta(self) -> str:
        return os.path.join(self.root, "_sweep")

    def out_dir(self, name: str) -> str:
        return os.path.join(self.root, name)

    def spec(self, name: str) -> str:
        return os.path.join(self.meta, "jobs", f"{name}.json")

    def state(self, name: str) -> str:
        return os.path.join(self.meta, "state", f"{name}.json")

    def history(self, name: str) -> str:
        return os.path.join(self.meta, "state", f"{name}.history")

    def lock(self, name: str) -> str:
        return os.path.join(self.meta, "state", f"{name}.lock")

    def slurm_id(self, name: str) -> str:
        return os.path.join(self.meta, "state", f"{name}.slurm")

    def log(self, name: str) -> str:
        return os.path.join(self.meta, "logs", f"{name}.log")

    def attempts(self, name: str) -> str:
        return os.path.join(self.meta, "attempts", name)

    @property
    def slurm_dir(self) -> str:
        return os.path.join(self.meta, "slurm")


def write_json(path: str, obj) -> None:
    """Atomic replace, so a reader never sees half a file."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def read_json(path: str):
    try:
        with open(path) as f:
            return json.load(f)
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def read_text(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read().strip() or None
    except FileNotFoundError:
        return None


def process_start_ticks(pid: int) -> int | None:
    """When ``pid`` started (clock ticks since boot), None once it has exited (a zombie included)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, IndexError):
        return None
    return None if fields[0] == "Z" else int(fields[19])


def _pid_alive(pid: int, start_ticks: int | None) -> bool:
    """True if ``pid`` runs and is the same process (its start time rules out a reused pid)."""
    ticks = process_start_ticks(pid)
    return ticks is not None and start_ticks in (None, ticks)


@dataclasses.dataclass(frozen=True)
class JobStatus:
    name: str
    state: str
    detail: str = ""
    attempt: int = 0


def exit_text(returncode: int | None) -> str:
    """``exit 143 (SIGTERM)``: the signal a job died of (negative) or stopped on (128 + number)."""
    text = f"exit {returncode}"
    if isinstance(returncode, int) and (returncode < 0 or 128 < returncode < 128 + signal.NSIG):
        number = -returncode if returncode < 0 else returncode - 128
        try:
            text += f" ({signal.Signals(number).name})"
        except ValueError:  # a number no signal has
            pass
    return text


def status(layout: Layout, name: str, slurm_states: dict[str, str] | None = None) -> JobStatus:
    """Combines the wrapper's state file with the scheduler's view.

    ``slurm_states`` maps '<array>_<task>' to squeue's state for jobs the scheduler still holds.
    """
    st = read_json(layout.state(name)) or {}
    sid = read_text(layout.slurm_id(name))
    attempt = int(st.get("attempt", 0))
    if st.get("state") == DONE:
        return JobStatus(name, DONE, f"exit 0, attempt {attempt}", attempt)
    ids = [i for i in (st.get("slurm_job") if st.get("state") == RUNNING else None, sid) if i]
    sl = next((slurm_states[i] for i in ids if slurm_states and i in slurm_states), None)
    sid = ids[0] if ids else None
    if sl is not None:
        if sl in ("PENDING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "SUSPENDED"):
            extra = " (requeued)" if attempt else ""
            return JobStatus(name, QUEUED, f"slurm {sid} {sl}{extra}", attempt)
        if st.get("state") == RUNNING or sl in ("RUNNING", "CONFIGURING", "COMPLETING"):
            if st.get("state") != FAILED:
                return JobStatus(name, RUNNING, f"slurm {sid} on {st.get('host', '?')}", attempt)
    if st.get("state") == FAILED:
        return JobStatus(name, FAILED, f"{exit_text(st.get('returncode'))}, attempt {attempt}, "
                         f"log {layout.log(name)}", attempt)
    if st.get("state") == RUNNING:
        if st.get("slurm_job"):
            if slurm_states is None:  # scheduler unreachable: trust the file
                return JobStatus(name, RUNNING, f"slurm {sid} (scheduler not queried)", attempt)
            return JobStatus(name, FAILED, f"slurm {sid} ended without an exit status "
                             "(killed: time limit, memory, node failure?); "
                             f"log {layout.log(name)}", attempt)
        if st.get("host") == socket.gethostname():
            if _pid_alive(int(st["pid"]), st.get("pid_start")):
                return JobStatus(name, RUNNING, f"pid {st['pid']}", attempt)
            return JobStatus(name, FAILED, f"process {st['pid']} gone without an exit status; "
                             f"log {layout.log(name)}", attempt)
        return JobStatus(name, RUNNING, f"on {st.get('host')} (not checkable from here)", attempt)
    if sid and slurm_states is not None:
        return JobStatus(name, FAILED, f"slurm {sid} ended before the job started; "
                         f"see {layout.slurm_dir}", attempt)
    if sid:
        return JobStatus(name, QUEUED, f"slurm {sid} (scheduler not queried)", attempt)
    return JobStatus(name, MISSING, "", attempt)


def new_attempt_record(name: str, attempt: int, cmd, slurm_job: str | None) -> dict:
    return {"name": name, "state": RUNNING, "attempt": attempt, "command": list(cmd),
            "host": socket.gethostname(), "pid": os.getpid(),
            "pid_start": process_start_ticks(os.getpid()), "slurm_job": slurm_job,
            "start": time.time()}
