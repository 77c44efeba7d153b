"""Finished jobs' small outputs under version control (``results/<basename>``), so that sweeps add up
across machines: every *.csv and *.txt of a done job's folder, same layout, and its state record.
A job recorded done there counts as done on any clone (docs/sweeps.md, "Committed results")."""

from __future__ import annotations

import os
import shutil

from omd.sweep import state

SMALL_SUFFIXES = (".csv", ".txt")
SKIP_DIRS = ("tb", "video", "_sweep")


def default_root(basename: str) -> str:
    return os.path.join("results", basename)


def small_files(job_dir: str) -> list[str]:
    """Paths (relative to ``job_dir``) of the outputs worth committing: CSV and TXT, no TensorBoard."""
    found = []
    for parent, dirs, files in os.walk(job_dir):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith("."))
        rel = os.path.relpath(parent, job_dir)
        found += [os.path.normpath(os.path.join(rel, f)) for f in sorted(files) if f.endswith(SMALL_SUFFIXES)]
    return found


def collect(layout: state.Layout, archive: state.Layout, name: str) -> bool:
    """Copies job ``name``'s small outputs, then its state record, if it is done; True if copied.

    The record goes last, so an interrupted copy is never taken for a finished job.
    """
    if not state.is_done(layout, name):
        return False
    src, dest = layout.out_dir(name), archive.out_dir(name)
    for rel in small_files(src):
        os.makedirs(os.path.dirname(os.path.join(dest, rel)), exist_ok=True)
        shutil.copy2(os.path.join(src, rel), os.path.join(dest, rel))
    state.write_json(archive.state(name), state.read_json(layout.state(name)))
    return True


def done_in(layout: state.Layout, archive: state.Layout | None, name: str) -> state.Layout | None:
    """Where job ``name`` is recorded done: its run folder first, else the committed results."""
    return next((where for where in (layout, archive) if where is not None and state.is_done(where, name)), None)
