"""Checks a sweep's jobs against their entry scripts' flags, in this process, before anything runs.

The flags come from ``read_flags(script) -> Script``, which ``runner.py`` (an entry script, where
absl belongs) supplies; this module only asks each flag for its ``name``, ``default``, ``boolean``
and ``parser.parse``. A job is refused for a flag the script lacks (with the closest name), a value
the flag's parser rejects (types, enums, bounds), a ``--config.x`` override the ml_collections
config lacks or types differently, and, where the script exposes ``config_from_flags(values)``, a
setting its typed config refuses (ranges, combinations): the same check the script does before any
compute.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
from typing import Any, Callable

from omd.sweep import suites
from omd.sweep.spec import SweepError


class FlagError(SweepError):
    """A sweep names a flag (or value) the target script does not accept."""


@dataclasses.dataclass(frozen=True)
class Script:
    path: str
    flags: dict[str, Any]                     # every flag the script accepts, by name (absl Flag objects)
    to_config: Callable[[dict], Any] | None   # the script's flag -> typed config mapping, if exposed

    def default(self, name: str) -> Any:
        flag = self.flags.get(name)
        return None if flag is None else flag.default


def _is_config(flag) -> bool:
    return hasattr(flag.value, "keys")  # an ml_collections config flag holds a ConfigDict


def _check_config_override(cfg, path: str, value) -> None:
    node, parts = cfg, path.split(".")
    for i, part in enumerate(parts):
        if not hasattr(node, "keys") or part not in node:
            close = difflib.get_close_matches(part, list(node.keys()) if hasattr(node, "keys") else [], n=1)
            raise ValueError(f"the config has no field {'.'.join(parts[:i + 1])!r}"
                             + (f" (did you mean {'.'.join(parts[:i] + close)!r}?)" if close else ""))
        if i < len(parts) - 1:
            node = node[part]
    current = node[parts[-1]]
    if current is None or value is None:
        return  # placeholders (None by default) take any value of their declared type
    kind = type(current).__name__
    if isinstance(value, str) and not isinstance(current, str):
        if isinstance(current, bool) and value.lower() in ("true", "false"):
            return
        if isinstance(current, (int, float)) and not isinstance(current, bool):
            try:
                type(current)(value)
                return
            except ValueError:
                pass
        raise ValueError(f"field {path!r} is {kind}, got {value!r}")
    if isinstance(current, bool) != isinstance(value, bool):
        raise ValueError(f"field {path!r} is {kind}, got {value!r}")
    if isinstance(current, float) and isinstance(value, (int, float)):
        return
    if isinstance(current, (tuple, list)) and isinstance(value, (tuple, list)):
        return
    if not isinstance(value, type(current)):
        raise ValueError(f"field {path!r} is {kind}, got {value!r}")


def job_problems(script: Script, job) -> list[str]:
    """One message per bad flag of ``job`` (a ``spec.Job``); empty when the script accepts it."""
    out, values = [], {}
    where = f"for {script.path}"
    pairs = job.flag_dict
    for key, value in job.flags:
        head = key.split(".", 1)[0]
        flag = script.flags.get(key)
        if flag is None and key.startswith("no") and key[2:] in script.flags:
            flag = script.flags[key[2:]] if script.flags[key[2:]].boolean else None
        if "." in key and head in script.flags and _is_config(script.flags[head]):
            try:
                cfg_flag = script.flags[head]
                cfg = cfg_flag.value if head not in pairs else cfg_flag.parser.parse(pairs[head])
                _check_config_override(cfg, key.split(".", 1)[1], value)
            except Exception as e:  # pylint: disable=broad-except
                text = str(e) if isinstance(e, ValueError) else f"{type(e).__name__}: {e}"
                out.append(f"flag --{key} {where}: {text}")
            continue
        if flag is None:
            close = difflib.get_close_matches(key, sorted(script.flags), n=1)
            out.append(f"unknown flag --{key} {where}" + (f" (did you mean --{close[0]}?)" if close else ""))
            continue
        if _is_config(flag):
            try:
                flag.parser.parse(value)
            except Exception as e:  # pylint: disable=broad-except
                out.append(f"flag --{key} {where}: config file {value!r} failed to load: {e}")
            continue
        if flag.boolean and not isinstance(value, bool):
            if str(value).lower() not in ("true", "false", "1", "0"):
                out.append(f"flag --{key} {where}: boolean flag given {value!r}")
                continue
            value = str(value).lower() in ("true", "1")
        text = ",".join(str(v) for v in value) if isinstance(value, (list, tuple)) else value
        try:
            parsed = flag.parser.parse(text if isinstance(text, bool) else str(text))
        except Exception as e:  # pylint: disable=broad-except
            out.append(f"flag --{key} {where}: bad value {value!r}: {e}")
            continue
        values[flag.name] = (not parsed) if key != flag.name else parsed  # --noX=True is X False
    if not out and script.to_config is not None:
        try:  # the settings together, as the script's typed config checks them before any compute
            script.to_config({**{n: f.default for n, f in script.flags.items()}, **values})
        except ValueError as e:
            out.append(f"{script.path}: {str(e).rstrip('.')}")
    return [f"{p}; job {job.name!r}" for p in out]


def not_found(script: str) -> FlagError | None:
    if os.path.isfile(script):
        return None
    return FlagError(f"entry script {script!r} not found (paths in '_main' are relative to "
                     "the folder the runner is started from, normally the repository root)")


def check(sweep_path: str, jobs, read_flags: Callable[[str], Script]) -> dict[str, Script]:
    """Validates every job; raises FlagError listing the bad flags. Returns each script's flags."""
    scripts = {}
    for main in dict.fromkeys(j.main for j in jobs):
        missing = not_found(main)
        if missing:
            raise missing
        scripts[main] = read_flags(main)
    problems = []
    for j in jobs:
        problems += job_problems(scripts[j.main], j)
        out_flag = suites.for_script(j.main, scripts[j.main].flags).out_flag  # set by the runner
        if out_flag in j.flag_dict:
            problems.append(f"flag --{out_flag} is set by the runner (one output folder per job under "
                            f"the sweep root); remove it from the grid; job {j.name!r}")
    if problems:
        uniq = list(dict.fromkeys(problems))
        more = f"\n  ... and {len(uniq) - 20} more" if len(uniq) > 20 else ""
        raise FlagError(f"{sweep_path}: {len(uniq)} bad flag(s), nothing was run:\n  "
                        + "\n  ".join(uniq[:20]) + more)
    return scripts
