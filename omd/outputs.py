"""What both deep suites' output code shares: where replaced outputs go, which settings changed, and a
failed write that ends the run in one line.

Outputs a new run would replace are never deleted: ``aside_path`` names the first free
``<path>.old-<n>`` they are moved to. A checkpoint resumes only a run of the same settings:
``changed_settings`` lists those that differ, for the suite's one-line refusal.

A run writes its CSV rows, TensorBoard events, ``.txt`` returns, checkpoints and exports
through ordinary file calls. When one of them fails (disk full, the output folder removed or
made read-only while the run goes), ``WriteGuard`` turns the ``OSError`` into ``WriteFailed``,
whose message is one line: the file, the operating system's reason and the last good
checkpoint, which is kept (checkpoints are replaced atomically, ``omd.checkpoint``), or that
there is none yet. The entry scripts print it as they print other user errors, and the same
command resumes from that checkpoint once the cause is fixed.

``omd.soft_q.outputs.train_and_save`` (``cartpole/train.py``) and ``omd.sac.outputs.train_and_save``
(``mujoco/train.py``) wrap their training and exports in a ``WriteGuard``.
"""

from __future__ import annotations

import contextlib
import errno
import os
from typing import Any, Iterator, Mapping


def aside_path(path: str) -> str:
    """The first free ``<path>.old-<n>`` (n = 1, 2, ...): where outputs that a new run would replace are moved."""
    n = 1
    while os.path.exists(f"{path}.old-{n}"):
        n += 1
    return f"{path}.old-{n}"


def changed_settings(recorded: Mapping[str, Any], wanted: Mapping[str, Any],
                     defaults: Mapping[str, Any] | None = None) -> list[str]:
    """The keys of ``wanted`` whose value ``recorded`` (a checkpoint's settings) does not share, in ``wanted``'s order.

    A key ``recorded`` lacks (a setting added after it was written) counts as its value in ``defaults``.
    """
    defaults = defaults or {}
    return [k for k in wanted if recorded.get(k, defaults.get(k)) != wanted[k]]


class UserError(Exception):
    """An output folder or checkpoint the run must not use: one line naming the way out, exit status 1."""


class WriteFailed(Exception):
    """An output file could not be written; the message is one line naming it, the cause and the checkpoint kept."""


@contextlib.contextmanager
def naming(path: str) -> Iterator[None]:
    """Give an ``OSError`` raised inside the block ``path`` as its file when it names none.

    Writes and flushes through an open file object fail without a file name (``ENOSPC`` at
    ``flush``, say); this puts it back so that ``WriteGuard`` can say which file it was.
    """
    try:
        yield
    except OSError as err:
        if err.filename is None:
            raise type(err)(err.errno, err.strerror or str(err), path) from None
        raise


def check_linked(file, path: str) -> None:
    """Raise ``FileNotFoundError`` for ``path`` when its open ``file`` was removed (its folder too, say).

    Writes through an open file whose name is gone succeed and vanish with it; checking
    before each write (one ``fstat``) turns that silent loss into a failed write.
    """
    if os.fstat(file.fileno()).st_nlink == 0:
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), path)


class WriteGuard:
    """``with WriteGuard(checkpoint_path, step): ...`` turns any ``OSError`` in the block into ``WriteFailed``.

    ``step`` is the step of the checkpoint already at ``checkpoint_path`` (a resumed run's),
    or ``None``; call ``saved(step)`` after each checkpoint written. ``no_checkpoint`` ends
    the message when the run stopped before its first checkpoint: what the user does then.
    """

    def __init__(self, checkpoint_path: str, step: int | None = None,
                 no_checkpoint: str = "run the same command to start again"):
        self.checkpoint_path, self.step, self.no_checkpoint = checkpoint_path, step, no_checkpoint

    def saved(self, step: int) -> None:
        self.step = step

    def message(self, err: OSError) -> str:
        cause = err.strerror or str(err)
        what = f"cannot write {err.filename} ({cause})" if err.filename else f"an output write failed ({cause})"
        if self.step is None:
            kept = f"the run stopped before its first checkpoint, so there is none to resume; fix the cause and " \
                   f"{self.no_checkpoint}"
        elif os.path.isfile(self.checkpoint_path):
            kept = (f"the run stopped, keeping its last good checkpoint, {self.checkpoint_path} (step {self.step}); "
                    "fix the cause and run the same command to resume")
        else:
            kept = (f"the run stopped, and its last checkpoint, {self.checkpoint_path} (step {self.step}), is gone "
                    f"too; fix the cause and {self.no_checkpoint}")
        return f"{what}: {kept}."

    def __enter__(self) -> "WriteGuard":
        return self

    def __exit__(self, kind, err, traceback) -> bool:
        if isinstance(err, OSError):
            raise WriteFailed(self.message(err)) from None
        return False
