"""Host-side logging: CSV files, TensorBoard events and a console line.

Training loops keep metrics on the device and hand them over once per log
interval; everything here runs on the host and never inside ``jit``. A write
that fails raises ``OSError`` naming its file, in the caller's thread, so that
``omd.outputs.WriteGuard`` can stop the run in one line.
"""

from __future__ import annotations

import csv
import math
import os
import errno
import socket
import time
from typing import Any, Mapping

import numpy as np

from omd.outputs import check_linked, naming


def to_scalar(value: Any) -> int | float:
    """A Python int for integer values (steps, episodes), else a float."""
    array = np.asarray(value)
    if np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.bool_):
        return int(array)
    return float(array)


class StepTimer:
    """Environment steps per second between successive calls to ``rate``."""

    def __init__(self, step: int = 0):
        self._step, self._time = step, time.perf_counter()

    def rate(self, step: int) -> float:
        now = time.perf_counter()
        elapsed, done = now - self._time, step - self._step
        self._step, self._time = step, now
        return done / elapsed if elapsed > 0 else math.nan


class Logger:
    """Writes ``out_dir/<kind>.csv`` rows, TensorBoard scalars ``<kind>/<key>`` and a console line.

    The CSV header comes from the first row of each kind; later rows must carry
    the same keys (missing ones are written empty) so columns never shift.
    """

    def __init__(
        self,
        out_dir: str,
        csv_names: tuple[str, ...] = ("train", "eval"),
        tensorboard: bool = True,
        console: bool = True,
        tb_dir: str | None = None,
        prefix: str = "",
    ):
        os.makedirs(out_dir, exist_ok=True)
        self.out_dir, self.console, self.prefix = out_dir, console, prefix
        # newline="" with the writers' "\n": one line ending, also in logs restored from a checkpoint.
        self._files = {name: open(os.path.join(out_dir, f"{name}.csv"), "a", newline="") for name in csv_names}
        self._writers: dict[str, csv.DictWriter] = {}
        self._tb = EventFile(tb_dir or os.path.join(out_dir, "tb")) if tensorboard else None

    def log(self, kind: str, step: int, metrics: Mapping[str, Any]) -> dict[str, int | float]:
        row = {k: to_scalar(v) for k, v in metrics.items()}
        if kind in self._files:
            f = self._files[kind]
            with naming(f.name):
                check_linked(f, f.name)  # rows written to a removed file would vanish without an error
                writer = self._writers.get(kind)
                if writer is None:
                    writer = csv.DictWriter(f, fieldnames=list(row), extrasaction="ignore", lineterminator="\n")
                    if f.tell() == 0:
                        writer.writeheader()
                    self._writers[kind] = writer
                writer.writerow(row)
                f.flush()
        if self._tb is not None:
            self._tb.add_scalars(kind, step, row)
        if self.console:
            print(self.prefix + format_line(kind, step, row), flush=True)
        return row

    def close(self) -> None:
        """Close every file, then raise the first failure (a last buffered write that did not fit, say)."""
        failed = []
        for f in self._files.values():
            try:
                with naming(f.name):
                    f.close()
            except OSError as err:
                failed.append(err)
        if self._tb is not None:
            try:
                self._tb.close()
            except OSError as err:
                failed.append(err)
        if failed:
            raise failed[0]

    def __enter__(self) -> "Logger":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class EventFile:
    """TensorBoard scalars in ``logdir/events.out.tfevents.<time>.<host>``, written in the caller's thread.

    tensorboardX's ``SummaryWriter`` writes from a background thread, where a failed write
    prints a traceback and ends that thread while the run goes on without its events; here
    tensorboardX's own ``RecordWriter`` writes its ``Event`` protos in the training loop, so a
    failure raises there, naming the file.
    """

    def __init__(self, logdir: str):
        from tensorboardX.proto.event_pb2 import Event
        from tensorboardX.record_writer import RecordWriter

        os.makedirs(logdir, exist_ok=True)
        self.path = os.path.join(logdir, f"events.out.tfevents.{str(time.time())[:10]}.{socket.gethostname()}")
        with naming(self.path):
            self._writer = RecordWriter(self.path)
        self._write([Event(wall_time=time.time(), file_version="brain.Event:2")])

    def add_scalars(self, kind: str, step: int, row: Mapping[str, int | float]) -> None:
        """One scalar ``<kind>/<key>`` per entry of ``row``, at ``step``."""
        from tensorboardX.proto.event_pb2 import Event
        from tensorboardX.summary import scalar

        now = time.time()
        self._write([Event(wall_time=now, step=int(step), summary=scalar(f"{kind}/{key}", value))
                     for key, value in row.items()])

    def _write(self, events: list) -> None:
        with naming(self.path):
            if not os.path.isfile(self.path):  # events written to a removed file would vanish without an error
                raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), self.path)
            for event in events:
                self._writer.write(event.SerializeToString())
            self._writer.flush()

    def close(self) -> None:
        with naming(self.path):
            self._writer.close()


def format_line(kind: str, step: int, row: Mapping[str, int | float]) -> str:
    parts = [f"{kind:>5} | step {step:>8d}"]
    for key, value in row.items():
        if key == "step":
            continue
        parts.append(f"{key} {value:.4g}" if isinstance(value, float) else f"{key} {value}")
    return " | ".join(parts)
