"""Sibling model updates with one signature: ``update(agent, state, batch, key) -> (state, metrics)``.

- ``omd``: the model is trained so that the critic it induces fits the *real* data.
  Inner solve: ``inner_steps`` full SAC updates (critic, target, actor, temperature)
  on model-predicted (s', r) from the warm-started state. Outer loss: the SAC critic
  loss of the solution on the real batch. Model gradient through
  ``omd.implicit.argmin_solve`` of the inner loss ``critic_loss(w; model batch)``
  taken, as in the original, at the state *after* the inner steps (their target,
  actor and temperature) with noise the inner steps did not use, the actor seeing the model's next state
  without gradient (see ``value_step.critic_loss``). With ``implicit=identity`` the
  model gradient is minus the mixed second derivative of that loss applied to the
  outer gradient; with ``implicit=cg`` the inverse Hessian of the critic loss is
  applied first by CG (the original has the identity only). See ``omd_model_grad``
  for where this differs from the original.
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
from omd.sac.agent import Agent, AgentState
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
    model = state.model.apply_gradients(grads=grads)
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


def omd_noise(agent: Agent, key: jax.Array, batch: Batch):
    """All of one OMD update's noise from one draw: ``(inner [K, 2, B, A], implicit [B, A], outer [B, A])``.

    ``implicit`` (the inner loss's next actions) is the same array as ``outer``: the
    original draws both from the one key its rng holds after the inner steps.
    """
    k = agent.cfg.inner_steps
    drawn = noise(agent, key, (2 * k + 1,), batch)
    return drawn[:-1].reshape(k, 2, *drawn.shape[1:]), drawn[-1], drawn[-1]


def omd_model_grad(agent: Agent, state: AgentState, batch: Batch, key: jax.Array, solver=sac_steps):
    """Model gradient of the outer (real-data critic) loss, the solved SAC state and metrics.

    The implicit solve follows ``argmin_solve``'s contract: ``solve(w0, theta)`` runs
    ``solver(agent, sac, model_batch(theta), inner_noise) -> (sac_after, metrics)`` (K SAC steps)
    from the agent's SAC state with critic ``w0``, and the inner loss
    ``critic_loss(w, theta; sac_after, implicit_noise)`` gets ``sac_after`` (target,
    actor, temperature) from the solver's aux, without gradient. Tests swap in a
    ``solver`` that solves the critic to convergence.

    What it computes, against the original (``mujoco/.../omd/model.py``):

    - the same point and loss for the implicit derivative: the critic loss on the
      model batch at the state after the K inner steps, the actor input
      stop-gradiented, its next-action noise the outer loss's (the original reuses
      its rng key there); only the critic output carries the implicit derivative,
      target/actor/temperature enter the outer loss as constants, as there;
    - ``target_update_period`` is honoured in the inner steps (the original OMD
      updates the target at every inner step whatever it is set to; its MLE honours
      it); with the default 1 both are the same;
    - ``implicit=cg`` (inverse Hessian by CG) is an extension; the original has the
      identity approximation only.
    """
    inner_noise, implicit_noise, outer_noise = omd_noise(agent, key, batch)
    cfg = agent.cfg
    options = {"damping": cfg.cg_damping, "maxiter": cfg.cg_maxiter} if cfg.implicit == "cg" else {}

    def solve(w0, theta):
        sac = state.sac.replace(critic=state.sac.critic.replace(params=w0))
        after, metrics = solver(agent, sac, model_batch(agent, theta, batch), inner_noise)
        return after.critic.params, (after, metrics)

    def inner_loss(w, theta, aux):
        return critic_loss(agent, w, aux[0], model_batch(agent, theta, batch), implicit_noise)[0]

    def outer(theta):
        w_star, (after, metrics) = implicit.argmin_solve(
            inner_loss, solve, state.sac.critic.params, theta, method=cfg.implicit, loss_takes_aux=True, **options
        )
        loss, info = critic_loss(agent, w_star, after, batch, outer_noise)
        return loss, (after, metrics, info)

    (loss, (sac, metrics, info)), grads = jax.value_and_grad(outer, has_aux=True)(state.model.params)
    return grads, sac, {**metrics, "outer_critic_loss": loss, "outer_q": info["q"]}


def omd_update(agent: Agent, state: AgentState, batch: Batch, key: jax.Array):
    grads, sac, metrics = omd_model_grad(agent, state, batch, key)
    model = state.model.apply_gradients(grads=grads)
    return state.replace(sac=sac, model=model), metrics


UPDATES = {"omd": omd_update, "mle": mle_update, "vep": vep_update, "sac": sac_update}
