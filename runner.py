"""Runs a sweep: ``python runner.py sweeps/X.py --dry-run | --local | --slurm | --status | --plot``.

See ``omd/sweep`` for how grids become jobs, how flags are checked and how runs are tracked. This
entry script adds the one piece that reads absl: each job's entry script is executed under a run
name other than ``__main__`` (so ``app.run`` is not reached), its flags are read and then removed
again, so that the next script (or the same one, checked again) can define its own.
"""

import os
import runpy
import sys

from absl import app, flags

from omd.sweep import cli
from omd.sweep.checks import FlagError, Script


class _Reached(Exception):
    """A script without a ``__main__`` guard called ``app.run``: its flags are defined by then."""


def _no_run(*_args, **_kwargs):
    raise _Reached()


def read_flags(script: str) -> Script:
    """The flags ``script`` defines (absl's own included) and its ``config_from_flags``, if any."""
    fv = flags.FLAGS
    before = set(fv)
    # the script may set environment variables for its own JAX (e.g. XLA_FLAGS) that the jobs
    # this runner starts must not inherit; sys.argv is what ml_collections reads overrides from
    saved = dict(os.environ), sys.argv, list(sys.path), app.run
    sys.argv, app.run = [script], _no_run
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
    try:
        ns = runpy.run_path(script, run_name="__omd_sweep_check__")
    except _Reached:
        ns = {}
    except (Exception, SystemExit) as e:  # pylint: disable=broad-except
        raise FlagError(f"could not read the flags of {script}: {type(e).__name__}: {e}") from None
    finally:
        found = {name: fv[name] for name in fv}
        for name in set(fv) - before:
            # the script's own flags go, as running it again defines them again; those of modules it
            # imported stay, as a second import finds the module loaded and defines nothing
            if fv.find_module_defining_flag(name) not in sys.modules:
                delattr(fv, name)
        os.environ.clear()
        os.environ.update(saved[0])
        sys.argv, sys.path[:], app.run = saved[1], saved[2], saved[3]
    to_config = ns.get("config_from_flags")
    return Script(script, found, to_config if callable(to_config) else None)


def main(argv=None) -> int:
    return cli.main(argv, read_flags=read_flags)


if __name__ == "__main__":
    sys.exit(main())
