"""Atomic checkpoints of nested dicts of arrays (flax msgpack).

``save`` (through ``write_atomic``, which other writers share) writes a temporary file in
the target's directory, flushes it to disk and ``os.replace``s it over the target, so a
kill at any moment leaves either the old checkpoint or the new one, never a truncated file.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

import jax
import numpy as np
from flax import serialization

from omd.outputs import UserError


def write_atomic(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` through a synced temporary file and ``os.replace``: old or new, never partial."""
    directory = os.path.dirname(os.path.abspath(path))
    tmp = None
    try:
        os.makedirs(directory, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-" + os.path.basename(path), dir=directory)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as err:
        if tmp is not None and os.path.exists(tmp):
            os.remove(tmp)
        if isinstance(err, OSError):  # named by the file being written, not its temporary (omd.outputs)
            raise type(err)(err.errno, err.strerror or str(err), path) from err
        raise


def save(path: str, tree: Any) -> None:
    tree = jax.tree.map(lambda x: x if isinstance(x, (str, bytes, int, float)) else np.asarray(x), jax.device_get(tree))
    write_atomic(path, serialization.msgpack_serialize(tree))


def load(path: str) -> Any:
    """The saved tree; a truncated or corrupted file raises ``UserError`` naming it and the way out."""
    with open(path, "rb") as f:
        data = f.read()
    try:
        return serialization.msgpack_restore(data)
    except Exception as err:  # msgpack raises several types (ValueError, ExtraData, TypeError) for bad bytes
        raise UserError(
            f"checkpoint {path} is unreadable (truncated or corrupted: {err}). To restart the seed from step 0, "
            "remove it or pass --overwrite (which moves the seed's outputs aside); or pass another --save_dir."
        ) from None


def restore_into(template: Any, saved: Any) -> Any:
    """Fill a pytree shaped like ``template`` (e.g. a fresh agent state) with saved values."""
    return serialization.from_state_dict(template, saved)


def to_saveable(tree: Any) -> Any:
    return serialization.to_state_dict(tree)


def unwritable(directory: str) -> str | None:
    """Why ``directory`` (created if missing) cannot take new files, or ``None`` if it can.

    Trainers check their output folders with it before any compute, so a bad path costs nothing.
    """
    try:
        os.makedirs(directory, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=directory):
            pass
    except OSError as err:
        return str(err.strerror or err)
    return None
