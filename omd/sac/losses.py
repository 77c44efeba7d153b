"""Losses of the MuJoCo agents, as pure functions of parameters and a batch.

The SAC losses follow Haarnoja et al. 2018 ("Soft Actor-Critic Algorithms and
Applications") as jaxrl's SAC implements them: the critic's soft Bellman error, the
actor's objective on reparameterised samples, the temperature's objective against
the entropy target. The model losses are MLE's prediction
error and VEP's value-equivalence error. A batch is a dict with ``obs``, ``action``,
``reward``, ``mask`` (0 only at true terminations) and ``next_obs``; action noise
comes in as standard-normal arrays (``omd.sac.updates.noise``).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from omd.sac.agent import Agent, SACState, temperature
from omd.sac.networks import sample_action

Batch = dict  # obs, action, reward, mask, next_obs


def critic_loss(agent: Agent, critic_params, sac: SACState, batch: Batch, next_noise: jax.Array):
    """Soft Bellman error of both heads against the min of the target heads.

    ``next_noise`` draws the next actions. The target is not stop-gradiented: it
    depends on the critic only through the separate target parameters, and for OMD
    its gradient w.r.t. the model's (reward, next state) is the point. As in the
    original, the actor sees the next state without gradient, so that gradient flows
    through the reward and the target critic's input only, not through the next
    action or its log-probability. The forward value and every gradient w.r.t. the
    critic parameters are unchanged by it (SAC, MLE, VEP); only OMD's derivative in
    the model differs.
    """
    next_action, next_logp = sample_action(agent.actor, sac.actor.params, jax.lax.stop_gradient(batch["next_obs"]),
                                           next_noise)
    next_q = agent.critic.apply(sac.critic.target_params, batch["next_obs"], next_action).min(0)
    temp = temperature(sac)
    target = batch["reward"] + agent.cfg.discount * batch["mask"] * (next_q - temp * next_logp)
    q = agent.critic.apply(critic_params, batch["obs"], batch["action"])
    loss = jnp.mean(jnp.sum((q - target) ** 2, 0))
    return loss, {"critic_loss": loss, "q": q.mean()}


def critic_grad(agent: Agent, critic_params, sac: SACState, batch: Batch, next_noise: jax.Array):
    """The critic loss's gradient in the critic parameters, and its metrics."""
    return jax.grad(critic_loss, argnums=1, has_aux=True)(agent, critic_params, sac, batch, next_noise)


def actor_loss(agent: Agent, actor_params, critic_params, temp: jax.Array, obs: jax.Array, action_noise: jax.Array):
    """``mean(temp * log pi(a|s) - min_i Q_i(s, a))`` with ``a`` sampled by ``action_noise``; aux: the entropy estimate."""
    action, logp = sample_action(agent.actor, actor_params, obs, action_noise)
    q = agent.critic.apply(critic_params, obs, action).min(0)
    return jnp.mean(temp * logp - q), -logp.mean()


def temperature_loss(agent: Agent, temp_params, entropy: jax.Array):
    """``temp * (entropy - target_entropy)``: the temperature falls while the entropy is above its target."""
    return jnp.exp(temp_params["log_temp"]) * (entropy - agent.target_entropy)


def model_batch(agent: Agent, model_params, batch: Batch) -> Batch:
    """``batch`` with the model's predicted next observations and rewards."""
    next_obs, reward = agent.model.apply(model_params, batch["obs"], batch["action"])
    return {**batch, "next_obs": next_obs, "reward": reward}


def model_errors(agent: Agent, model_params, batch: Batch):
    """The predicted next observations, their summed squared error and the reward's squared error (batch means)."""
    next_obs, reward = agent.model.apply(model_params, batch["obs"], batch["action"])
    state_mse = jnp.mean(jnp.sum((next_obs - batch["next_obs"]) ** 2, -1))
    reward_mse = jnp.mean((reward - batch["reward"]) ** 2)
    return next_obs, state_mse, reward_mse


def mle_loss(agent: Agent, model_params, batch: Batch):
    """MLE (a deterministic model): next-state plus reward mean squared error."""
    _, state_mse, reward_mse = model_errors(agent, model_params, batch)
    return state_mse + reward_mse, {"model_state_mse": state_mse, "model_reward_mse": reward_mse}


def vep_loss(agent: Agent, model_params, vep_params, batch: Batch):
    """VEP: ``sum_i mean (V_i(s') - V_i(s'_model))^2 + mean (r - r_model)^2`` over the random values V_i."""
    next_obs, state_mse, reward_mse = model_errors(agent, model_params, batch)
    values = agent.vep.apply(vep_params, jnp.concatenate([batch["next_obs"], next_obs]))
    real, pred = jnp.split(values, 2, axis=-1)
    value_err = jnp.sum(jnp.mean((real - pred) ** 2, -1))
    return value_err + reward_mse, {"model_state_mse": state_mse, "model_reward_mse": reward_mse,
                                    "model_value_err": value_err}
