"""Optimal Model Design (OMD) in JAX: the library shared by the three suites.

Submodules load on first use (``omd.implicit``, ``omd.replay``, ...), so that light
tools such as the sweep runner can import ``omd`` without paying for JAX.
"""

import importlib

__version__ = "0.1.0"
_SUBMODULES = ("implicit", "nets", "replay", "logging", "config", "checkpoint", "devices", "tabular", "soft_q", "sac", "envs", "sweep")
__all__ = list(_SUBMODULES)


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"omd.{name}")
    raise AttributeError(f"module 'omd' has no attribute {name!r}")
