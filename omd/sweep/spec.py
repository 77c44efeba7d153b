"""Sweep files -> jobs: the Cartesian product of each grid, names from the keys that vary.

A sweep is a Python file defining ``basename`` (str) and ``grid``: a list of dicts mapping a
flag name to a list of values, each dict holding ``_main`` (the entry script, e.g.
``cartpole/train.py``). Optional: ``group_seeds`` (merge jobs that differ only in ``seed`` into
``--seed s --num_seeds n`` jobs) and ``plot`` (see ``omd.sweep.results``).
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import runpy
import shlex
import traceback
from typing import Any, Mapping, Sequence

MAIN_KEY = "_main"
SEED_KEY = "seed"


class SweepError(ValueError):
    """A sweep file, a job's flags or its submission cannot go ahead; the message (one line per
    problem, no traceback) names the fix."""


@dataclasses.dataclass(frozen=True)
class Job:
    """One process to run: an entry script and its flags (the runner adds the output folder)."""

    name: str
    main: str
    flags: tuple[tuple[str, Any], ...]
    seeds: tuple[int, ...] = ()  # seeds this job trains (several when seeds are grouped)

    @property
    def flag_dict(self) -> dict[str, Any]:
        return dict(self.flags)

    def config_key(self) -> tuple:
        """Identifies the job's setting up to the seed (runs that are averaged together)."""
        return (self.main,) + tuple(
            (k, v) for k, v in self.flags if k not in (SEED_KEY, "num_seeds"))


@dataclasses.dataclass(frozen=True)
class Sweep:
    path: str
    basename: str
    jobs: tuple[Job, ...]
    plot: Mapping[str, Any]
    varying: tuple[str, ...]


def format_flag(key: str, value: Any) -> str:
    """absl spelling: booleans as --key / --nokey (config overrides as --config.k=True)."""
    if isinstance(value, bool) and "." not in key:
        return f"--{key}" if value else f"--no{key}"
    if isinstance(value, (list, tuple)):
        value = ",".join(str(v) for v in value) if "." not in key else str(tuple(value))
    return f"--{key}={value}"


def command(job: Job, out_flag: str, out_dir: str, python: str = "python") -> list[str]:
    # config_flags wants --config=path before any --config.field override
    ordered = sorted(job.flags, key=lambda kv: "." in kv[0])
    return [python, job.main] + [format_flag(k, v) for k, v in ordered] + [
        f"--{out_flag}={out_dir}"]


def display(cmd: Sequence[str]) -> str:
    return shlex.join(cmd)


