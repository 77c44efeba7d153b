"""Projected Adam on the model, vectorised over whole sweeps.

One run: optax Adam (lr 0.01) on the agent's loss, then the projection onto the norm
ball, repeated until both the model and the agent's ``Q`` stop moving (max-difference
test, absolute and relative tolerance ``tol``, as the original's default test) or
``max_iter`` steps. A sweep ``vmap``s that loop over every (projection, kappa, sigma,
seed) of a grid, so the whole grid is one compiled ``lax.while_loop``; the host only
steps it in chunks to drive a progress bar and to stop once every run has converged.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import lax
from tqdm import tqdm  # plain text bars: no ipywidgets needed in notebooks

from omd.tabular import agents
from omd.tabular import mdp as mdp_lib
from omd.tabular import model as model_lib


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Options of one sweep. ``max_iter`` and ``chunk`` only drive the host loop; the other
    fields select the compiled program."""

    agent: str = "omd"
    objective: str = "return"  # omd only: "return" (Figure 1) or "bellman"
    method: str = agents.DEFAULT_METHOD  # omd only: implicit-gradient method
    lr: float = 0.01
    max_iter: int = 10_000
    tol: float = 1e-10
    chunk: int = 1_000  # iterations per compiled call (progress-bar granularity)


def _project_by_id(params, kappa, mode_id, alpha):
    branches = [functools.partial(model_lib.project, mode=m, alpha=alpha) for m in model_lib.PROJECTIONS]
    return lax.switch(mode_id, branches, params, kappa)


def _unchanged(new, old, tol):
    close = jax.tree.map(lambda a, b: jnp.all(jnp.abs(a - b) <= tol + tol * jnp.abs(b)), new, old)
    return jnp.all(jnp.stack(jax.tree.leaves(close)))


def _init(cfg: TrainConfig, mdp, seed):
    q0, params = model_lib.init_params(jax.random.PRNGKey(seed), mdp)
    opt_state = optax.adam(cfg.lr).init(params)
    return {"step": jnp.asarray(0, jnp.int32), "q": q0, "params": params, "opt_state": opt_state,
            "done": jnp.asarray(False)}


def _advance(cfg: TrainConfig, mdp, state, seed, kappa, sigma, mode_id, until, noisy):
    loss_fn = agents.make_loss(cfg.agent, cfg.objective, cfg.method)
    opt = optax.adam(cfg.lr)

    def body(s):
        noise = jnp.zeros_like(s["q"])
        if noisy:  # drawing keys costs more than the rest of the step; skip when sigma = 0
            # Same noise stream layout as the original: one key per (seed, iteration).
            key = jax.random.PRNGKey(10_000 * seed + s["step"])
            noise = sigma * jax.random.normal(key, s["q"].shape, s["q"].dtype)
        grads, (_, q_used) = jax.grad(lambda p: loss_fn(p, s["q"], noise, mdp), has_aux=True)(s["params"])
        updates, opt_state = opt.update(grads, s["opt_state"], s["params"])
        params = _project_by_id(optax.apply_updates(s["params"], updates), kappa, mode_id, mdp.alpha)
        done = _unchanged((q_used, params), (s["q"], s["params"]), cfg.tol)
        return {"step": s["step"] + 1, "q": q_used, "params": params, "opt_state": opt_state, "done": done}

    def cond(s):
        return (~s["done"]) & (s["step"] < until)

    return lax.while_loop(cond, body, state)


@functools.partial(jax.jit, static_argnums=0)
def _init_batch(cfg, mdp, seeds):
    return jax.vmap(lambda s: _init(cfg, mdp, s))(seeds)


@functools.partial(jax.jit, static_argnums=(0, 8))
def _advance_batch(cfg, mdp, state, seeds, kappas, sigmas, mode_ids, until, noisy):
    run = lambda st, s, k, n, m: _advance(cfg, mdp, st, s, k, n, m, until, noisy)
    return jax.vmap(run)(state, seeds, kappas, sigmas, mode_ids)


@jax.jit
def _metrics(mdp, q, params):
    def one(q, p):
        q_model, _ = agents.model_fixed_point(q, p, mdp)
        return {
            "return": mdp_lib.expected_return(q, mdp),
            "bellman_error": mdp_lib.bellman_error(q, mdp),
            "return_model_fixed_point": mdp_lib.expected_return(q_model, mdp),
            "q_model": q_model,
        }
    return jax.vmap(one)(q, params)


def run_grid(cfg: TrainConfig, seeds, kappas, sigmas, projections, progress: bool | str = False) -> dict:
    """Train one run per entry of the equal-length 1-D arrays ``seeds``, ``kappas``, ``sigmas``,
    ``projections`` (names from ``model.PROJECTIONS``), all in one vectorised loop.

    Returns numpy float64 arrays with the runs on the leading axis: ``return`` (J of the
    final policy ``softmax(Q / alpha)`` in the true MDP, ``Q`` being the value the agent
    last acted with), ``bellman_error``, ``q``, ``q_model`` (exact fixed point of the final
    model) and ``return_model_fixed_point`` (J at ``q_model``), ``logits``, ``reward``,
    ``iterations``, ``converged``.
    """
    agents.make_loss(cfg.agent, cfg.objective, cfg.method)  # validate names early
    for p in projections:
        if p not in model_lib.PROJECTIONS:
            raise ValueError(f"Unknown projection {p!r}; choose one of {model_lib.PROJECTIONS}.")
    with jax.enable_x64(True):
        mdp = mdp_lib.true_mdp()
        seeds = jnp.asarray(seeds, jnp.int32)
        kappas = jnp.asarray(kappas, jnp.float64)
        sigmas = jnp.asarray(sigmas, jnp.float64)
        mode_ids = jnp.asarray([model_lib.PROJECTIONS.index(p) for p in projections], jnp.int32)
        noisy = bool(np.any(np.asarray(sigmas) != 0))
        # The compiled program depends on neither the budget nor the chunking: keep them out
        # of the static key so sweeps of any length share one compilation.
        program = dataclasses.replace(cfg, max_iter=0, chunk=0)
        state = _init_batch(program, mdp, seeds)
        bar = tqdm(total=cfg.max_iter, desc=progress if isinstance(progress, str) else cfg.agent,
                   disable=not progress, leave=False)
        done_steps = 0
        while done_steps < cfg.max_iter:
            until = min(done_steps + cfg.chunk, cfg.max_iter)
            state = _advance_batch(program, mdp, state, seeds, kappas, sigmas, mode_ids, until, noisy)
            bar.update(until - done_steps)
            done_steps = until
            if bool(jnp.all(state["done"])):
                break
        bar.close()
        out = _metrics(mdp, state["q"], state["params"])
        out.update(q=state["q"], logits=state["params"]["logits"], reward=state["params"]["reward"],
                   iterations=state["step"], converged=state["done"])
        return jax.tree.map(np.asarray, out)
