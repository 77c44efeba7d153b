"""Sibling model updates with one signature: ``update(agent, state, batch, key) -> (state, metrics)``.

- ``omd``: the model is trained so that the critic it induces fits the *real* data.
  Inner solve: ``inner_steps`` full SAC updates on model-predicted (s', r) from the
  warm-started critic. Outer loss: the SAC critic loss of the solution on the real
  batch. Model gradient through ``omd.implicit.argmin_solve`` with the inner loss
  ``critic_loss(w; model batch)`` whose gradient field the last inner critic step
  descended (same actor, target, temperature and noise as that step), so with
  ``implicit=identity`` the model gradient is minus the mixed second derivative of
  the inner loss applied to the outer gradient; with ``implicit=cg`` the inverse
  Hessian of the critic loss is applied first by CG.
- ``mle``: next-state + reward mean squared error, then the SAC updates on model
  predictions (with the freshly updated model).
- ``vep``: value-equivalence with ``num_ensemble_vep`` random, never-trained state
  value networks V_i (as the original CartPole VEP):
  ``sum_i mean (V_i(s') - V_i(s'_model))^2 + mean (r - r_model)^2``, then the SAC
  updates on model predictions. Random values rather than the critic's own value
  keep the model target fixed, as in the original.
- ``sac``: model-free; the SAC update on the real batch, the model is left untouched.
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp

from omd import implicit
from omd.sac.agent import Agent, AgentState, SACState, apply_grads
from omd.sac.value_step import Batch, critic_loss, noise, sac_step, sac_steps


def model_batch(agent: Agent, model_params, batch: Batch) -> Batch:
    next_obs, reward = agent.model.apply(model_params, batch["obs"], batch["action"])
    return {**batch, "next_obs": next_obs, "reward": reward}


def _model_errors(agent: Agent, model_params, batch: Batch):
    next_obs, reward = agent.model.apply(model_params, batch["obs"], batch["action"])
    state_mse = jnp.mean(jnp.sum((next_obs - batch["next_obs"]) ** 2, -1))
    reward_mse = jnp.mean((reward - batch["reward"]) ** 2)
    return next_obs, state_mse, reward_mse


def _with_model_sac(agent: Agent, state: AgentState, batch: Batch, key: jax.Array, loss_fn: Callable):
    (loss, info), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.model.params)
    model = apply_grads(state.model, grads, agent.model_opt)
    steps_noise = noise(agent, key, (agent.cfg.inner_steps, 2), batch)
    sac, metrics = sac_steps(agent, state.sac, model_batch(agent, model.params, batch), steps_noise)
    return state.replace(sac=sac, model=model), {**metrics, **info, "model_loss": loss}


def mle_update(agent: Agent, state: AgentState, batch: Batch, key: jax.Array):
    def loss_fn(params):
        _, state_mse, reward_mse = _model_errors(agent, params, batch)
        return state_mse + reward_mse, {"model_state_mse": state_mse, "model_reward_mse": reward_mse}

    return _with_model_sac(agent, state, batch, key, loss_fn)


def vep_update(agent: Agent, state: AgentState, batch: Batch, key: jax.Array):
    def loss_fn(params):
        next_obs, state_mse, reward_mse = _model_errors(agent, params, batch)
        values = agent.vep.apply(state.vep, jnp.concatenate([batch["next_obs"], next_obs]))
        real, pred = jnp.split(values, 2, axis=-1)
        value_err = jnp.sum(jnp.mean((real - pred) ** 2, -1))
        return value_err + reward_mse, {"model_state_mse": state_mse, "model_reward_mse": reward_mse,
                                        "model_value_err": value_err}

    return _with_model_sac(agent, state, batch, key, loss_fn)


def sac_update(agent: Agent, state: AgentState, batch: Batch, key: jax.Array):
    sac, metrics = sac_step(agent, state.sac, batch, noise(agent, key, (2,), batch))
    return state.replace(sac=sac), metrics


def inner_sac_solver(agent: Agent, sac: SACState, mbatch: Batch, steps_noise: jax.Array):
    """One SAC step on the model batch per entry of ``steps_noise`` ``[inner_steps, 2, batch, action]``.

    Returns ``(sac_before_last, sac_after, last_critic_noise, metrics)``: OMD's inner loss
    is the critic loss of the last step, so it needs the state that step
    started from and the noise of its next actions.
    """
    before = sac
    if steps_noise.shape[0] > 1:
        before, _ = jax.lax.scan(lambda s, n: sac_step(agent, s, mbatch, n), sac, steps_noise[:-1])
    last = steps_noise[-1]
    after, metrics = sac_step(agent, before, mbatch, last)
    # last[0] is the very slice sac_step takes, so XLA shares the inner loss's target computation with this step's.
    return before, after, last[0], metrics


def omd_noise(agent: Agent, key: jax.Array, batch: Batch):
    """All of one OMD update's noise from one draw: ``(inner [K, 2, B, A], outer [B, A])``."""
    k = agent.cfg.inner_steps
    drawn = noise(agent, key, (2 * k + 1,), batch)
    return drawn[:-1].reshape(k, 2, *drawn.shape[1:]), drawn[-1]


def omd_model_grad(agent: Agent, state: AgentState, batch: Batch, key: jax.Array, solver=inner_sac_solver):
    """Model gradient of the outer (real-data critic) loss, the solved SAC state and metrics.

    ``solver(agent, sac, model_batch, steps_noise)`` has ``inner_sac_solver``'s
    contract; tests swap in one that solves the critic to convergence.
    """
    inner_noise, outer_noise = omd_noise(agent, key, batch)
    cfg = agent.cfg
    options = {"damping": cfg.cg_damping, "maxiter": cfg.cg_maxiter} if cfg.implicit == "cg" else {}

    def outer(theta):
        fixed = jax.lax.stop_gradient(theta)
        before, after, f_noise, metrics = solver(agent, state.sac, model_batch(agent, fixed, batch), inner_noise)

        def inner_loss(w, th):
            return critic_loss(agent, w, before, model_batch(agent, th, batch), f_noise)[0]

        w_star, (after, metrics) = implicit.argmin_solve(
            inner_loss, lambda w0, th: (after.critic.params, (after, metrics)), state.sac.critic.params, theta,
            method=cfg.implicit, **options,
        )
        loss, info = critic_loss(agent, w_star, after, batch, outer_noise)
        return loss, (after, metrics, info)

    (loss, (sac, metrics, info)), grads = jax.value_and_grad(outer, has_aux=True)(state.model.params)
    return grads, sac, {**metrics, "outer_critic_loss": loss, "outer_q": info["q"]}


def omd_update(agent: Agent, state: AgentState, batch: Batch, key: jax.Array):
    grads, sac, metrics = omd_model_grad(agent, state, batch, key)
    model = apply_grads(state.model, grads, agent.model_opt)
    return state.replace(sac=sac, model=model), metrics


UPDATES = {"omd": omd_update, "mle": mle_update, "vep": vep_update, "sac": sac_update}
