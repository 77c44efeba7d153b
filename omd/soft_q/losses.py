"""Losses of the soft-Q agents, as pure functions of parameters and a batch.

A batch is a dict with ``obs``, ``onehot`` (the action, one-hot, float), ``reward``,
``next_obs`` and ``not_done_no_max`` (0 only at true terminations: time-limit ends
are bootstrapped). Actions enter as one-hot floats so that every value the
implicit gradient closes over is a float array.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from jax.scipy.special import logsumexp

from omd.soft_q import networks
from omd.soft_q.config import SoftQConfig
from omd.soft_q.networks import Networks

Batch = dict[str, jax.Array]


def state_value(config: SoftQConfig, q: jax.Array) -> jax.Array:
    """V(s) = alpha * logsumexp(Q / alpha), or max_a Q with --hard."""
    if config.hard:
        return jnp.max(q, axis=-1)
    return config.alpha * logsumexp(q / config.alpha, axis=-1)


def policy_logits(config: SoftQConfig, q_heads: jax.Array) -> jax.Array:
    """Logits of the acting policy softmax(mean-over-heads Q / alpha)."""
    return jnp.mean(q_heads, axis=0) / config.alpha


def bellman_target(nets: Networks, config: SoftQConfig, target_params: Any, batch: Batch) -> jax.Array:
    """``r + gamma * V_target(s')`` per transition, ``V`` from the minimum over the target heads
    (double Q). With ``clip_target`` (beyond the paper, off by default) ``V(s')`` is clipped to
    ``batch["value_bounds"]`` (``value_bounds``)."""
    # Only the target network is held fixed: OMD differentiates the targets through the model's
    # rewards and next observations (the gradient w.r.t. theta of grad_w L).
    next_q = networks.q_values(nets, jax.lax.stop_gradient(target_params), batch["next_obs"])
    next_v = state_value(config, jnp.min(next_q, axis=0))
    if config.clip_target:
        next_v = jnp.clip(next_v, batch["value_bounds"][0], batch["value_bounds"][1])
    return batch["reward"] + config.discount * batch["not_done_no_max"] * next_v


def q_loss(nets: Networks, config: SoftQConfig, params: Any, target_params: Any, batch: Batch):
    """Soft Bellman error ``mean (Q_h(s,a) - bellman_target)^2`` over heads and batch.

    Returns ``(loss, aux)`` with the metrics the original logged.
    """
    target = bellman_target(nets, config, target_params, batch)
    q = networks.q_values(nets, params, batch["obs"])
    q_sa = jnp.sum(q * batch["onehot"], axis=-1)
    loss = jnp.mean(jnp.square(q_sa - target))
    logits = policy_logits(config, q)
    probs = jax.nn.softmax(logits, axis=-1)
    entropy = -jnp.sum(probs * jax.nn.log_softmax(logits, axis=-1), axis=-1)
    return loss, {"vals_Q": jnp.mean(q_sa), "entropy_Q": jnp.mean(entropy)}


def value_bounds(config: SoftQConfig, reward: jax.Array, num_actions: int) -> jax.Array:
    """``[low, high]``: the range of soft returns that rewards within ``reward``'s range allow.

    An episode may end at once (value 0) or run forever; each step adds a reward in ``[r_min,
    r_max]`` and, unless --hard, an entropy bonus in ``[0, alpha * log |A|]``: so ``low = min(0,
    r_min) / (1 - gamma)`` and ``high = max(0, r_max + alpha log |A|) / (1 - gamma)``. Taken from the
    real rewards, so a model's reward cannot move the bounds.
    """
    bonus = 0.0 if config.hard else config.alpha * jnp.log(num_actions)
    scale = 1.0 / (1.0 - config.discount)
    return jnp.stack([jnp.minimum(0.0, jnp.min(reward)) * scale, jnp.maximum(0.0, jnp.max(reward) + bonus) * scale])


def model_batch(nets: Networks, config: SoftQConfig, model_params: Any, batch: Batch,
                noise: jax.Array | None) -> tuple[Batch, networks.ModelOutput]:
    """``batch`` with the model's next observations and (unless --no_learn_reward) rewards.

    With ``clip_model_obs`` each predicted component is clipped to the range of the batch's real
    next states, so that value targets are never taken where no data has been.
    """
    pred = networks.predict(nets, model_params, batch["obs"], batch["onehot"], noise)
    next_obs = pred.next_obs
    if config.clip_model_obs:
        real = batch["next_obs"]
        next_obs = jnp.clip(next_obs, jnp.min(real, axis=0), jnp.max(real, axis=0))
    out = dict(batch, next_obs=next_obs)
    if pred.reward is not None:
        out["reward"] = pred.reward
    return out, pred


def prediction_errors(pred: networks.ModelOutput, next_obs: jax.Array) -> dict[str, jax.Array]:
    """Next-state squared error of the mean prediction (the paper's Table 1 metric) and the NLL.

    For a deterministic model the "NLL" is that squared error, as in the original.
    """
    mse = jnp.mean(jnp.sum(jnp.square(pred.mean - next_obs), axis=-1))
    if pred.logstd is None:
        return {"next_obs_mse": mse, "next_obs_nll": mse}
    z = (next_obs - pred.mean) * jnp.exp(-pred.logstd)
    nll = jnp.sum(0.5 * jnp.square(z) + pred.logstd + 0.5 * jnp.log(2.0 * jnp.pi), axis=-1)
    return {"next_obs_mse": mse, "next_obs_nll": jnp.mean(nll)}


def reward_error(pred: networks.ModelOutput, reward: jax.Array) -> jax.Array:
    if pred.reward is None:
        return jnp.zeros((), reward.dtype)
    return jnp.mean(jnp.square(pred.reward - reward))


def mle_loss(nets: Networks, config: SoftQConfig, model_params: Any, batch: Batch, noise: jax.Array | None):
    """Next-state MSE (Gaussian NLL with --prob_model) plus reward MSE."""
    pred = networks.predict(nets, model_params, batch["obs"], batch["onehot"], noise)
    errors = prediction_errors(pred, batch["next_obs"])
    return errors["next_obs_nll"] + reward_error(pred, batch["reward"]), errors


def vep_loss(nets: Networks, config: SoftQConfig, model_params: Any, vep_params: Any, batch: Batch):
    """``sum_i mean (V_i(s') - V_i(s'_model))^2`` over random, fixed value functions, plus reward MSE."""
    pred = networks.predict(nets, model_params, batch["obs"], batch["onehot"], None)
    vep_params = jax.lax.stop_gradient(vep_params)
    v_real = networks.vep_values(nets, vep_params, batch["next_obs"])
    v_model = networks.vep_values(nets, vep_params, pred.next_obs)
    loss = jnp.sum(jnp.mean(jnp.square(v_real - v_model), axis=-1))
    return loss + reward_error(pred, batch["reward"]), prediction_errors(pred, batch["next_obs"])
