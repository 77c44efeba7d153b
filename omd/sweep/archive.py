"""Finished jobs' small outputs under version control (``results/<basename>``), so that sweeps add up
across machines (docs/sweeps.md, "Committed results")."""

from __future__ import annotations

import os
import shutil

from omd.sweep import state


def collect(layout: state.Layout, archive: state.Layout, name: str) -> bool:
    """Copies every *.csv and *.txt of job ``name``'s folder (no tb/, video/), then its state record,
    if it is done; True if copied. The record goes last, so an interrupted copy never counts as done."""
    if not state.is_done(layout, name):
        return False
    src, dest = layout.out_dir(name), archive.out_dir(name)
    for parent, dirs, files in os.walk(src):
        dirs[:] = sorted(d for d in dirs if d not in ("tb", "video", "_sweep") and not d.startswith("."))
        to = os.path.normpath(os.path.join(dest, os.path.relpath(parent, src)))
        for f in sorted(f for f in files if f.endswith((".csv", ".txt"))):
            os.makedirs(to, exist_ok=True)
            shutil.copy2(os.path.join(parent, f), os.path.join(to, f))
    state.write_json(archive.state(name), state.read_json(layout.state(name)))
    return True


def done_in(layout: state.Layout, archive: state.Layout | None, name: str) -> state.Layout | None:
    """Where job ``name`` is recorded done: its run folder first, else the committed results."""
    return next((where for where in (layout, archive) if where is not None and state.is_done(where, name)), None)
