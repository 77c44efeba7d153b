"""Sweep files -> jobs: the Cartesian product of each grid block, named by the keys that vary.
The format (``basename``, ``grid``, ``group_seeds``, ``plot``) is in docs/sweeps.md."""

from __future__ import annotations

import dataclasses
import itertools
import os
import runpy
import traceback
from typing import Any, Mapping, Sequence

MAIN_KEY = "_main"
SEED_KEY = "seed"


class SweepError(ValueError):
    """A sweep file, a job's flags or its submission cannot go ahead; the message names the fix."""


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
        return (self.main,) + tuple((k, v) for k, v in self.flags if k not in (SEED_KEY, "num_seeds"))


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
    return [python, job.main] + [format_flag(k, v) for k, v in ordered] + [f"--{out_flag}={out_dir}"]


def _value_str(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        value = "-".join(str(v) for v in value)
    return str(value).replace(os.sep, "_").replace(" ", "")


def expand(grid: Sequence[Mapping[str, Any]], where: str) -> list[tuple[str, dict]]:
    """Cartesian product of every dict in ``grid``: a list of (main, flags) in grid order."""
    if isinstance(grid, Mapping) and MAIN_KEY in grid:  # one block written without the list around it
        grid = [grid]
    elif isinstance(grid, Mapping) and grid and all(isinstance(v, Mapping) for v in grid.values()):
        raise SweepError(f"{where}: grid is a dict of blocks ({', '.join(map(repr, grid))}); it must be a list "
                         "of them: grid = [dict(_main=[...], ...), dict(_main=[...], ...)]")
    if not isinstance(grid, (list, tuple)):
        got = f"a dict without {MAIN_KEY!r}" if isinstance(grid, Mapping) else type(grid).__name__
        raise SweepError(f"{where}: grid must be a list of dicts, each with a {MAIN_KEY!r} key naming the entry "
                         f"script, e.g. grid = [dict(_main=['cartpole/train.py'], seed=[0, 1])]; got {got}")
    out = []
    for i, block in enumerate(grid):
        here = f"{where}: grid[{i}]"
        if not isinstance(block, Mapping):
            raise SweepError(f"{here} must be a dict of flag -> list of values")
        if MAIN_KEY not in block:
            raise SweepError(f"{here} has no {MAIN_KEY!r} key naming the entry script "
                             "(e.g. '_main': ['cartpole/train.py'])")
        axes = []
        for k, values in block.items():
            if not isinstance(k, str) or not k or k.startswith("-"):
                raise SweepError(f"{here}: flag names are plain strings without dashes, got {k!r}")
            # a single value is a one-element axis
            axes.append(list(values) if isinstance(values, (list, tuple, range)) else [values])
            if not axes[-1]:
                raise SweepError(f"{here}: key {k!r} has an empty list of values")
        for combo in itertools.product(*axes):
            flags = dict(zip(block, combo))
            out.append((str(flags.pop(MAIN_KEY)), flags))
    return out


def _job_name(main: str, flags: Mapping[str, Any], varying: Sequence[str], seeds_label: str | None = None) -> str:
    parts = []
    for k in varying:
        if k == MAIN_KEY:
            parts.append(os.path.basename(os.path.dirname(main)) or main)
        elif k == SEED_KEY and seeds_label is not None:
            parts.append(f"seeds={seeds_label}")
        elif k in flags:
            parts.append(f"{k}={_value_str(flags[k])}")
    return ",".join(parts) or "default"


def _seeds_run(flags: Mapping[str, Any]) -> tuple[int, ...]:
    """The seeds one ungrouped job runs: ``--seed s`` and, where the grid sets it, ``--num_seeds n``."""
    if SEED_KEY not in flags:
        return ()
    return tuple(range(int(flags[SEED_KEY]), int(flags[SEED_KEY]) + int(flags.get("num_seeds", 1))))


def make_jobs(points: Sequence[tuple[str, dict]], group_seeds: bool) -> tuple[list[Job], list[str]]:
    """Names each point from the varying keys; with ``group_seeds``, merges runs of consecutive
    seeds of one setting into one ``--seed s --num_seeds n`` job."""
    unique: dict[tuple, tuple[str, dict]] = {}  # identical points from overlapping grids run once
    for main, flags in points:
        unique.setdefault((main, tuple(sorted((k, repr(v)) for k, v in flags.items()))), (main, flags))
    points = list(unique.values())
    keys = dict.fromkeys(k for _, flags in points for k in flags)
    varying = [MAIN_KEY] * (len({m for m, _ in points}) > 1) + [
        k for k in keys if len({repr(f.get(k, "<absent>")) for _, f in points}) > 1]
    if not group_seeds:
        return [Job(_job_name(main, flags, varying), main, tuple(flags.items()), _seeds_run(flags))
                for main, flags in points], varying
    groups: dict[tuple, list] = {}
    for main, flags in points:
        if "num_seeds" in flags:
            raise SweepError("with group_seeds the runner sets --num_seeds itself; remove 'num_seeds' from the grid")
        rest = {k: v for k, v in flags.items() if k != SEED_KEY}
        groups.setdefault((main, repr(rest)), [main, rest, []])[2].append(int(flags.get(SEED_KEY, 0)))
    jobs = []
    for main, rest, seeds in groups.values():
        # consecutive seeds share seed - position
        for _, run in itertools.groupby(enumerate(sorted(seeds)), lambda t: t[1] - t[0]):
            run = [s for _, s in run]
            label = f"{run[0]}-{run[-1]}" if len(run) > 1 else str(run[0])
            flags = {SEED_KEY: run[0], **rest, "num_seeds": len(run)}
            jobs.append(Job(_job_name(main, rest, varying, label), main, tuple(flags.items()), tuple(run)))
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
