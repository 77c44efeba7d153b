"""The agent: one state pytree, its initialisation, acting, and the shared value step."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
from flax import struct

from omd import train_state
from omd.soft_q import losses, networks
from omd.soft_q.config import SoftQConfig
from omd.soft_q.networks import Networks
from omd.train_state import TrainState


@struct.dataclass
class AgentState:
    q: TrainState  # value parameters w (both heads), their EMA target w-bar, the inner Adam state
    model: TrainState  # model parameters theta and the outer Adam state
    vep: Any  # VEP's random value ensemble (never trained), None otherwise


class Agent(NamedTuple):
    """Static pieces the pure functions close over: config, modules, optimizers (which ``init_state``
    puts in the ``TrainState``s as their ``tx``)."""

    config: SoftQConfig
    nets: Networks
    q_opt: optax.GradientTransformation
    model_opt: optax.GradientTransformation


def make_agent(config: SoftQConfig, obs_dim: int, num_actions: int) -> Agent:
    return Agent(
        config=config,
        nets=networks.make_networks(config, obs_dim, num_actions),
        # eps_root keeps Adam's derivative finite where a gradient is exactly 0 (d sqrt(v) at v = 0),
        # which only --unroll_inner differentiates; otherwise the original's Adam, bit for bit.
        q_opt=optax.adam(config.critic_lr, eps_root=1e-16 if config.unroll_inner else 0.0),
        model_opt=model_optimizer(config),
    )


def model_optimizer(config: SoftQConfig) -> optax.GradientTransformation:
    """Adam at ``model_lr``; with ``model_grad_clip`` the gradient's global norm is clipped first."""
    adam = optax.adam(config.model_lr)
    if not config.model_grad_clip:
        return adam
    return optax.chain(optax.clip_by_global_norm(config.model_grad_clip), adam)


def init_state(agent: Agent, key: jax.Array) -> AgentState:
    key_q, key_m, key_v = jax.random.split(key, 3)
    return AgentState(
        q=train_state.create(networks.init_q(agent.nets, key_q), agent.q_opt, with_target=True),
        model=train_state.create(networks.init_model(agent.nets, key_m), agent.model_opt),
        vep=networks.init_vep(agent.nets, key_v),
    )


def act(agent: Agent, q_params: Any, obs: jax.Array, key: jax.Array) -> jax.Array:
    """Sample from softmax(mean-over-heads Q / alpha), or take the argmax with --hard."""
    q = networks.q_values(agent.nets, q_params, obs)
    if agent.config.hard:
        return jnp.argmax(jnp.mean(q, axis=0), axis=-1).astype(jnp.int32)
    return jax.random.categorical(key, losses.policy_logits(agent.config, q), axis=-1).astype(jnp.int32)


def value_step(agent: Agent, q: TrainState, batch: losses.Batch) -> tuple[TrainState, dict[str, jax.Array]]:
    """One Adam step on the soft Bellman error of ``batch``, then the EMA target update.

    The inner solver of OMD and the policy-improvement step of MLE and VEP
    (which pass model-predicted batches).
    """
    cfg = agent.config
    (loss, aux), grads = jax.value_and_grad(losses.q_loss, argnums=2, has_aux=True)(
        agent.nets, cfg, q.params, q.target_params, batch
    )
    q = q.apply_gradients(grads=grads)
    q = q.replace(target_params=optax.incremental_update(q.params, q.target_params, cfg.tau))
    metrics = {"loss_Q": loss, "grad_norm_Q": optax.tree.norm(grads), **aux}
    return q, metrics


def value_steps(agent: Agent, q: TrainState, batch: losses.Batch, num_steps: int):
    """``num_steps`` value steps on one batch; metrics of the last."""
    q, metrics = value_step(agent, q, batch)
    if num_steps > 1:
        q, metrics = jax.lax.fori_loop(0, num_steps - 1, lambda _, qm: value_step(agent, qm[0], batch), (q, metrics))
    return q, metrics
