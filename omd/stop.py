"""Stop a long run between steps when the scheduler or the user asks, instead of mid-step.

Slurm pre-empts a job with SIGTERM (then SIGKILL after its grace period), ``sbatch
--signal=USR1@T`` warns T seconds before the time limit, and Ctrl-C sends SIGINT. Inside
``StopRequest`` these only set ``signum``; the training loop reads it after each step,
writes a checkpoint and returns. A second Ctrl-C stops at once (KeyboardInterrupt), for a
user who will not wait for the checkpoint; only one a second or more after the first counts:
a Ctrl-C in a terminal reaches every process of the foreground group, and a sweep wrapper
forwards it to its job as well, so one key press can arrive twice within milliseconds.
"""

from __future__ import annotations

import signal
import threading
import time

SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1)


class StopRequest:
    """Context manager that records the first stop signal in ``signum`` (``None`` until one comes).

    Signal handlers can only be installed from the main thread; elsewhere it records nothing
    and the signals keep their handlers.
    """

    def __init__(self, repeat_after: float = 1.0):
        self.signum: int | None = None
        self.repeat_after = repeat_after  # seconds before a second SIGINT stops at once
        self._first = 0.0
        self._previous: dict[int, object] = {}

    def __enter__(self) -> "StopRequest":
        if threading.current_thread() is threading.main_thread():
            for sig in SIGNALS:
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, _frame) -> None:
        if self.signum is None:
            self.signum, self._first = signum, time.monotonic()
        elif signum == signal.SIGINT and time.monotonic() - self._first >= self.repeat_after:
            raise KeyboardInterrupt

    @property
    def name(self) -> str | None:
        return None if self.signum is None else signal.Signals(self.signum).name

    def __exit__(self, *exc) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)
        self._previous.clear()
