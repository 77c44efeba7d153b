"""A pytree as one vector per dtype, for compiled calls that cross the host often.

Each leaf passed to or returned by a jitted call is a device buffer that the runtime
tracks on every call, so a call's dispatch grows with its leaves; on a GPU host that
bookkeeping dominates a small-batch update. Packed as one vector per dtype, the call
passes a few; XLA fuses the slicing and concatenation inside the call. On CPU copying the
weight matrices into a vector costs more than their buffers do, so there only the small
leaves are packed (``max_size``): biases, step and Adam counts, the temperature and the
key. Measurements: ``docs/results/performance.md``, "MuJoCo suite".
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np


@dataclasses.dataclass(frozen=True)
class FlatLayout:
    """Where each leaf of a pytree of a fixed structure lives in its dtype's vector."""

    treedef: Any
    dtypes: tuple[np.dtype, ...]  # one vector per dtype, in this order
    # (vector index, start, shape) per leaf; index -1: not packed, start counts those leaves
    leaves: tuple[tuple[int, int, tuple[int, ...]], ...]

    @classmethod
    def of(cls, tree, max_size: int | None = None) -> FlatLayout:
        """The layout of ``tree`` (arrays or ``jax.ShapeDtypeStruct``s).

        Leaves of more than ``max_size`` elements (if given) are not packed: they pass
        through as they are, after the vectors.
        """
        flat, treedef = jax.tree.flatten(tree)
        dtypes, sizes, leaves, kept = [], [], [], 0
        for leaf in flat:
            if max_size is not None and math.prod(leaf.shape) > max_size:
                leaves.append((-1, kept, tuple(leaf.shape)))
                kept += 1
                continue
            dtype = np.dtype(leaf.dtype)
            if dtype not in dtypes:
                dtypes.append(dtype)
                sizes.append(0)
            group = dtypes.index(dtype)
            leaves.append((group, sizes[group], tuple(leaf.shape)))
            sizes[group] += math.prod(leaf.shape)
        return cls(treedef, tuple(dtypes), tuple(leaves))

    def pack(self, tree) -> tuple[jax.Array, ...]:
        """One vector per dtype, then the leaves left unpacked."""
        flat = jax.tree.leaves(tree)
        if len(flat) != len(self.leaves):
            raise ValueError(f"expected a pytree of {len(self.leaves)} leaves, got {len(flat)}")
        parts, kept = [[] for _ in self.dtypes], []
        for leaf, (group, _, _) in zip(flat, self.leaves):
            if group < 0:
                kept.append(leaf)
            else:
                parts[group].append(jnp.ravel(leaf))
        return (*(jnp.concatenate(p) for p in parts), *kept)

    def unpack(self, packed) -> Any:
        vectors, kept = packed[:len(self.dtypes)], packed[len(self.dtypes):]
        flat = [kept[start] if g < 0 else vectors[g][start:start + math.prod(shape)].reshape(shape)
                for g, start, shape in self.leaves]
        return jax.tree.unflatten(self.treedef, flat)
