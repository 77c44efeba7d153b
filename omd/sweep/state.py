"""Per-job state on disk, written by the job wrapper, the status derived from it, and the copies of
finished jobs kept under version control (``results/<basename>``, docs/sweeps.md "Committed results").

Layout under a sweep's root (``runs/<basename>`` by default)::

  <job>/                         the job's output folder (the script's --out_dir / --save_dir)
  _sweep/jobs/<job>.json         what to run: command, output folder, working folder
  _sweep/state/<job>.json        latest attempt: running | done | failed, exit code, host, pid
  _sweep/state/<job>.history     one JSON line per finished attempt
  _sweep/state/<job>.slurm       Slurm id (<array>_<task>) of the latest submission
  _sweep/logs/<job>.log          the job's stdout+stderr, appended across attempts
  _sweep/attempts/<job>/<n>/     outputs of a failed attempt that left no checkpoint, kept
  _sweep/slurm/                  submitit's sbatch scripts, pickles and per-task Slurm logs

Stdlib only: the wrapper imports it without loading JAX.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import shutil
import signal
import socket
import time

DONE, RUNNING, QUEUED, FAILED, MISSING = "done", "running", "queued", "failed", "missing"
SLURM_WAITING = ("PENDING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "SUSPENDED")
SLURM_ACTIVE = ("RUNNING", "CONFIGURING", "COMPLETING")


@dataclasses.dataclass(frozen=True)
class Layout:
    root: str

    def out_dir(self, name: str) -> str:
        return os.path.join(self.root, name)

    def _meta(self, *parts: str) -> str:
        return os.path.join(self.root, "_sweep", *parts)

    def spec(self, name: str) -> str:
        return self._meta("jobs", f"{name}.json")

    def state(self, name: str, ext: str = "json") -> str:
        return self._meta("state", f"{name}.{ext}")

    def history(self, name: str) -> str:
        return self.state(name, "history")

    def lock(self, name: str) -> str:
        return self.state(name, "lock")

    def slurm_id(self, name: str) -> str:
        return self.state(name, "slurm")

    def log(self, name: str) -> str:
        return self._meta("logs", f"{name}.log")

    def attempts(self, name: str) -> str:
        return self._meta("attempts", name)

    @property
    def slurm_dir(self) -> str:
        return self._meta("slurm")


def write_text(path: str, text: str) -> None:
    """Atomic replace, so a reader never sees half a file."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def write_json(path: str, obj) -> None:
    write_text(path, json.dumps(obj, indent=1))


def read_text(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read().strip() or None
    except FileNotFoundError:
        return None


def read_json(path: str):
    try:
        return json.loads(read_text(path) or "")
    except json.JSONDecodeError:
        return None


def is_done(layout: Layout, name: str) -> bool:
    return (read_json(layout.state(name)) or {}).get("state") == DONE


def done_in(layout: Layout, archive: Layout, name: str) -> Layout | None:
    """Where job ``name`` is recorded done: its run folder first, else the committed results."""
    return next((where for where in (layout, archive) if is_done(where, name)), None)


def collect(layout: Layout, archive: Layout, name: str) -> bool:
    """Copies every *.csv and *.txt of job ``name``'s folder (no tb/, video/), then its state record,
    if it is done; True if copied. The record goes last, so an interrupted copy never counts as done."""
    if not is_done(layout, name):
        return False
    src, dest = layout.out_dir(name), archive.out_dir(name)
    for parent, dirs, files in os.walk(src):
        dirs[:] = sorted(d for d in dirs if d not in ("tb", "video", "_sweep") and not d.startswith("."))
        to = os.path.normpath(os.path.join(dest, os.path.relpath(parent, src)))
        for f in sorted(f for f in files if f.endswith((".csv", ".txt"))):
            os.makedirs(to, exist_ok=True)
            shutil.copy2(os.path.join(parent, f), os.path.join(to, f))
    write_json(archive.state(name), read_json(layout.state(name)))
    return True


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


def exit_text(returncode: int | None) -> str:
    """``exit 143 (SIGTERM)``: the signal a job died of (negative) or stopped on (128 + number)."""
    text = f"exit {returncode}"
    if isinstance(returncode, int) and (returncode < 0 or 128 < returncode < 128 + signal.NSIG):
        try:
            text += f" ({signal.Signals(-returncode if returncode < 0 else returncode - 128).name})"
        except ValueError:  # a number no signal has
            pass
    return text


def status(layout: Layout, name: str, slurm_states: dict[str, str] | None = None) -> JobStatus:
    """The wrapper's record combined with ``slurm_states`` ('<array>_<task>' -> squeue's state of
    the tasks Slurm still holds; None when squeue could not be asked, then the record is trusted)."""
    st = read_json(layout.state(name)) or {}
    kind, attempt = st.get("state"), int(st.get("attempt", 0))

    says = functools.partial(JobStatus, name)  # says(state, detail)
    log = f"log {layout.log(name)}"
    if kind == DONE:
        return says(DONE, f"exit 0, attempt {attempt}")
    # the running attempt's own Slurm id first, then the latest submission's
    ids = [i for i in (st.get("slurm_job") if kind == RUNNING else None, read_text(layout.slurm_id(name))) if i]
    held = next((slurm_states[i] for i in ids if i in (slurm_states or {})), None)
    sid = ids[0] if ids else None
    if held in SLURM_WAITING:
        return says(QUEUED, f"slurm {sid} {held}" + (" (requeued)" if attempt else ""))
    if held and kind != FAILED and (kind == RUNNING or held in SLURM_ACTIVE):
        return says(RUNNING, f"slurm {sid} on {st.get('host', '?')}")
    if kind == FAILED:
        return says(FAILED, f"{exit_text(st.get('returncode'))}, attempt {attempt}, {log}")
    if kind == RUNNING and st.get("slurm_job"):
        if slurm_states is None:
            return says(RUNNING, f"slurm {sid} (scheduler not queried)")
        return says(FAILED, f"slurm {sid} ended without an exit status (killed: time limit, memory, "
                            f"node failure?); {log}")
    if kind == RUNNING and st.get("host") != socket.gethostname():
        return says(RUNNING, f"on {st.get('host')} (not checkable from here)")
    if kind == RUNNING:
        if _pid_alive(int(st["pid"]), st.get("pid_start")):
            return says(RUNNING, f"pid {st['pid']}")
        return says(FAILED, f"process {st['pid']} gone without an exit status; {log}")
    if sid and slurm_states is not None:
        return says(FAILED, f"slurm {sid} ended before the job started; see {layout.slurm_dir}")
    return says(QUEUED, f"slurm {sid} (scheduler not queried)") if sid else says(MISSING, "")


def new_attempt_record(name: str, attempt: int, cmd, slurm_job: str | None) -> dict:
    return {"name": name, "state": RUNNING, "attempt": attempt, "command": list(cmd),
            "host": socket.gethostname(), "pid": os.getpid(),
            "pid_start": process_start_ticks(os.getpid()), "slurm_job": slurm_job,
            "start": time.time()}
