"""The MuJoCo suite's updates: the SAC step and the sibling model updates built on it.

``sac_step`` (critic, EMA target, actor, temperature, as in jaxrl's SAC) is the
policy-improvement step of every algorithm: on real transitions for ``sac``, on
model predictions for ``mle``/``vep``, and the inner solver of ``omd``. The model
updates share one signature, ``update(agent, state, batch, key) -> (state, metrics)``,
and ``UPDATES`` picks one by name:

- ``omd``: the model is trained so that the critic it induces fits the *real* data.
  Inner solve: ``inner_steps`` full SAC updates (critic, target, actor, temperature)
  on model-predicted (s', r) from the warm-started state. Outer loss: the SAC critic
  loss of the solution on the real batch. Model gradient through
  ``omd.implicit.argmin_solve`` of the inner loss ``critic_loss(w; model batch)``
  taken, as in the original, at the state *after* the inner steps (their target,
  actor and temperature) with noise the inner steps did not use, the actor seeing the model's next state
  without gradient (see ``losses.critic_loss``). With ``implicit=identity`` the
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

``make_update(agent, UPDATES[algo])`` is one environment step's learning: ``outer_steps`` of them.
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp
import optax

from omd import implicit
from omd.sac import losses
from omd.sac.agent import Agent, AgentState, SACState, temperature
from omd.sac.losses import Batch


def noise(agent: Agent, key: jax.Array, shape: tuple[int, ...], batch: Batch) -> jax.Array:
    """Standard-normal action noise ``[*shape, batch, action_dim]`` for the policy samples of ``batch``.

    Every update draws all its noise in one call: XLA:CPU lowers each threefry
    call to a rolled loop of small operations, so fewer calls mean fewer of them.
    """
    return jax.random.normal(key, (*shape, batch["obs"].shape[0], agent.action_dim), batch["obs"].dtype)


def sac_step(agent: Agent, sac: SACState, batch: Batch, step_noise: jax.Array):
    """``step_noise[0]`` draws the critic's next actions, ``step_noise[1]`` the actor's actions."""
    grads, info = losses.critic_grad(agent, sac.critic.params, sac, batch, step_noise[0])
    critic = sac.critic.apply_gradients(grads=grads)
    ema = optax.incremental_update(critic.params, sac.critic.target_params, agent.cfg.tau)
    target = jax.tree.map(
        lambda new, old: jnp.where(critic.step % agent.cfg.target_update_period == 0, new, old), ema,
        sac.critic.target_params,
    )
    critic = critic.replace(target_params=target)

    temp = temperature(sac)
    (a_loss, entropy), a_grads = jax.value_and_grad(losses.actor_loss, argnums=1, has_aux=True)(
        agent, sac.actor.params, critic.params, temp, batch["obs"], step_noise[1])
    actor = sac.actor.apply_gradients(grads=a_grads)

    t_loss, t_grad = jax.value_and_grad(losses.temperature_loss, argnums=1)(agent, sac.temp.params, entropy)

    new = SACState(actor=actor, critic=critic, temp=sac.temp.apply_gradients(grads=t_grad))
    metrics = {**info, "actor_loss": a_loss, "entropy": entropy, "temperature": temp, "temp_loss": t_loss}
    return new, metrics


def sac_steps(agent: Agent, sac: SACState, batch: Batch, steps_noise: jax.Array):
    """One SAC step per leading entry of ``steps_noise`` ``[num, 2, batch, action]``, on one batch
    inside a ``lax.scan``; metrics of the last step."""
    if steps_noise.shape[0] == 1:
        return sac_step(agent, sac, batch, steps_noise[0])
    sac, metrics = jax.lax.scan(lambda s, n: sac_step(agent, s, batch, n), sac, steps_noise)
    return sac, jax.tree.map(lambda m: m[-1], metrics)


def _model_then_sac(agent: Agent, state: AgentState, batch: Batch, key: jax.Array, loss_fn: Callable):
    """One model step on ``loss_fn(model_params) -> (loss, metrics)``, then the SAC steps on its predictions."""
    (loss, info), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.model.params)
    model = state.model.apply_gradients(grads=grads)
    steps_noise = noise(agent, key, (agent.cfg.inner_steps, 2), batch)
    sac, metrics = sac_steps(agent, state.sac, losses.model_batch(agent, model.params, batch), steps_noise)
    return state.replace(sac=sac, model=model), {**metrics, **info, "model_loss": loss}


def mle_update(agent: Agent, state: AgentState, batch: Batch, key: jax.Array):
    return _model_then_sac(agent, state, batch, key, lambda params: losses.mle_loss(agent, params, batch))


def vep_update(agent: Agent, state: AgentState, batch: Batch, key: jax.Array):
    return _model_then_sac(agent, state, batch, key, lambda params: losses.vep_loss(agent, params, state.vep, batch))


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
        after, metrics = solver(agent, sac, losses.model_batch(agent, theta, batch), inner_noise)
        return after.critic.params, (after, metrics)

    def inner_loss(w, theta, aux):
        return losses.critic_loss(agent, w, aux[0], losses.model_batch(agent, theta, batch), implicit_noise)[0]

    def outer(theta):
        w_star, (after, metrics) = implicit.argmin_solve(
            inner_loss, solve, state.sac.critic.params, theta, method=cfg.implicit, loss_takes_aux=True, **options
        )
        loss, info = losses.critic_loss(agent, w_star, after, batch, outer_noise)
        return loss, (after, metrics, info)

    (loss, (sac, metrics, info)), grads = jax.value_and_grad(outer, has_aux=True)(state.model.params)
    return grads, sac, {**metrics, "outer_loss": loss, "outer_q": info["q"]}


def omd_update(agent: Agent, state: AgentState, batch: Batch, key: jax.Array):
    grads, sac, metrics = omd_model_grad(agent, state, batch, key)
    # Logged only (the model's prediction error before its step, as MLE's loss reports it): the
    # paper's claim is that OMD's model predicts worse than MLE's yet controls better.
    _, state_mse, reward_mse = losses.model_errors(agent, state.model.params, batch)
    model = state.model.apply_gradients(grads=grads)
    return state.replace(sac=sac, model=model), {**metrics, "model_state_mse": state_mse,
                                                 "model_reward_mse": reward_mse}


UPDATES = {"omd": omd_update, "mle": mle_update, "vep": vep_update, "sac": sac_update}


def make_update(agent: Agent, model_update: Callable) -> Callable:
    """``update(state, batch_fn) -> (state, metrics)``: ``outer_steps`` of ``model_update`` (one of ``UPDATES``),
    each on its own batch ``batch_fn(key, i)`` and key, inside one ``lax.scan``; metrics of the last."""

    def update(state: AgentState, batch_fn):
        def one(state, i):
            key, k_batch, k_update = jax.random.split(state.key, 3)
            return model_update(agent, state.replace(key=key), batch_fn(k_batch, i), k_update)

        if agent.cfg.outer_steps == 1:
            return one(state, 0)
        state, metrics = jax.lax.scan(one, state, jnp.arange(agent.cfg.outer_steps))
        return state, jax.tree.map(lambda m: m[-1], metrics)

    return update
