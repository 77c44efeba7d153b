"""What a soft-Q agent's model and value function are doing, probed on one replay batch.

``probe`` reads an agent state and its replay buffer and changes neither: it draws its own
batch with its own key, so probing a run between chunks leaves the run's path unchanged
(``cartpole/diagnose.py`` trains exactly as ``cartpole/train.py`` does and probes every log
interval). The quantities are the ones a collapse could come from:

- where the model sends next states: the fraction of predicted components outside the range
  of the real next states stored so far, and how far outside (in units of that range);
- the reward head: its mean prediction and its squared error against the real rewards;
- the inner problem's targets ``r + gamma * V_target(s')`` on model vs real next states (their
  batch means, and the mean squared per-sample difference, ``updates.target_match_loss``),
  ``Q(s, a)`` on the batch (the value function the agent acts with), and its Bellman error on
  the real batch (OMD's outer loss, measured the same way for every agent);
- the model's update: the norm of its gradient (OMD's implicit gradient, or the MLE/VEP
  loss's), and for OMD the cosine between the identity approximation's gradient and the
  conjugate-gradient one (how good the paper's default approximation of the inverse Jacobian
  is at this point), and how unsolved the inner problem is (the norm of the inner loss's
  gradient at the solved parameters);
- how far OMD's model gradient is from its exact-solution limit: the cosine of the identity and the
  conjugate-gradient model gradients with the target-match gradient (``updates.target_match_loss``),
  which is what OMD's gradient becomes when the inner problem is solved exactly and Q fits the
  batch (``tests/test_cartpole_exact_limit.py``);
- whether Q is biased (CartPole only): the Monte Carlo soft return of the acting policy from
  ``MC_PAIRS`` replayed pairs, rolled out in the real environment (``mc_return``), and the mean Q
  (over heads) minus it on the same pairs. Its key is folded from the probe's, so the other
  quantities are the same as without it.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import optax

from omd import replay
from omd.envs import classic
from omd.soft_q import losses, mc_return, networks, updates
from omd.soft_q.agent import Agent, AgentState

PROBE_KEYS = (
    "pred_out_of_range", "pred_excess", "pred_reward", "reward_mse", "target_real", "target_model",
    "q_sa", "target_error", "real_bellman_error", "model_grad_norm", "cos_identity_cg", "inner_grad_norm",
    "cos_identity_match", "cos_cg_match", "mc_return", "q_minus_mc",
)
MC_PAIRS = 32  # replayed (s, a) pairs rolled out per probe (mc_return.soft_return)


def observed_range(buf: replay.ReplayBuffer) -> tuple[jax.Array, jax.Array]:
    """Per-dimension min and max of the stored real next states."""
    valid = (jnp.arange(buf.capacity) < buf.size)[:, None]
    next_obs = buf.data["next_obs"]
    low = jnp.min(jnp.where(valid, next_obs, jnp.inf), axis=0)
    high = jnp.max(jnp.where(valid, next_obs, -jnp.inf), axis=0)
    return low, high


def _cosine(a, b) -> jax.Array:
    dot = sum(jnp.vdot(x, y) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)))
    return dot / (optax.tree.norm(a) * optax.tree.norm(b) + 1e-30)


def _q_against_mc(agent: Agent, q_params, batch, q_sa: jax.Array, key: jax.Array) -> dict[str, jax.Array]:
    """The mean Monte Carlo soft return of the batch's first ``MC_PAIRS`` pairs, and the agent's mean Q
    minus it there (positive: Q overestimates); NaN beyond CartPole, which alone restarts from an observation."""
    env = classic.make(agent.config.env_name, agent.config.dim_distract)
    if env.name != "CartPole-v1":
        return {"mc_return": jnp.float32(jnp.nan), "q_minus_mc": jnp.float32(jnp.nan)}
    obs, action = batch["obs"][:MC_PAIRS], jnp.argmax(batch["onehot"][:MC_PAIRS], axis=-1)
    keys = jax.random.split(key, obs.shape[0])
    returns = jax.vmap(lambda o, a, k: mc_return.soft_return(agent, q_params, env, o, a, k))(obs, action, keys)
    return {"mc_return": jnp.mean(returns), "q_minus_mc": jnp.mean(q_sa[:MC_PAIRS] - returns)}


def probe(agent: Agent, state: AgentState, buf: replay.ReplayBuffer, key: jax.Array) -> dict[str, jax.Array]:
    """The quantities of the module docstring, each a scalar; NaN where they do not apply."""
    cfg, nets = agent.config, agent.nets
    key_b, key_n, key_w = jax.random.split(key, 3)
    batch = updates.sample_batch(agent, buf, key_b)
    pred = networks.predict(nets, state.model.params, batch["obs"], batch["onehot"], None)
    low, high = observed_range(buf)
    width = jnp.maximum(high - low, 1e-6)
    excess = jnp.maximum(pred.next_obs - high, 0.0) + jnp.maximum(low - pred.next_obs, 0.0)
    model_batch, _ = losses.model_batch(nets, cfg, state.model.params, batch, None)

    def target(b):
        return losses.bellman_target(nets, cfg, state.q.target_params, b)

    q = networks.q_values(nets, state.q.params, batch["obs"])
    nan = jnp.full((), jnp.nan, jnp.float32)
    out = {
        "pred_out_of_range": jnp.mean((excess > 0).astype(jnp.float32)),
        "pred_excess": jnp.mean(jnp.max(excess / width, axis=-1)),
        "pred_reward": nan if pred.reward is None else jnp.mean(pred.reward),
        "reward_mse": losses.reward_error(pred, batch["reward"]) if pred.reward is not None else nan,
        "target_real": jnp.mean(target(batch)),
        "target_model": jnp.mean(target(model_batch)),
        "q_sa": jnp.mean(jnp.sum(q * batch["onehot"], axis=-1)),
        "target_error": jnp.mean(jnp.square(target(model_batch) - target(batch))),
        "real_bellman_error": losses.q_loss(nets, cfg, state.q.params, state.q.target_params, batch)[0],
        "cos_identity_cg": nan,
        "inner_grad_norm": nan,
        "cos_identity_match": nan,
        "cos_cg_match": nan,
    }
    out.update(_q_against_mc(agent, state.q.params, batch, jnp.sum(jnp.mean(q, axis=0) * batch["onehot"], axis=-1),
                             jax.random.fold_in(key, 1)))
    if cfg.algo == "omd":
        prepared = state.replace(q=updates.inner_start(agent, state.q, key_w))
        grads, solved, _ = updates.omd_model_grad(agent, prepared, batch, key_n)
        cg_agent = agent._replace(config=dataclasses.replace(cfg, implicit="cg"))
        grads_cg, _, _ = updates.omd_model_grad(cg_agent, prepared, batch, key_n)
        inner = jax.grad(losses.q_loss, argnums=2, has_aux=True)(nets, cfg, solved.params, solved.target_params,
                                                                 model_batch)[0]
        match = jax.grad(updates.target_match_loss, argnums=1)(agent, state.model.params, solved.target_params,
                                                               batch, updates._model_noise(agent, key_n, batch))
        out.update(model_grad_norm=optax.tree.norm(grads), cos_identity_cg=_cosine(grads, grads_cg),
                   inner_grad_norm=optax.tree.norm(inner), cos_identity_match=_cosine(grads, match),
                   cos_cg_match=_cosine(grads_cg, match))
    else:
        loss = updates.MODEL_LOSSES[cfg.algo]
        grads = jax.grad(loss, argnums=2, has_aux=True)(agent, state, state.model.params, batch, None)[0]
        out["model_grad_norm"] = optax.tree.norm(grads)
    return {k: jnp.asarray(out[k], jnp.float32) for k in PROBE_KEYS}
