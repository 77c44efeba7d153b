"""Network builders shared by the suites (flax linen).

Initialisation follows the original code: orthogonal weights with scale sqrt(2) in
hidden layers, a small orthogonal scale (1e-2) on the output layer where the
original used it, zero biases.
"""

from __future__ import annotations

from typing import Callable, Sequence

import flax.linen as nn
import jax.numpy as jnp

SQRT2 = 2.0**0.5


def dense(features: int, scale: float = SQRT2, name: str | None = None) -> nn.Dense:
    return nn.Dense(
        features,
        kernel_init=nn.initializers.orthogonal(scale),
        bias_init=nn.initializers.zeros,
        name=name,
    )


class MLP(nn.Module):
    """``len(hidden_dims)`` ReLU layers then a linear output of ``out_dim``.

    ``last_scale`` is the orthogonal scale of the output layer; ``None`` uses the
    hidden-layer scale sqrt(2). ``out_dim=None`` returns the last hidden layer.
    """

    hidden_dims: Sequence[int]
    out_dim: int | None
    last_scale: float | None = 1e-2
    activation: Callable[[jnp.ndarray], jnp.ndarray] = nn.relu
    activate_final: bool = False

    @nn.compact
    def __call__(self, x: jnp.ndarray) -> jnp.ndarray:
        for i, width in enumerate(self.hidden_dims):
            x = self.activation(dense(width, name=f"hidden_{i}")(x))
        if self.out_dim is None:
            return x
        scale = SQRT2 if self.last_scale is None else self.last_scale
        x = dense(self.out_dim, scale, name="out")(x)
        return self.activation(x) if self.activate_final else x


class Ensemble(nn.Module):
    """``num`` independently initialised copies of an MLP, evaluated as one batched call.

    Double Q heads and random value ensembles use this so that every member's
    matrix product runs in one XLA op; the output has a leading axis of size ``num``.
    """

    num: int
    hidden_dims: Sequence[int]
    out_dim: int | None
    last_scale: float | None = 1e-2
    activation: Callable[[jnp.ndarray], jnp.ndarray] = nn.relu

    @nn.compact
    def __call__(self, x: jnp.ndarray) -> jnp.ndarray:
        members = nn.vmap(
            MLP,
            variable_axes={"params": 0},
            split_rngs={"params": True},
            in_axes=None,
            out_axes=0,
            axis_size=self.num,
        )
        return members(self.hidden_dims, self.out_dim, self.last_scale, self.activation, name="members")(x)