def _value_str(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        value = "-".join(str(v) for v in value)
    return str(value).replace(os.sep, "_").replace(" ", "")


def _as_list(key: str, values: Any, where: str) -> list:
    if isinstance(values, (list, tuple, range)):
        values = list(values)
        if not values:
            raise SweepError(f"{where}: key {key!r} has an empty list of values")
        return values
    return [values]  # a single value is a one-element axis


def expand(grid: Sequence[Mapping[str, Any]], where: str) -> list[tuple[str, dict]]:
    """Cartesian product of every dict in ``grid``: a list of (main, flags) in grid order."""
    if isinstance(grid, Mapping):
        if MAIN_KEY in grid:  # one block written without the list around it
            grid = [grid]
        elif grid and all(isinstance(v, Mapping) for v in grid.values()):
            raise SweepError(f"{where}: grid is a dict of blocks ({', '.join(map(repr, grid))}); it must be a list "
                             "of them: grid = [dict(_main=[...], ...), dict(_main=[...], ...)]")
        else:
            raise SweepError(f"{where}: grid must be a list of dicts, each with a {MAIN_KEY!r} key naming the "
                             "entry script, e.g. grid = [dict(_main=['cartpole/train.py'], seed=[0, 1])]; "
                             f"got a dict without {MAIN_KEY!r}")
    elif not isinstance(grid, (list, tuple)):
        raise SweepError(f"{where}: grid must be a list of dicts of flag -> list of values, "
                         f"got {type(grid).__name__}")
    out = []
    for i, block in enumerate(grid):
        here = f"{where}: grid[{i}]"
        if not isinstance(block, Mapping):
            raise SweepError(f"{here} must be a dict of flag -> list of values")
        if MAIN_KEY not in block:
            raise SweepError(f"{here} has no {MAIN_KEY!r} key naming the entry script "
                             "(e.g. '_main': ['cartpole/train.py'])")
        keys = list(block)
        for k in keys:
            if not isinstance(k, str) or not k or k.startswith("-"):
                raise SweepError(f"{here}: flag names are plain strings without dashes, got {k!r}")
        axes = [_as_list(k, block[k], here) for k in keys]
        for combo in itertools.product(*axes):
            flags = dict(zip(keys, combo))
            main = flags.pop(MAIN_KEY)
            out.append((str(main), flags))
    return out


def _varying_keys(points: Sequence[tuple[str, dict]]) -> list[str]:
    keys: dict[str, None] = {}
    for _, flags in points:
        keys.update(dict.fromkeys(flags))
    varying = []
    if len({m for m, _ in points}) > 1:
        varying.append(MAIN_KEY)
    for k in keys:
        vals = {repr(f.get(k, "<absent>")) for _, f in points}
        if len(vals) > 1:
            varying.append(k)
    return varying


def _job_name(main: str, flags: Mapping[str, Any], varying: Sequence[str],
              seeds_label: str | None = None) -> str:
    parts = []
    for k in varying:
        if k == MAIN_KEY:
            parts.append(os.path.basename(os.path.dirname(main)) or main)
        elif k == SEED_KEY and seeds_label is not None:
            parts.append(f"seeds={seeds_label}")
        elif k in flags:
            parts.append(f"{k}={_value_str(flags[k])}")
    return ",".join(parts) or "default"


def _contiguous(seeds: Sequence[int]) -> list[list[int]]:
    runs: list[list[int]] = []
    for s in sorted(seeds):
        if runs and s == runs[-1][-1] + 1:
            runs[-1].append(s)
        else:
            runs.append([s])
    return runs


def make_jobs(points: Sequence[tuple[str, dict]], group_seeds: bool) -> tuple[list[Job], list[str]]:
    """Names each point from the varying keys; optionally merges seeds into vmapped jobs."""
    seen: dict[tuple, None] = {}
    unique = []
    for main, flags in points:  # identical points from overlapping grids run once
        key = (main, tuple(sorted((k, repr(v)) for k, v in flags.items())))
        if key not in seen:
            seen[key] = None
            unique.append((main, flags))
    varying = _varying_keys(unique)
    if not group_seeds:
        jobs = []
        for main, flags in unique:
            seeds = (int(flags[SEED_KEY]),) if SEED_KEY in flags else ()
            jobs.append(Job(_job_name(main, flags, varying), main, tuple(flags.items()), seeds))
        return jobs, varying

    groups: dict[tuple, list[tuple[str, dict]]] = {}
    for main, flags in unique:
        if "num_seeds" in flags:
            raise SweepError("with group_seeds the runner sets --num_seeds itself; "
                             "remove 'num_seeds' from the grid")
        rest = tuple((k, repr(v)) for k, v in flags.items() if k != SEED_KEY)
        groups.setdefault((main, rest), []).append((main, flags))
    jobs = []
    for members in groups.values():
        main, first = members[0]
        seeds = [int(f.get(SEED_KEY, 0)) for _, f in members]
        for run in _contiguous(seeds):
            flags = {k: v for k, v in first.items() if k != SEED_KEY}
            label = f"{run[0]}-{run[-1]}" if len(run) > 1 else str(run[0])
            name = _job_name(main, flags, varying, seeds_label=label)
            ordered = {SEED_KEY: run[0], **flags, "num_seeds": len(run)}
            jobs.append(Job(name, main, tuple(ordered.items()), tuple(run)))
    return jobs, varying


def _run(path: str) -> dict:
    """Executes a sweep file; an error in it is one line naming the file and line, not a traceback."""
    try:
        return runpy.run_path(path, run_name="__sweep__")
    except SyntaxError as e:  # includes a file that a sweep file runs (e.g. cartpole_model_error.py)
        raise SweepError(f"{e.filename or path}:{e.lineno}: {e.msg} (the file does not parse)") from None
    except Exception as e:  # pylint: disable=broad-except
        # the innermost line of the sweep's own folder: the sweep file, or a sweep it runs
        folder = os.path.dirname(os.path.abspath(path))
        ours = [f for f in traceback.extract_tb(e.__traceback__)
                if os.path.dirname(os.path.abspath(f.filename)) == folder]
        where = f"{ours[-1].filename}:{ours[-1].lineno}" if ours else path
        raise SweepError(f"{where}: {type(e).__name__}: {e}") from None


def load(path: str, group_seeds: bool | None = None) -> Sweep:
    """Reads a sweep file; ``group_seeds`` overrides the file's own setting when not None."""
    if not os.path.isfile(path):
        raise SweepError(f"sweep file {path!r} not found")
    ns = _run(path)
    for key in ("basename", "grid"):
        if key not in ns:
            with open(path) as f:
                end = len(f.read().splitlines())
            raise SweepError(f"{path}:{end}: the file ends without defining {key!r} (a sweep defines "
                             "basename = 'name' and grid = [dict(_main=['cartpole/train.py'], ...)])")
    basename = ns["basename"]
    if not isinstance(basename, str) or not basename or os.sep in basename:
        raise SweepError(f"{path}: basename must be a non-empty folder name, got {basename!r}")
    if group_seeds is None:
        group_seeds = bool(ns.get("group_seeds", False))
    points = expand(ns["grid"], path)
    if not points:
        raise SweepError(f"{path}: the grid has no jobs")
    jobs, varying = make_jobs(points, group_seeds)
    names = [j.name for j in jobs]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise SweepError(f"{path}: several jobs would share the name(s) {sorted(dup)}")
    return Sweep(path, basename, tuple(jobs), dict(ns.get("plot", {})), tuple(varying))
