"""The edge both entry scripts share: one-line errors and their exit statuses, absl parsing that
exits 2 on a bad flag, the message and status of a run stopped by a signal, and the lookup of a
``--config.<key>`` override. No JAX here, so ``--help`` and refusals stay fast."""

from __future__ import annotations

import signal
import sys
from typing import Any, Callable

from absl import app, flags

HELP_HINT = "Pass --helpfull to list every flag."
REFUSED = 2  # a flag or setting refused before any compute
FAILED = 1  # an output folder, a failed write or a diverged run


def fail(message: str, hint: str = "", code: int = FAILED) -> None:
    print(f"error: {message}" + (f"\n{hint}" if hint else ""), file=sys.stderr, flush=True)
    sys.exit(code)


def run(main: Callable[[list[str]], Any], flag_values: flags.FlagValues) -> None:
    """``app.run(main)``, with a bad flag or a stray argument ending in one line and status 2 (absl
    would exit 1, or print the whole help for a ``UsageError``)."""

    def parse(argv):
        try:
            argv = flag_values(argv)
        except flags.Error as err:
            fail(str(err), HELP_HINT, REFUSED)
        if len(argv) > 1:
            fail(f"unexpected arguments: {' '.join(argv[1:])}", HELP_HINT, REFUSED)
        return argv

    app.run(main, flags_parser=parse)


def exit_if_stopped(summary: dict, step: int, max_steps: int) -> None:
    """A run stopped by SIGTERM, SIGUSR1 or Ctrl-C exits 128 + the signal's number, saying how to resume."""
    if summary["stopped_by"]:
        print(f"Stopped by {summary['stopped_by']} after step {step} of {max_steps}; checkpoint written to "
              f"{summary['checkpoint']}. Run the same command to resume.", file=sys.stderr, flush=True)
        sys.exit(128 + signal.Signals[summary["stopped_by"]].value)


def missing_key(config: Any, dotted: str) -> tuple[list[str], list[str]] | None:
    """Where the key path ``a.b.c`` leaves a nested config: (the path up to its first missing part, the
    keys available there), or None when the whole path exists."""
    node, parts = config, dotted.split(".")
    for depth, part in enumerate(parts):
        keys = list(node.keys()) if hasattr(node, "keys") else []
        if part not in keys:
            return parts[:depth + 1], keys
        node = node[part]
    return None
