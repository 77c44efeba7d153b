"""A pytree as one vector per dtype, for compiled calls that cross the host often.

Each leaf passed to or returned by a jitted call is a device buffer that the runtime
tracks on every call. On a GPU host that bookkeeping dominates a small-batch update: the
MuJoCo agent state has 69 leaves, and on an H100 machine each buffer in or out added
about 2-6 us to a call's dispatch. Packed as one vector per dtype (three for that state),
the call passes three; XLA fuses the slicing and concatenation inside the call. On CPU
the packing's copy of the state costs more than it saves, so CPUs keep the pytree.
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
    leaves: tuple[tuple[int, int, tuple[int, ...]], ...]  # (vector index, start, shape) per leaf

    @classmethod
    def of(cls, tree) -> FlatLayout:
        """The layout of ``tree`` (arrays or ``jax.ShapeDtypeStruct``s)."""
        flat, treedef = jax.tree.flatten(tree)
        dtypes, sizes, leaves = [], [], []
        for leaf in flat:
            dtype = np.dtype(leaf.dtype)
            if dtype not in dtypes:
                dtypes.append(dtype)
                sizes.append(0)
            group = dtypes.index(dtype)
            leaves.append((group, sizes[group], tuple(leaf.shape)))
            sizes[group] += math.prod(leaf.shape)
        return cls(treedef, tuple(dtypes), tuple(leaves))

    def pack(self, tree) -> tuple[jax.Array, ...]:
        flat = jax.tree.leaves(tree)
        if len(flat) != len(self.leaves):
            raise ValueError(f"expected a pytree of {len(self.leaves)} leaves, got {len(flat)}")
        parts = [[] for _ in self.dtypes]
        for leaf, (group, _, _) in zip(flat, self.leaves):
            parts[group].append(jnp.ravel(leaf))
        return tuple(jnp.concatenate(p) for p in parts)

    def unpack(self, vectors) -> Any:
        flat = [vectors[g][start:start + math.prod(shape)].reshape(shape) for g, start, shape in self.leaves]
        return jax.tree.unflatten(self.treedef, flat)
