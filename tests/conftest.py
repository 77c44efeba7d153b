"""Every test process, and every CLI a test starts, shares one persistent XLA compilation cache.

Many tests run the same tiny configuration several times (killed, resumed, uninterrupted; once per
failing write); with the cache each program compiles once per test run: 30% less CPU time for
``tests/test_cartpole_resume.py`` and ``tests/test_failed_writes.py`` from an empty cache (131 -> 92
CPU seconds; 48 -> 21 for ``tests/test_cartpole_golden.py`` on a second run). A whole default run in
a fresh clone gains little (11 min 26 s, against 11 min 29 s before): most programs compile once
anyway; the cache pays when tests are run again, as while developing. A cached executable is
the one XLA compiled, so what a run computes is unchanged. JAX_COMPILATION_CACHE_DIR chooses another
folder; the default sits in pytest's own (ignored) cache folder.
"""

import os
import pathlib

_CACHE = pathlib.Path(__file__).resolve().parent.parent / ".pytest_cache" / "jax_compilation_cache"
if "JAX_COMPILATION_CACHE_DIR" not in os.environ:  # set before any test module imports JAX
    _CACHE.mkdir(parents=True, exist_ok=True)
    os.environ["JAX_COMPILATION_CACHE_DIR"] = str(_CACHE)
