"""The agent: static pieces (``Agent``: networks, optimizers, config) and the state pytree.

``AgentState`` is everything that changes during training and everything a
checkpoint stores besides the replay buffer: all parameter sets, optimizer
states, the RNG key. ``SACState`` is the part the inner solve updates. Every
trained network is an ``omd.train_state.TrainState``.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import jax
import jax.numpy as jnp
import optax
from flax import struct

from omd import train_state
from omd.sac.config import SACConfig
from omd.sac.networks import Actor, DoubleCritic, Model, ValueEnsemble
from omd.train_state import TrainState


@struct.dataclass
class SACState:
    actor: TrainState
    # target_params: the EMA of the critic parameters; step: SAC updates done, drives target_update_period
    critic: TrainState
    temp: TrainState  # params: {"log_temp": scalar} (flax's apply_gradients needs a dict)


@struct.dataclass
class AgentState:
    sac: SACState
    model: TrainState
    vep: Any  # VEP's random value ensemble (never trained); None for other algos
    key: jax.Array


@dataclasses.dataclass(frozen=True, eq=False)
class Agent:
    """Static description: hashable by identity so jitted closures treat it as a constant."""

    cfg: SACConfig
    obs_dim: int
    action_dim: int
    actor: Actor
    critic: DoubleCritic
    model: Model
    vep: ValueEnsemble | None
    actor_opt: optax.GradientTransformation
    critic_opt: optax.GradientTransformation
    temp_opt: optax.GradientTransformation
    model_opt: optax.GradientTransformation

    @property
    def target_entropy(self) -> float:
        return self.cfg.entropy_target(self.action_dim)


def make_agent(cfg: SACConfig, obs_dim: int, action_dim: int) -> Agent:
    return Agent(
        cfg=cfg,
        obs_dim=obs_dim,
        action_dim=action_dim,
        actor=Actor(cfg.hidden_dims, action_dim),
        critic=DoubleCritic(cfg.hidden_dims),
        model=Model(cfg.model_hidden_dim, obs_dim),
        vep=ValueEnsemble(cfg.hidden_dims, cfg.num_ensemble_vep) if cfg.algo == "vep" else None,
        actor_opt=optax.adam(cfg.actor_lr),
        critic_opt=optax.adam(cfg.critic_lr),
        temp_opt=optax.adam(cfg.temp_lr),
        model_opt=optax.adam(cfg.model_lr),
    )


def init_state(agent: Agent, key: jax.Array) -> AgentState:
    k_actor, k_critic, k_model, k_vep, key = jax.random.split(key, 5)
    obs = jnp.zeros((1, agent.obs_dim), jnp.float32)
    act = jnp.zeros((1, agent.action_dim), jnp.float32)
    log_temp = {"log_temp": jnp.asarray(math.log(agent.cfg.init_temperature), jnp.float32)}
    sac = SACState(
        actor=train_state.create(agent.actor.init(k_actor, obs), agent.actor_opt, agent.actor.apply),
        critic=train_state.create(agent.critic.init(k_critic, obs, act), agent.critic_opt, agent.critic.apply,
                                  with_target=True),
        temp=train_state.create(log_temp, agent.temp_opt),
    )
    vep = agent.vep.init(k_vep, obs) if agent.vep is not None else None
    model = train_state.create(agent.model.init(k_model, obs, act), agent.model_opt, agent.model.apply)
    return AgentState(sac=sac, model=model, vep=vep, key=key)


def temperature(sac: SACState) -> jax.Array:
    return jnp.exp(sac.temp.params["log_temp"])
