"""Networks of the soft-Q agents: double-Q heads, the model, VEP's random value ensemble.

As in the original: two hidden ReLU layers, orthogonal init (scale sqrt(2), output
layer 1e-2), the two Q heads as independent MLPs, the model as a next-state MLP
and a separate reward MLP taking ``concat(obs, one_hot(action))``.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import flax.linen as nn
import jax.numpy as jnp

from omd.nets import MLP, Ensemble
from omd.soft_q.config import SoftQConfig

LOGSTD_MIN, LOGSTD_MAX = -5.0, 2.0


class Networks(NamedTuple):
    """The flax modules (static structure); parameters live in the agent state."""

    q: Ensemble  # [heads, batch, actions]
    next_state: MLP  # obs_dim outputs, or 2 * obs_dim (means, log-stds) for a Gaussian model
    reward: MLP | None  # None with --no_learn_reward
    vep: Ensemble | None  # random value functions, VEP only
    obs_dim: int
    num_actions: int
    residual: bool = False  # next_state's output is s' - s (--model_residual), not s' (the original's)


class ModelOutput(NamedTuple):
    next_obs: jax.Array  # a sample for a Gaussian model, else the prediction
    mean: jax.Array
    logstd: jax.Array | None
    reward: jax.Array | None


def make_networks(config: SoftQConfig, obs_dim: int, num_actions: int) -> Networks:
    hidden = (config.hidden_dim, config.hidden_dim)
    model_hidden = (config.model_hidden_dim, config.model_hidden_dim)
    state_out = 2 * obs_dim if config.prob_model else obs_dim
    dtype = {"param_dtype": jnp.float64 if config.x64 else jnp.float32}  # float64 needs JAX's x64 mode
    activation = getattr(nn, config.model_activation)  # nn.relu (the original's) or nn.leaky_relu (slope 0.01)
    return Networks(
        q=Ensemble(num=config.num_q_heads, hidden_dims=hidden, out_dim=num_actions, **dtype),
        next_state=MLP(model_hidden, state_out, activation=activation, **dtype),
        reward=None if config.no_learn_reward else MLP(model_hidden, 1, activation=activation, **dtype),
        vep=(Ensemble(num=config.num_ensemble_vep, hidden_dims=hidden, out_dim=1, **dtype)
             if config.algo == "vep" else None),
        obs_dim=obs_dim,
        num_actions=num_actions,
        residual=config.model_residual,
    )


def init_q(nets: Networks, key: jax.Array) -> Any:
    return nets.q.init(key, jnp.zeros((1, nets.obs_dim), jnp.float32))["params"]


def init_model(nets: Networks, key: jax.Array) -> dict[str, Any]:
    x = jnp.zeros((1, nets.obs_dim + nets.num_actions), jnp.float32)
    key_s, key_r = jax.random.split(key)
    params = {"next_state": nets.next_state.init(key_s, x)["params"]}
    if nets.reward is not None:
        params["reward"] = nets.reward.init(key_r, x)["params"]
    return params


def init_vep(nets: Networks, key: jax.Array) -> Any:
    if nets.vep is None:
        return None
    return nets.vep.init(key, jnp.zeros((1, nets.obs_dim), jnp.float32))["params"]


def q_values(nets: Networks, params: Any, obs: jax.Array) -> jax.Array:
    """Q(s, .) of every head: shape ``[heads, *obs.shape[:-1], actions]``."""
    return nets.q.apply({"params": params}, obs)


def vep_values(nets: Networks, params: Any, obs: jax.Array) -> jax.Array:
    return nets.vep.apply({"params": params}, obs)[..., 0]


def predict(nets: Networks, params: dict[str, Any], obs: jax.Array, action_onehot: jax.Array,
            noise: jax.Array | None) -> ModelOutput:
    """The model's next observation and reward; ``noise`` (standard normal) samples a Gaussian model."""
    x = jnp.concatenate([obs, action_onehot], axis=-1)
    out = nets.next_state.apply({"params": params["next_state"]}, x)
    reward = None if nets.reward is None else nets.reward.apply({"params": params["reward"]}, x)[..., 0]
    if out.shape[-1] == nets.obs_dim:
        out = obs + out if nets.residual else out
        return ModelOutput(out, out, None, reward)
    mean, logstd = jnp.split(out, 2, axis=-1)
    mean = obs + mean if nets.residual else mean
    logstd = jnp.clip(logstd, LOGSTD_MIN, LOGSTD_MAX)
    return ModelOutput(mean + jnp.exp(logstd) * noise, mean, logstd, reward)
