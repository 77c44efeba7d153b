"""Network builders shared by the suites (flax linen).

Initialisation follows the original code: orthogonal weights with scale sqrt(2) in
hidden layers, a small orthogonal scale (1e-2) on the output layer where the
original used it, zero biases.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

SQRT2 = 2.0**0.5


def dense(features: int, scale: float = SQRT2, name: str | None = None, param_dtype: Any = jnp.float32) -> nn.Dense:
    return nn.Dense(
        features,
        kernel_init=nn.initializers.orthogonal(scale),
        bias_init=nn.initializers.zeros,
        name=name,
        param_dtype=param_dtype,
    )


class MLP(nn.Module):
    """``len(hidden_dims)`` ReLU layers then a linear output of ``out_dim``.

    ``last_scale`` is the orthogonal scale of the output layer; ``None`` uses the
    hidden-layer scale sqrt(2). ``activation``: ReLU in every network; gradient tests swap in
    a smooth one so that finite differences are meaningful. ``param_dtype``: float64 needs
    JAX's x64 mode; products then run in float64 whatever the input's dtype.
    """

    hidden_dims: Sequence[int]
    out_dim: int
    last_scale: float | None = 1e-2
    activation: Callable[[jnp.ndarray], jnp.ndarray] = nn.relu
    param_dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x: jnp.ndarray) -> jnp.ndarray:
        for i, width in enumerate(self.hidden_dims):
            x = self.activation(dense(width, name=f"hidden_{i}", param_dtype=self.param_dtype)(x))
        last = SQRT2 if self.last_scale is None else self.last_scale
        return dense(self.out_dim, last, name="out", param_dtype=self.param_dtype)(x)


class _StackedDense(nn.Module):
    """Parameters of ``num`` independently initialised dense layers: kernel ``[num, in, out]``, bias ``[num, out]``."""

    num: int
    features: int
    scale: float
    param_dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, in_features: int):
        init = nn.initializers.orthogonal(self.scale)

        def kernel_init(key, shape, dtype):
            return jax.vmap(lambda k: init(k, shape[1:], dtype))(jax.random.split(key, shape[0]))

        kernel = self.param("kernel", kernel_init, (self.num, in_features, self.features), self.param_dtype)
        bias = self.param("bias", nn.initializers.zeros, (self.num, self.features), self.param_dtype)
        return kernel, bias


class _Members(nn.Module):
    """The stacked layers of an ``Ensemble`` (parameters only), named like ``MLP``'s."""

    num: int
    widths: Sequence[int]
    scales: Sequence[float]
    names: Sequence[str]
    param_dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, in_features: int):
        layers = []
        for width, scale, name in zip(self.widths, self.scales, self.names):
            layers.append(_StackedDense(self.num, width, scale, self.param_dtype, name=name)(in_features))
            in_features = width
        return layers


class Ensemble(nn.Module):
    """``num`` independently initialised copies of an MLP, evaluated together; output ``[num, ..., out]``.

    Member ``i`` has the parameters ``tree.map(lambda p: p[i], params["members"])``
    of an ``MLP``. The members share their input, so their first layers run as one
    ``[in, num * width]`` matrix product, which on CPU beats ``num`` products with a short
    (observation-sized) contraction (``docs/results/performance.md``). The later layers are one
    batched product each.
    """

    num: int
    hidden_dims: Sequence[int]
    out_dim: int
    last_scale: float | None = 1e-2
    param_dtype: Any = jnp.float32  # as MLP's

    @nn.compact
    def __call__(self, x: jnp.ndarray) -> jnp.ndarray:
        hidden = list(self.hidden_dims)
        widths = hidden + [self.out_dim]
        names = [f"hidden_{i}" for i in range(len(hidden))] + ["out"]
        scales = [SQRT2] * len(hidden) + [SQRT2 if self.last_scale is None else self.last_scale]
        layers = _Members(self.num, tuple(widths), tuple(scales), tuple(names), self.param_dtype,
                          name="members")(x.shape[-1])
        activations = [nn.relu] * len(hidden) + [lambda h: h]

        lead, flat = x.shape[:-1], x.reshape(-1, x.shape[-1])
        (kernel, bias), width = layers[0], widths[0]
        wide = jnp.transpose(kernel, (1, 0, 2)).reshape(x.shape[-1], self.num * width)
        h = activations[0](flat @ wide + bias.reshape(-1)).reshape(-1, self.num, width)
        h = jnp.swapaxes(h, 0, 1) if len(layers) == 1 else h  # [num, batch, width] from here on
        for i, ((kernel, bias), act) in enumerate(zip(layers[1:], activations[1:])):
            spec = "bni,nio->nbo" if i == 0 else "nbi,nio->nbo"
            h = act(jnp.einsum(spec, h, kernel) + bias[:, None, :])
        return h.reshape(self.num, *lead, h.shape[-1])
