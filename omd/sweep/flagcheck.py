"""Checks generated commands against the entry script's real absl flags before anything runs.

The script is executed in a subprocess with a run name other than ``__main__`` (so its
``app.run`` is not reached) and its flag definitions are inspected there: unknown names, values
its parsers reject (enum choices, ints, floats, booleans), and ``--config.x`` overrides against
the ml_collections config file the script loads.
"""

from __future__ import annotations

import difflib
import json
import os
import subprocess
import sys
from typing import Any, Sequence


class FlagError(ValueError):
    """A sweep names a flag (or value) the target script does not accept."""


def _child(script: str) -> None:
    """Runs in the subprocess: reads {"jobs": [[name, [[key, value], ...]], ...]} on stdin."""
    import runpy  # pylint: disable=g-import-not-at-top
    from absl import app, flags  # pylint: disable=g-import-not-at-top

    request = json.load(sys.stdin)

    class _Reached(Exception):
        pass

    def _no_run(*a, **k):  # a script without a __main__ guard stops here, flags defined
        raise _Reached()

    app.run = _no_run
    sys.argv = [script]
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
    try:
        runpy.run_path(script, run_name="__omd_sweep_flagcheck__")
    except _Reached:
        pass
    fv = flags.FLAGS
    defined = fv._flags()  # pylint: disable=protected-access
    config_flags = {n for n, f in defined.items() if type(f).__name__ == "_ConfigFlag"}
    info = {n: {"boolean": bool(f.boolean), "default": _jsonable(f.default),
                "config": n in config_flags}
            for n, f in defined.items() if n == f.name}
    errors = []
    configs: dict[str, Any] = {}

    def config_for(cfg_name: str, path: str | None):
        key = (cfg_name, path)
        if key not in configs:
            flag = defined[cfg_name]
            configs[key] = flag.value if path is None else flag.parser.parse(path)
        return configs[key]

    for job_name, pairs in request["jobs"]:
        pairs = [(k, v) for k, v in pairs]
        explicit_cfg = dict(pairs)
        for key, value in pairs:
            head = key.split(".", 1)[0]
            if "." in key and head in config_flags:
                try:
                    cfg = config_for(head, explicit_cfg.get(head))
                    _check_config_override(cfg, key.split(".", 1)[1], value)
                except ValueError as e:
                    errors.append([job_name, key, str(e)])
                except Exception as e:  # pylint: disable=broad-except
                    errors.append([job_name, key, f"{type(e).__name__}: {e}"])
                continue
            flag = defined.get(key)
            if flag is None and key.startswith("no") and key[2:] in defined:
                flag = defined[key[2:]] if defined[key[2:]].boolean else None
            if flag is None:
                errors.append([job_name, key, "unknown"])
                continue
            if head in config_flags:
                try:
                    config_for(head, value)
                except Exception as e:  # pylint: disable=broad-except
                    errors.append([job_name, key, f"config file {value!r} failed to load: {e}"])
                continue
            if flag.boolean and not isinstance(value, bool):
                if str(value).lower() not in ("true", "false", "1", "0"):
                    errors.append([job_name, key, f"boolean flag given {value!r}"])
                continue
            if isinstance(value, (list, tuple)):
                value = ",".join(str(v) for v in value)
            try:
                flag.parser.parse(value if isinstance(value, bool) else str(value))
            except Exception as e:  # pylint: disable=broad-except
                errors.append([job_name, key, f"bad value {value!r}: {e}"])
    json.dump({"flags": info, "errors": errors}, sys.stdout)


def _check_config_override(cfg, path: str, value) -> None:
    node = cfg
    parts = path.split(".")
    for i, part in enumerate(parts):
        if not hasattr(node, "keys") or part not in node:
            raise ValueError(f"the config has no field {'.'.join(parts[:i + 1])!r}")
        if i < len(parts) - 1:
            node = node[part]
    current = node[parts[-1]]
    if current is None or value is None:
        return  # placeholders (None by default) take any value of their declared type
    kind = type(current).__name__
    if isinstance(value, str) and not isinstance(current, str):
        if isinstance(current, bool):
            if value.lower() in ("true", "false"):
                return
        elif isinstance(current, (int, float)):
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


def _jsonable(x):
    try:
        json.dumps(x)
        return x
    except TypeError:
        return repr(x)


def inspect(script: str, jobs: Sequence[tuple[str, Sequence[tuple[str, Any]]]],
            cwd: str | None = None, python: str = sys.executable) -> tuple[dict, list]:
    """Runs the check in a subprocess. Returns (flag info by name, [(job, flag, problem)])."""
    if not os.path.isfile(os.path.join(cwd or ".", script)):
        raise FlagError(f"entry script {script!r} not found (paths in '_main' are relative to "
                        "the folder the runner is started from, normally the repository root)")
    payload = json.dumps({"jobs": [[n, [list(p) for p in pairs]] for n, pairs in jobs]})
    env = dict(os.environ, JAX_PLATFORMS=os.environ.get("JAX_PLATFORMS", "cpu"))
    proc = subprocess.run(
        [python, "-c", "import sys; from omd.sweep.flagcheck import _child; _child(sys.argv[1])",
         script], input=payload, capture_output=True, text=True, cwd=cwd, env=env, timeout=600)
    last = proc.stdout.strip().splitlines()[-1:] if proc.stdout.strip() else []
    if proc.returncode != 0 or not last:
        raise FlagError(f"could not read the flags of {script} (exit {proc.returncode}):\n"
                        f"{proc.stderr.strip()[-3000:]}")
    result = json.loads(last[0])
    return result["flags"], [tuple(e) for e in result["errors"]]


def check(sweep_path: str, jobs, cwd: str | None = None,
          reserved: Sequence[str] = ()) -> dict[str, dict]:
    """Validates every job; raises FlagError naming each bad flag. Returns flag info per script."""
    by_script: dict[str, list] = {}
    for job in jobs:
        by_script.setdefault(job.main, []).append(job)
    infos, problems = {}, []
    for script, js in by_script.items():
        info, errs = inspect(script, [(j.name, j.flags) for j in js], cwd=cwd)
        infos[script] = info
        names = sorted(info)
        for job_name, key, what in errs:
            if what == "unknown":
                close = difflib.get_close_matches(key, names, n=1)
                hint = f" (did you mean --{close[0]}?)" if close else ""
                problems.append(f"unknown flag --{key} for {script}{hint}; job {job_name!r}")
            else:
                problems.append(f"flag --{key} for {script}: {what}; job {job_name!r}")
        for j in js:
            for key in reserved:
                if key in j.flag_dict:
                    problems.append(f"flag --{key} is set by the runner (one output folder per job); "
                                    f"remove it from the grid; job {j.name!r}")
    if problems:
        uniq = list(dict.fromkeys(problems))
        more = f"\n  ... and {len(uniq) - 20} more" if len(uniq) > 20 else ""
        raise FlagError(f"{sweep_path}: {len(uniq)} bad flag(s), nothing was run:\n  "
                        + "\n  ".join(uniq[:20]) + more)
    return infos
