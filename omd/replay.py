"""A fixed-capacity replay buffer that lives on the device.

The buffer is a pytree, so ``add`` and ``sample`` run inside ``jit``/``scan`` and
``vmap`` over a leading seed axis. ``add`` writes one slot with
``dynamic_update_index_in_dim``; under ``jit`` with the buffer donated (or inside a
``scan`` carry) XLA updates in place, so an insert costs O(transition), not
O(capacity) as in the original's per-insert full-array copy.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from jax import lax


@struct.dataclass
class ReplayBuffer:
    data: dict[str, jnp.ndarray]
    ptr: jnp.ndarray  # next slot to write
    size: jnp.ndarray  # number of valid slots

    @property
    def capacity(self) -> int:
        return jax.tree.leaves(self.data)[0].shape[0]


def init(example: dict[str, Any], capacity: int) -> ReplayBuffer:
    """An empty buffer whose slots are shaped and typed like ``example``."""
    if capacity < 1:
        raise ValueError(f"Replay capacity must be positive, got {capacity}.")
    data = jax.tree.map(lambda x: jnp.zeros((capacity, *jnp.shape(x)), jnp.asarray(x).dtype), example)
    # separate arrays: a donated buffer must not alias two of its leaves
    return ReplayBuffer(data=data, ptr=jnp.zeros((), jnp.int32), size=jnp.zeros((), jnp.int32))


def add(buf: ReplayBuffer, transition: dict[str, Any]) -> ReplayBuffer:
    """Store one transition, overwriting the oldest once full."""
    data = jax.tree.map(
        lambda store, x: lax.dynamic_update_index_in_dim(store, jnp.asarray(x, store.dtype), buf.ptr, 0),
        buf.data,
        transition,
    )
    cap = buf.capacity
    return buf.replace(data=data, ptr=(buf.ptr + 1) % cap, size=jnp.minimum(buf.size + 1, cap))


def add_batch(buf: ReplayBuffer, transitions: dict[str, Any]) -> ReplayBuffer:
    """Store ``n`` transitions (leading axis ``n``) in order, wrapping around."""
    n = jax.tree.leaves(transitions)[0].shape[0]
    cap = buf.capacity
    idx = (buf.ptr + jnp.arange(n)) % cap
    data = jax.tree.map(lambda store, x: store.at[idx].set(jnp.asarray(x, store.dtype)), buf.data, transitions)
    return buf.replace(data=data, ptr=(buf.ptr + n) % cap, size=jnp.minimum(buf.size + n, cap))


def sample(buf: ReplayBuffer, key: jax.Array, batch_size: int, replace: bool = True) -> dict[str, jnp.ndarray]:
    """``batch_size`` transitions drawn uniformly from the stored ones, with replacement or
    (``replace=False``, as the original CartPole buffer) without; then at least ``batch_size``
    must be stored, or some indices repeat."""
    high = jnp.maximum(buf.size, 1)
    idx = jax.random.randint(key, (batch_size,), 0, high)
    if not replace:
        idx = _redraw_repeats(jax.random.fold_in(key, 1), idx, high)
    return jax.tree.map(lambda store: store[idx], buf.data)


def _redraw_repeats(key: jax.Array, idx: jax.Array, high: jax.Array) -> jax.Array:
    """Distinct indices: redraw every repeat of an index uniformly until none is left.

    Which copy is redrawn does not depend on the labels, so the result is a uniformly random
    subset; each round leaves about batch^2 / (2 * high) repeats, so a few rounds suffice.
    With ``high < len(idx)`` it stops after 64 rounds with repeats left.
    """

    def repeats(idx):
        order = jnp.argsort(idx)
        sorted_idx = idx[order]
        again = jnp.concatenate([jnp.zeros(1, bool), sorted_idx[1:] == sorted_idx[:-1]])
        return jnp.zeros_like(again).at[order].set(again)

    def body(carry):  # the repeats mask rides in the carry, so each round sorts once
        idx, again, key, rounds = carry
        key, sub = jax.random.split(key)
        idx = jnp.where(again, jax.random.randint(sub, idx.shape, 0, high), idx)
        return idx, repeats(idx), key, rounds + 1

    def cond(carry):
        _, again, _, rounds = carry
        return again.any() & (rounds < 64)

    idx, _, _, _ = jax.lax.while_loop(cond, body, (idx, repeats(idx), key, jnp.zeros((), jnp.int32)))
    return idx


def oldest_first(buf: ReplayBuffer) -> dict[str, np.ndarray]:
    """The stored transitions as host arrays, oldest first: the one serialised form of a buffer."""
    data, size, ptr = jax.device_get((buf.data, buf.size, buf.ptr))
    order = (int(ptr) - int(size) + np.arange(int(size))) % buf.capacity
    return {k: np.asarray(v)[order] for k, v in data.items()}


def refill(template: ReplayBuffer, transitions: dict[str, np.ndarray], ptr: int | None = None) -> ReplayBuffer:
    """``template`` (an empty buffer) holding ``transitions`` (oldest first, as ``oldest_first`` gives them).

    ``ptr``: the saved buffer's next slot. With it and the saved capacity, every transition
    returns to its slot, so sampling continues exactly as before the save; without it (or
    with another capacity) they fill the slots from 0 on.
    """
    size, capacity = len(next(iter(transitions.values()))), template.capacity
    if size > capacity:
        raise ValueError(f"{size} saved transitions do not fit a replay buffer of capacity {capacity}.")
    slots = np.arange(size) if ptr is None else (ptr - size + np.arange(size)) % capacity
    data = {k: np.zeros(v.shape, v.dtype) for k, v in jax.device_get(template.data).items()}
    for k in data:
        data[k][slots] = transitions[k]
    next_slot = size % capacity if ptr is None else ptr % capacity
    return template.replace(data=jax.device_put(data), ptr=jnp.asarray(next_slot, jnp.int32),
                            size=jnp.asarray(size, jnp.int32))
