"""Sibling model updates with one signature: ``update(agent, state, batch, key) -> (state, metrics)``.

- ``omd``: the model is trained so that the critic it induces fits the *real* data.
  Inner solve: ``inner_steps`` full SAC updates on model-predicted (s', r) from the
  warm-started critic. Outer loss: the SAC critic loss of the solution on the real
  batch. Model gradient through ``omd.implicit.root_solve`` with
  ``f(w, theta) = d/dw critic_loss(w; model batch)``: the gradient field the last
  inner critic step descended (same actor, target, temperature and noise as that
  step), so with ``implicit=identity`` the model gradient is minus the
  mixed second derivative of the inner loss applied to the outer gradient; with
  ``implicit=cg`` the inverse Hessian of the critic loss is applied first by CG.
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
from omd.sac.value_step import Batch, critic_grad, critic_key, critic_loss, sac_step, sac_steps


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
    sac, metrics = sac_steps(agent, state.sac, model_batch(agent, model.params, batch), key, agent.cfg.inner_steps)
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
    sac, metrics = sac_step(agent, state.sac, batch, key)
    return state.replace(sac=sac), metrics


def inner_sac_solver(agent: Agent, sac: SACState, mbatch: Batch, key: jax.Array):
    """``inner_steps`` SAC steps on the model batch.

    Returns ``(sac_before_last, sac_after, last_key, metrics)``: OMD's ``f`` is the
    critic gradient of the last step, so it needs the state that step started from.
    """
    num = agent.cfg.inner_steps
    keys = jax.random.split(key, num)
    before = sac
    if num > 1:
        before, _ = jax.lax.scan(lambda s, k: sac_step(agent, s, mbatch, k), sac, keys[:-1])
    after, metrics = sac_step(agent, before, mbatch, keys[-1])
    return before, after, critic_key(keys[-1]), metrics


def omd_model_grad(agent: Agent, state: AgentState, batch: Batch, key: jax.Array, solver=inner_sac_solver):
    """Model gradient of the outer (real-data critic) loss, the solved SAC state and metrics.

    ``solver(agent, sac, model_batch, key)`` has ``inner_sac_solver``'s contract;
    tests swap in one that solves the critic to convergence.
    """
    k_inner, k_outer = jax.random.split(key)
    cfg = agent.cfg
    options = {"damping": cfg.cg_damping, "maxiter": cfg.cg_maxiter} if cfg.implicit == "cg" else {}

    def outer(theta):
        fixed = jax.lax.stop_gradient(theta)
        before, after, f_key, metrics = solver(agent, state.sac, model_batch(agent, fixed, batch), k_inner)

        def f(w, th):
            return critic_grad(agent, w, before, model_batch(agent, th, batch), f_key)[0]

        w_star, (after, metrics) = implicit.root_solve(
            f, lambda w0, th: (after.critic.params, (after, metrics)), state.sac.critic.params, theta,
            method=cfg.implicit, **options,
        )
        loss, info = critic_loss(agent, w_star, after, batch, k_outer)
        return loss, (after, metrics, info)

    (loss, (sac, metrics, info)), grads = jax.value_and_grad(outer, has_aux=True)(state.model.params)
    return grads, sac, {**metrics, "outer_critic_loss": loss, "outer_q": info["q"]}


def omd_update(agent: Agent, state: AgentState, batch: Batch, key: jax.Array):
    grads, sac, metrics = omd_model_grad(agent, state, batch, key)
    model = apply_grads(state.model, grads, agent.model_opt)
    return state.replace(sac=sac, model=model), metrics


UPDATES = {"omd": omd_update, "mle": mle_update, "vep": vep_update, "sac": sac_update}
