"""The agent: one state pytree, its initialisation, acting, and the shared value step."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
from flax import struct

from omd.soft_q import losses, networks
from omd.soft_q.config import SoftQConfig
from omd.soft_q.networks import Networks


@struct.dataclass
class AgentState:
    q: Any  # value parameters w (both heads)
    q_target: Any  # EMA target w-bar
    q_opt: Any  # inner Adam state
    model: Any  # model parameters theta
    model_opt: Any
    vep: Any  # VEP's random value ensemble (never trained), None otherwise


class Agent(NamedTuple):
    """Static pieces the pure functions close over: config, modules, optimizers."""

    config: SoftQConfig
    nets: Networks
    q_opt: optax.GradientTransformation
    model_opt: optax.GradientTransformation


def make_agent(config: SoftQConfig, obs_dim: int, num_actions: int) -> Agent:
    return Agent(
        config=config,
        nets=networks.make_networks(config, obs_dim, num_actions),
        q_opt=optax.adam(config.inner_lr),
        model_opt=optax.adam(config.lr),
    )


def init_state(agent: Agent, key: jax.Array) -> AgentState:
    key_q, key_m, key_v = jax.random.split(key, 3)
    q = networks.init_q(agent.nets, key_q)
    model = networks.init_model(agent.nets, key_m)
    return AgentState(
        q=q,
        q_target=q,
        q_opt=agent.q_opt.init(q),
        model=model,
        model_opt=agent.model_opt.init(model),
        vep=networks.init_vep(agent.nets, key_v),
    )


def act(agent: Agent, q_params: Any, obs: jax.Array, key: jax.Array) -> jax.Array:
    """Sample from softmax(mean-over-heads Q / alpha), or take the argmax with --hard."""
    q = networks.q_values(agent.nets, q_params, obs)
    if agent.config.hard:
        return jnp.argmax(jnp.mean(q, axis=0), axis=-1).astype(jnp.int32)
    return jax.random.categorical(key, losses.policy_logits(agent.config, q), axis=-1).astype(jnp.int32)


class ValueState(NamedTuple):
    params: Any
    target: Any
    opt: Any


def value_step(agent: Agent, value: ValueState, batch: losses.Batch) -> tuple[ValueState, dict[str, jax.Array]]:
    """One Adam step on the soft Bellman error of ``batch``, then the EMA target update.

    The inner solver of OMD and the policy-improvement step of MLE and VEP
    (which pass model-predicted batches).
    """
    cfg = agent.config
    (loss, aux), grads = jax.value_and_grad(losses.q_loss, argnums=2, has_aux=True)(
        agent.nets, cfg, value.params, value.target, batch
    )
    updates, opt = agent.q_opt.update(grads, value.opt, value.params)
    params = optax.apply_updates(value.params, updates)
    target = optax.incremental_update(params, value.target, cfg.tau)
    metrics = {"loss_Q": loss, "grad_norm_Q": optax.tree.norm(grads), **aux}
    return ValueState(params, target, opt), metrics


def value_steps(agent: Agent, value: ValueState, batch: losses.Batch, num_steps: int):
    """``num_steps`` value steps on one batch; metrics of the last."""
    value, metrics = value_step(agent, value, batch)
    if num_steps > 1:
        value, metrics = jax.lax.fori_loop(
            0, num_steps - 1, lambda _, vm: value_step(agent, vm[0], batch), (value, metrics)
        )
    return value, metrics
