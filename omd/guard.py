"""Stop a run that has gone non-finite, at the next log boundary.

Training loops already fetch their metrics once per log interval; checking those
host copies costs the compiled loop nothing.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import numpy as np


class NonFiniteError(RuntimeError):
    """A loss, metric or parameter became NaN or infinite; the message names which and where."""


def first_nonfinite(metrics: Mapping[str, Any]) -> str | None:
    """The first key (in order) whose value holds a NaN or an infinity, else ``None``.

    Values may be scalars or arrays (e.g. one entry per vmapped seed).
    """
    for key, value in metrics.items():
        array = np.asarray(value)
        if np.issubdtype(array.dtype, np.floating) and not np.all(np.isfinite(array)):
            return key
    return None


def check_finite(metrics: Mapping[str, Any], step: int, where: str) -> None:
    """Raise ``NonFiniteError`` naming ``where`` (agent, seed), the step and the first non-finite metric."""
    key = first_nonfinite(metrics)
    if key is not None:
        value = np.asarray(metrics[key])
        shown = float(value) if value.ndim == 0 else value.tolist()
        raise NonFiniteError(
            f"{where}: {key} is not finite ({shown}) at step {step}; training stopped. "
            "Outputs written so far are kept. Lower the learning rates or check the settings."
        )


def check_seeds(sums: Mapping[str, Any], seeds: Sequence[int], step: int, what: str,
                diverged: dict[int, int]) -> list[str]:
    """Record in ``diverged`` the seeds (``sums``' leading axis) whose metrics turned non-finite; warn once each.

    Raises ``NonFiniteError`` once every seed has: a single run stops as before, but one diverged
    seed of several (vmapped, so the others are unaffected) does not take the others down; it goes
    on as the original's run would, its rows recording NaN metrics and what its agent does.
    """
    messages = []
    for i, seed in enumerate(seeds):
        if seed in diverged:
            continue
        metrics = {k: v[i] for k, v in sums.items()}
        if len(diverged) == len(seeds) - 1:
            check_finite(metrics, step, f"{what}, seed {seed}")
        key = first_nonfinite(metrics)
        if key is not None:
            diverged[seed] = step
            messages.append(f"[seed {seed}] warning: {what}, seed {seed}: {key} is not finite at step {step}; "
                            "this seed has diverged. The other seeds go on; its rows record NaN metrics and its "
                            "evaluations what its agent does from here.")
    return messages


def check_range(name: str, value: float, low: float | None = None, high: float | None = None,
                low_open: bool = False, high_open: bool = False) -> float:
    """Return ``value`` if it is finite and inside the interval, else raise ``ValueError`` naming ``name``.

    ``low``/``high`` of ``None`` leave that side unbounded; ``*_open`` excludes the bound itself.
    """
    below = low is not None and (value <= low if low_open else value < low)
    above = high is not None and (value >= high if high_open else value > high)
    if not math.isfinite(value) or below or above:
        left = "(-inf" if low is None else ("(" if low_open else "[") + f"{low:g}"
        right = "inf)" if high is None else f"{high:g}" + (")" if high_open else "]")
        raise ValueError(f"{name}={value!r} is out of range; it must be finite and in {left}, {right}.")
    return value
