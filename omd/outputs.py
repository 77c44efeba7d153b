"""What both deep suites' output code shares: a failed write ends the run in one line.

A run writes its CSV rows, TensorBoard events, ``.txt`` returns, checkpoints and exports
through ordinary file calls. When one of them fails (disk full, the output folder removed or
made read-only while the run goes), ``WriteGuard`` turns the ``OSError`` into ``WriteFailed``,
whose message is one line: the file, the operating system's reason and the last good
checkpoint, which is kept (checkpoints are replaced atomically, ``omd.checkpoint``), or that
there is none yet. The entry scripts print it as they print other user errors, and the same
command resumes from that checkpoint once the cause is fixed.

``cartpole/train.py`` wraps its training and exports in a ``WriteGuard``; so does
``omd.sac.outputs.train_and_save`` for ``mujoco/train.py``.
"""

from __future__ import annotations

import contextlib
import errno
import os
from typing import Iterator


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
