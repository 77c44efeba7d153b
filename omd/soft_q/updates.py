"""The three sibling updates, one per environment step: ``UPDATES[algo](agent, state, buf, key)``.

- ``omd``: the value function is trained only on model predictions (K inner
  Adam steps from the current w); the model gets the gradient of the real-data
  Bellman error of the result, through the implicit function theorem
  (``omd.implicit.argmin_solve`` of ``L_model``).
- ``mle``: model steps on next-state MSE (NLL) plus reward MSE, then value steps
  on model predictions.
- ``vep``: model steps matching random value functions of real and predicted
  next states, then value steps on model predictions.

Every update returns ``(state, metrics)`` with the metric keys ``METRIC_KEYS[algo]``.
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp
import optax

from omd import implicit, replay
from omd.soft_q import losses, networks
from omd.soft_q.agent import Agent, AgentState, value_steps
from omd.train_state import TrainState

# Each agent's metrics, in train.csv's column order. The fifth is the model's loss, named for what it is
# (omd.columns): OMD's outer loss (the real-data Bellman error its implicit gradient minimises), MLE's and
# VEP's model-fit loss. Runs before that vocabulary called both loss_T, in the same column.
MODEL_LOSS = {"omd": "outer_loss", "mle": "model_loss", "vep": "model_loss"}
METRIC_KEYS: dict[str, tuple[str, ...]] = {
    algo: ("vals_Q", "loss_Q", "grad_norm_Q", "entropy_Q", loss, "next_obs_nll", "next_obs_mse")
    for algo, loss in MODEL_LOSS.items()
}


def sample_batch(agent: Agent, buf: replay.ReplayBuffer, key: jax.Array) -> losses.Batch:
    cfg = agent.config
    data = replay.sample(buf, key, cfg.batch_size, replace=not cfg.without_replacement)
    batch = {
        "obs": data["obs"],
        "onehot": jax.nn.one_hot(data["action"], agent.nets.num_actions, dtype=jnp.float32),
        "reward": data["reward"],
        "next_obs": data["next_obs"],
        "not_done_no_max": data["not_done_no_max"],
    }
    if cfg.clip_target:  # from the real rewards, before a model replaces them
        batch["value_bounds"] = losses.value_bounds(cfg, data["reward"], agent.nets.num_actions)
    return batch


def _model_noise(agent: Agent, key: jax.Array, batch: losses.Batch) -> jax.Array | None:
    if not agent.config.prob_model:
        return None
    return jax.random.normal(key, batch["next_obs"].shape, batch["next_obs"].dtype)


def omd_model_grad(agent: Agent, state: AgentState, batch: losses.Batch, key: jax.Array,
                   solve: Callable | None = None) -> tuple[Any, TrainState, dict[str, jax.Array]]:
    """The model gradient of the outer loss, the solved value state and metrics (``outer_loss`` the outer loss).

    The inner solve starts from ``state.q`` (as ``omd_update`` prepared it: warm or fresh
    parameters, kept or reset Adam statistics) and the model is ``state.model``; ``key``
    draws a Gaussian model's noise. ``solve(w0, theta) -> (w, (q_state, metrics))``
    defaults to K = inner_steps Adam steps on the model's Bellman error; tests pass an
    exact solver. As in the original (``root_solve_bwd`` of ``cartpole/utils.py``), both
    the implicit derivative and the outer loss take the target after the inner steps
    (the solved state's ``target_params``, a constant): the implicit derivative is that
    of the model's Bellman error at (w*, target after), the outer loss the real-data
    Bellman error of w* against that target.

    With ``unroll_inner`` (beyond the paper, off by default) the derivative is instead that of
    the K Adam steps the inner solve actually takes, by reverse mode through them: the exact
    derivative of the outer loss as computed, where the identity approximation assumes w* a
    minimiser moved by a plain gradient step. Reset Adam's first step is ``inner_lr * sign(g)``,
    whose derivative is almost zero, so this is meant for use with --warm_opt.
    """
    cfg = agent.config
    noise = _model_noise(agent, key, batch)
    start = state.q

    def inner_loss(w, theta, aux):
        mb, _ = losses.model_batch(agent.nets, cfg, theta, batch, noise)
        return losses.q_loss(agent.nets, cfg, w, aux[0].target_params, mb)[0]

    def adam_solve(w0, theta):
        mb, _ = losses.model_batch(agent.nets, cfg, theta, batch, noise)
        solved, metrics = value_steps(agent, start.replace(params=w0), mb, cfg.inner_steps)
        return solved.params, (solved, metrics)

    options = {"damping": cfg.cg_damping, "maxiter": cfg.cg_maxiter} if cfg.implicit == "cg" else {}

    def outer(theta):
        if cfg.unroll_inner:
            w_star, (solved, metrics) = (solve or adam_solve)(jax.lax.stop_gradient(start.params), theta)
            solved = jax.lax.stop_gradient(solved)  # only w* carries the derivative, as with the implicit one
        else:
            w_star, (solved, metrics) = implicit.argmin_solve(
                inner_loss, solve or adam_solve, start.params, theta, method=cfg.implicit, loss_takes_aux=True,
                **options)
        loss, _ = losses.q_loss(agent.nets, cfg, w_star, solved.target_params, batch)
        if cfg.mle_coef:  # beyond the paper: the model anchored to the data (off by default)
            loss = loss + cfg.mle_coef * losses.mle_loss(agent.nets, cfg, theta, batch, noise)[0]
        return loss, (solved, metrics)

    (loss, (solved, metrics)), grads = jax.value_and_grad(outer, has_aux=True)(state.model.params)
    return grads, solved, {**metrics, "outer_loss": loss}


def _mix_gradient(omd_grads: Any, other_grads: Any, c: float) -> Any:
    """``(1 - c) * g_OMD / |g_OMD| + c * g_other / |g_other|``.

    Beyond the paper (``mle_grad_mix``, ``target_match_mix``; off by default). Each gradient is
    scaled to unit norm first because their sizes differ by orders of magnitude and drift apart in
    training (at model size 2 the OMD gradient's norm grows from about 1 to 1e6 while the MLE
    gradient's stays below 1), so a fixed weight on the other loss (``mle_coef``) leaves it negligible.
    """
    def unit(tree):
        norm = optax.tree.norm(tree)
        return jax.tree.map(lambda g: g / jnp.maximum(norm, 1e-12), tree)

    return jax.tree.map(lambda o, m: (1.0 - c) * o + c * m, unit(omd_grads), unit(other_grads))


def target_match_loss(agent: Agent, model_params: Any, target_params: Any, batch: losses.Batch, noise) -> jax.Array:
    """``mean (r_θ + γ V(s'_θ) - r - γ V(s'))^2``: the model's value targets against the real ones, per sample.

    Beyond the paper (``target_match_mix``). OMD's outer loss only asks the model's targets to move
    Q the right way through the inner step, which leaves each target free as long as the step is
    right; this asks each target to be right. ``V`` is the target network's, as in both losses.
    """
    cfg, nets = agent.config, agent.nets
    mb, _ = losses.model_batch(nets, cfg, model_params, batch, noise)
    real = losses.bellman_target(nets, cfg, target_params, batch)
    return jnp.mean(jnp.square(losses.bellman_target(nets, cfg, target_params, mb) - real))


def inner_start(agent: Agent, q: TrainState, key: jax.Array) -> TrainState:
    """Where OMD's inner solve starts: the current Q (fresh parameters with --no_warm, drawn with
    ``key``), its Adam statistics reset unless --warm_opt."""
    if agent.config.no_warm:
        fresh = networks.init_q(agent.nets, key)
        q = q.replace(params=fresh, target_params=fresh)
    if not agent.config.warm_opt:
        q = q.replace(opt_state=q.tx.init(q.params))
    return q


def omd_update(agent: Agent, state: AgentState, buf: replay.ReplayBuffer, key: jax.Array):
    cfg = agent.config
    key_b, key_n, key_w = jax.random.split(key, 3)
    batch = sample_batch(agent, buf, key_b)
    q = inner_start(agent, state.q, key_w)
    grads, solved, metrics = omd_model_grad(agent, state.replace(q=q), batch, key_n)
    noise = _model_noise(agent, key_n, batch)  # the noise omd_model_grad drew
    if cfg.mle_grad_mix:
        mle = jax.grad(lambda th: losses.mle_loss(agent.nets, cfg, th, batch, noise)[0])(state.model.params)
        grads = _mix_gradient(grads, mle, cfg.mle_grad_mix)
    if cfg.target_match_mix:
        match = jax.grad(target_match_loss, argnums=1)(agent, state.model.params, solved.target_params, batch, noise)
        grads = _mix_gradient(grads, match, cfg.target_match_mix)
    pred = networks.predict(agent.nets, state.model.params, batch["obs"], batch["onehot"], noise)
    state = state.replace(q=solved, model=state.model.apply_gradients(grads=grads))
    return state, {**metrics, **losses.prediction_errors(pred, batch["next_obs"])}


def repeat(step: Callable, carry: Any, key: jax.Array, num: int):
    """Apply ``step(carry, key_i) -> (carry, metrics)`` ``num`` times; the final carry and the last metrics."""
    keys = jax.random.split(key, num)
    carry, metrics = step(carry, keys[0])
    if num > 1:
        carry, metrics = jax.lax.fori_loop(1, num, lambda i, cm: step(cm[0], keys[i]), (carry, metrics))
    return carry, metrics


def _model_fit_update(model_loss: Callable) -> Callable:
    """MLE and VEP: ``outer_steps`` model steps, then ``inner_steps`` value steps on model predictions.

    Each step draws its own batch, as in the original.
    """

    def update(agent: Agent, state: AgentState, buf: replay.ReplayBuffer, key: jax.Array):
        cfg = agent.config
        key_model, key_value = jax.random.split(key)

        def model_step(model, key_t):
            key_b, key_n = jax.random.split(key_t)
            batch = sample_batch(agent, buf, key_b)
            (loss, errors), grads = jax.value_and_grad(model_loss, argnums=2, has_aux=True)(
                agent, state, model.params, batch, _model_noise(agent, key_n, batch)
            )
            return model.apply_gradients(grads=grads), {"model_loss": loss, **errors}

        model, model_metrics = repeat(model_step, state.model, key_model, cfg.outer_steps)

        def q_step(q, key_t):
            key_b, key_n = jax.random.split(key_t)
            batch = sample_batch(agent, buf, key_b)
            mb, _ = losses.model_batch(agent.nets, cfg, model.params, batch, _model_noise(agent, key_n, batch))
            return value_steps(agent, q, mb, 1)

        q, q_metrics = repeat(q_step, state.q, key_value, cfg.inner_steps)
        return state.replace(q=q, model=model), {**q_metrics, **model_metrics}

    return update


def _mle_loss(agent: Agent, state: AgentState, model: Any, batch: losses.Batch, noise):
    return losses.mle_loss(agent.nets, agent.config, model, batch, noise)


def _vep_loss(agent: Agent, state: AgentState, model: Any, batch: losses.Batch, noise):
    del noise  # VEP's model is deterministic (checked by the config)
    return losses.vep_loss(agent.nets, agent.config, model, state.vep, batch)


def _omd_updates(agent: Agent, state: AgentState, buf: replay.ReplayBuffer, key: jax.Array):
    """``outer_steps`` OMD updates, each with its own batch and K inner steps."""
    return repeat(lambda s, k: omd_update(agent, s, buf, k), state, key, agent.config.outer_steps)


MODEL_LOSSES: dict[str, Callable] = {"mle": _mle_loss, "vep": _vep_loss}  # (agent, state, model, batch, noise)

UPDATES: dict[str, Callable] = {
    "omd": _omd_updates,
    "mle": _model_fit_update(MODEL_LOSSES["mle"]),
    "vep": _model_fit_update(MODEL_LOSSES["vep"]),
}
