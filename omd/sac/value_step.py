"""One SAC update (critic, EMA target, actor, temperature), as in jaxrl's SAC.

It is the policy-improvement step of every algorithm: on real transitions for
``sac``, on model predictions for ``mle``/``vep``, and the inner solver of ``omd``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from omd.sac.agent import Agent, SACState, temperature
from omd.sac.networks import sample_action

Batch = dict  # obs, action, reward, mask, next_obs


def noise(agent: Agent, key: jax.Array, shape: tuple[int, ...], batch: Batch) -> jax.Array:
    """Standard-normal action noise ``[*shape, batch, action_dim]`` for the policy samples of ``batch``.

    Every update draws all its noise in one call: XLA:CPU lowers each threefry
    call to a rolled loop of small operations, so fewer calls mean fewer of them.
    """
    return jax.random.normal(key, (*shape, batch["obs"].shape[0], agent.action_dim), batch["obs"].dtype)


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
    return jax.grad(critic_loss, argnums=1, has_aux=True)(agent, critic_params, sac, batch, next_noise)


def sac_step(agent: Agent, sac: SACState, batch: Batch, step_noise: jax.Array):
    """``step_noise[0]`` draws the critic's next actions, ``step_noise[1]`` the actor's actions."""
    grads, info = critic_grad(agent, sac.critic.params, sac, batch, step_noise[0])
    critic = sac.critic.apply_gradients(grads=grads)
    ema = optax.incremental_update(critic.params, sac.critic.target_params, agent.cfg.tau)
    target = jax.tree.map(
        lambda new, old: jnp.where(critic.step % agent.cfg.target_update_period == 0, new, old), ema,
        sac.critic.target_params,
    )
    critic = critic.replace(target_params=target)

    temp = temperature(sac)

    def actor_loss(actor_params):
        action, logp = sample_action(agent.actor, actor_params, batch["obs"], step_noise[1])
        q = agent.critic.apply(critic.params, batch["obs"], action).min(0)
        return jnp.mean(temp * logp - q), -logp.mean()

    (a_loss, entropy), a_grads = jax.value_and_grad(actor_loss, has_aux=True)(sac.actor.params)
    actor = sac.actor.apply_gradients(grads=a_grads)

    def temp_loss(temp_params):
        return jnp.exp(temp_params["log_temp"]) * (entropy - agent.target_entropy)

    t_loss, t_grad = jax.value_and_grad(temp_loss)(sac.temp.params)

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
