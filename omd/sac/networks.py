"""SAC networks: tanh-Gaussian actor, fused double critic, deterministic model, random VEP values.

All layers use the orthogonal sqrt(2) initialisation of the original (jaxrl-based)
MuJoCo code, including output layers.
"""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from omd.nets import MLP, Ensemble

LOG_STD_MIN, LOG_STD_MAX = -10.0, 2.0


class Actor(nn.Module):
    """Returns the mean and the clipped log-std of the pre-tanh Gaussian."""

    hidden_dims: Sequence[int]
    action_dim: int

    @nn.compact
    def __call__(self, obs):
        out = MLP(self.hidden_dims, 2 * self.action_dim, last_scale=None)(obs)
        mean, log_std = jnp.split(out, 2, axis=-1)
        return mean, jnp.clip(log_std, LOG_STD_MIN, LOG_STD_MAX)


class DoubleCritic(nn.Module):
    """Both Q heads in one batched call; output ``[2, batch]``."""

    hidden_dims: Sequence[int]

    @nn.compact
    def __call__(self, obs, action):
        x = jnp.concatenate([obs, action], -1)
        return Ensemble(2, self.hidden_dims, 1, last_scale=None)(x)[..., 0]


class Model(nn.Module):
    """Deterministic (s, a) -> (s', r) with two hidden layers of ``hidden_dim``."""

    hidden_dim: int
    obs_dim: int

    @nn.compact
    def __call__(self, obs, action):
        out = MLP((self.hidden_dim, self.hidden_dim), self.obs_dim + 1, last_scale=None)(
            jnp.concatenate([obs, action], -1)
        )
        return out[..., :-1], out[..., -1]


class ValueEnsemble(nn.Module):
    """VEP's ``num`` random, never-trained state-value networks; output ``[num, batch]``."""

    hidden_dims: Sequence[int]
    num: int

    @nn.compact
    def __call__(self, obs):
        return Ensemble(self.num, self.hidden_dims, 1, last_scale=None)(obs)[..., 0]


def sample_action(actor: Actor, params, obs, noise):
    """A reparameterised tanh-Gaussian sample and its log-probability (summed over action dims).

    ``noise`` is standard normal, shaped like the action batch (see ``omd.sac.updates.noise``).
    """
    mean, log_std = actor.apply(params, obs)
    std = jnp.exp(log_std)
    pre = mean + std * noise
    action = jnp.tanh(pre)
    gauss = -0.5 * noise**2 - log_std - 0.5 * jnp.log(2 * jnp.pi)
    # log(1 - tanh(u)^2) written stably.
    squash = 2.0 * (jnp.log(2.0) - pre - jax.nn.softplus(-2.0 * pre))
    return action, jnp.sum(gauss - squash, -1)


def mode_action(actor: Actor, params, obs):
    return jnp.tanh(actor.apply(params, obs)[0])
