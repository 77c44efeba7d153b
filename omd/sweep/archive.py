"""Finished jobs' small outputs, kept under version control so that sweeps add up across machines.

A sweep runs in ``runs/<basename>`` (checkpoints, replay buffers, TensorBoard events, logs:
large or machine-bound). When a job is done, its small outputs are copied to
``results/<basename>`` with the same layout::

  results/<basename>/<job>/...        every *.csv and *.txt of the job's folder (curves, per-seed CSVs)
  results/<basename>/_sweep/state/<job>.json   the job's final state record (command, exit 0, host)

Commit that folder. On any clone, the runner counts a job recorded done there as done
(``--status`` says so, ``--local``/``--slurm`` skip it, ``--plot`` reads it), so a sweep
started on one machine is continued on another from a fresh clone.
"""

from __future__ import annotations

import os
import shutil

from omd.sweep import state

SMALL_SUFFIXES = (".csv", ".txt")
SKIP_DIRS = ("tb", "video", "_sweep")


def default_root(basename: str) -> str:
    return os.path.join("results", basename)


def is_done(archive: state.Layout, name: str) -> bool:
    return (state.read_json(archive.state(name)) or {}).get("state") == state.DONE


def small_files(job_dir: str) -> list[str]:
    """Paths (relative to ``job_dir``) of the outputs worth committing: CSV and TXT files, no TensorBoard."""
    found = []
    for parent, dirs, files in os.walk(job_dir):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith("."))
        rel = os.path.relpath(parent, job_dir)
        found += [os.path.normpath(os.path.join(rel, f)) for f in sorted(files) if f.endswith(SMALL_SUFFIXES)]
    return found


def collect(layout: state.Layout, archive: state.Layout, name: str) -> bool:
    """Copy job ``name``'s small outputs and state record if it is done in ``layout``; True if copied.

    The state record is written last, so an interrupted copy is never taken for a finished one.
    """
    record = state.read_json(layout.state(name)) or {}
    if record.get("state") != state.DONE:
        return False
    src = layout.out_dir(name)
    dest = archive.out_dir(name)
    for rel in small_files(src):
        os.makedirs(os.path.dirname(os.path.join(dest, rel)), exist_ok=True)
        shutil.copy2(os.path.join(src, rel), os.path.join(dest, rel))
    state.write_json(archive.state(name), record)
    return True


def job_dir(layout: state.Layout, archive: state.Layout | None, name: str) -> str:
    """Where job ``name``'s outputs are read from: its run folder, unless only the archive holds it done."""
    own = (state.read_json(layout.state(name)) or {}).get("state") == state.DONE
    if archive is not None and not own and is_done(archive, name):
        return archive.out_dir(name)
    return layout.out_dir(name)
