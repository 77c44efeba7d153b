"""Turning parsed flags into typed, frozen configs.

Entry scripts own the flags; library code receives one of these dataclasses and
never reads a global.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Iterable, Mapping, TypeVar

T = TypeVar("T")


def _lookup(source: Any, name: str) -> Any:
    if isinstance(source, Mapping):
        return source[name]
    try:  # absl FlagValues and ml_collections ConfigDict both support attribute access
        return getattr(source, name)
    except AttributeError as err:
        raise KeyError(name) from err


def from_flags(cls: type[T], source: Any, names: Mapping[str, str] | None = None, **overrides: Any) -> T:
    """Build dataclass ``cls`` from a FlagValues / ConfigDict / dict, each field read under its flag name.

    ``names`` maps a field to its flag where they differ (CartPole's original flag names). Every
    field must be in ``source`` or ``overrides``: a missing one raises ``KeyError`` naming it, so a
    renamed flag cannot silently fall back to the dataclass default (the one contract both suites use).
    """
    names = names or {}
    kwargs = {}
    for field in dataclasses.fields(cls):
        if field.name in overrides:
            kwargs[field.name] = overrides[field.name]
            continue
        flag = names.get(field.name, field.name)
        try:
            kwargs[field.name] = _lookup(source, flag)
        except KeyError:
            raise KeyError(f"{cls.__name__}.{field.name} has no flag or config entry {flag!r}") from None
    return cls(**kwargs)


def check_choice(name: str, value: Any, choices: Iterable[Any]) -> Any:
    """Return ``value`` if allowed, else raise ``ValueError`` listing the allowed values."""
    choices = tuple(choices)
    if value not in choices:
        allowed = ", ".join(repr(c) for c in choices)
        raise ValueError(f"--{name}={value!r} is not supported; choose one of {allowed}.")
    return value
