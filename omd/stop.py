"""Stop a long run between steps when the scheduler or the user asks, instead of mid-step.

Slurm pre-empts a job with SIGTERM (then SIGKILL after its grace period), ``sbatch
--signal=USR1@T`` warns T seconds before the time limit, and Ctrl-C sends SIGINT. Inside
``StopRequest`` these only set ``signum``; the training loop reads it after each step,
writes a checkpoint and returns. A second Ctrl-C stops at once (KeyboardInterrupt), for a
user who will not wait for the checkpoint.
"""

from __future__ import annotations

import signal
import threading

SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1)


class StopRequest:
    """Context manager that records the first stop signal in ``signum`` (``None`` until one comes).

    Signal handlers can only be installed from the main thread; elsewhere it records nothing
    and the signals keep their handlers.
    """

    def __init__(self):
        self.signum: int | None = None
        self._previous: dict[int, object] = {}

    def __enter__(self) -> "StopRequest":
        if threading.current_thread() is threading.main_thread():
            for sig in SIGNALS:
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, _frame) -> None:
        if self.signum is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt
        if self.signum is None:
            self.signum = signum

    @property
    def name(self) -> str | None:
        return None if self.signum is None else signal.Signals(self.signum).name

    def __exit__(self, *exc) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)
        self._previous.clear()
