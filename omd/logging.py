"""Host-side logging: CSV files, TensorBoard events and a console line.

Training loops keep metrics on the device and hand them over once per log
interval; everything here runs on the host and never inside ``jit``.
"""

from __future__ import annotations

import csv
import math
import os
import time
from typing import Any, Mapping

import numpy as np


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
        self._tb = None
        if tensorboard:
            from tensorboardX import SummaryWriter

            self._tb = SummaryWriter(tb_dir or os.path.join(out_dir, "tb"))

    def log(self, kind: str, step: int, metrics: Mapping[str, Any]) -> dict[str, int | float]:
        row = {k: to_scalar(v) for k, v in metrics.items()}
        if kind in self._files:
            writer = self._writers.get(kind)
            if writer is None:
                f = self._files[kind]
                writer = csv.DictWriter(f, fieldnames=list(row), extrasaction="ignore", lineterminator="\n")
                if f.tell() == 0:
                    writer.writeheader()
                self._writers[kind] = writer
            writer.writerow(row)
            self._files[kind].flush()
        if self._tb is not None:
            for key, value in row.items():
                self._tb.add_scalar(f"{kind}/{key}", value, step)
        if self.console:
            print(self.prefix + format_line(kind, step, row), flush=True)
        return row

    def close(self) -> None:
        for f in self._files.values():
            f.close()
        if self._tb is not None:
            self._tb.close()

    def __enter__(self) -> "Logger":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def format_line(kind: str, step: int, row: Mapping[str, int | float]) -> str:
    parts = [f"{kind:>5} | step {step:>8d}"]
    for key, value in row.items():
        if key == "step":
            continue
        parts.append(f"{key} {value:.4g}" if isinstance(value, float) else f"{key} {value}")
    return " | ".join(parts)
