"""Checks a sweep's jobs against their entry scripts' flags, in this process, before anything runs:
flag names (with the closest name), values (the flag's own parser), ``--config.x`` overrides against
the ml_collections config, and, where the script exposes ``config_from_flags(values)``, its typed
config's checks. The flags come from ``read_flags(script) -> Script``, supplied by ``runner.py``
(an entry script, where absl belongs)."""

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


def _is_config(flag) -> bool:
    return hasattr(flag.value, "keys")  # an ml_collections config flag holds a ConfigDict


def _parses(kind, text: str) -> bool:
    try:
        kind(text)
        return True
    except ValueError:
        return False


def _check_config_override(cfg, path: str, value) -> None:
    current, parts = cfg, path.split(".")
    for i, part in enumerate(parts):
        if not hasattr(current, "keys") or part not in current:
            close = difflib.get_close_matches(part, list(current.keys()) if hasattr(current, "keys") else [], n=1)
            raise ValueError(f"the config has no field {'.'.join(parts[:i + 1])!r}"
                             + (f" (did you mean {'.'.join(parts[:i] + close)!r}?)" if close else ""))
        current = current[part]
    if current is None or value is None:
        return  # placeholders (None by default) take any value of their declared type
    if isinstance(value, str) and not isinstance(current, str):  # as given on a command line
        ok = (value.lower() in ("true", "false") if isinstance(current, bool)
              else isinstance(current, (int, float)) and _parses(type(current), value))
    else:
        ok = isinstance(current, bool) == isinstance(value, bool) and (
            isinstance(value, type(current)) or isinstance(current, float) and isinstance(value, (int, float))
            or isinstance(current, (tuple, list)) and isinstance(value, (tuple, list)))
    if not ok:
        raise ValueError(f"field {path!r} is {type(current).__name__}, got {value!r}")


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


def check(sweep_path: str, jobs, read_flags: Callable[[str], Script]) -> dict[str, Script]:
    """Validates every job; raises FlagError listing the bad flags. Returns each script's flags."""
    scripts = {}
    for main in dict.fromkeys(j.main for j in jobs):
        if not os.path.isfile(main):
            raise FlagError(f"entry script {main!r} not found (paths in '_main' are relative to "
                            "the folder the runner is started from, normally the repository root)")
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
