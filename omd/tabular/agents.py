"""The three model-learning objectives: ``omd``, ``mle`` and ``vep``.

Each agent is ``loss(params, q_prev, noise, cfg) -> (loss, (q_star, q_used))``: the
model loss to minimise over ``params``, the exact fixed point ``q_star`` of the model's
soft Bellman operator (warm-started from ``q_prev``) and ``q_used``, the value the agent
acts with (``q_star`` plus the injected ``noise``, zero outside the sensitivity study).
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp
from jax import lax

from omd import implicit
from omd.tabular import mdp as mdp_lib
from omd.tabular import model as model_lib

AGENTS = ("omd", "mle", "vep")
OBJECTIVES = ("return", "bellman")
# Exact inverse-Jacobian solves plus the paper's identity approximation.
IMPLICIT_METHODS = ("dense", "gmres", "bicgstab", "identity")
DEFAULT_METHOD = "dense"


def model_residual(q, params, mdp):
    """``Q - B^theta Q``: zero at the model's fixed point (``f`` of ``root_solve``)."""
    return mdp_lib.bellman_residual(q, model_lib.transition(params, mdp.alpha), params["reward"],
                                    mdp.gamma, mdp.alpha)


def model_fixed_point(q0, params, mdp):
    """The model's soft-optimal ``Q`` by Newton from ``q0`` (never differentiated)."""
    return mdp_lib.solve_fixed_point(q0, model_lib.transition(params, mdp.alpha), params["reward"],
                                     mdp.gamma, mdp.alpha)


def omd_loss(params, q_prev, noise, mdp, objective: str, method: str):
    """Outer objective at the implicit solution ``Q*(theta)``, differentiated by the IFT.

    ``objective="return"`` minimises ``-J(pi_Q)`` in the true MDP (Figure 1);
    ``"bellman"`` minimises the true soft Bellman error of ``Q`` (Figure 3, sensitivity).
    """
    q_star, _ = implicit.root_solve(
        lambda q, p: model_residual(q, p, mdp),
        lambda q0, p: model_fixed_point(q0, p, mdp),
        q_prev, params, method=method,
    )
    q_used = q_star + noise
    if objective == "return":
        loss = -mdp_lib.expected_return(q_used, mdp)
    elif objective == "bellman":
        loss = mdp_lib.bellman_error(q_used, mdp)
    else:
        raise ValueError(f"Unknown objective {objective!r}; choose one of {OBJECTIVES}.")
    return loss, (lax.stop_gradient(q_star), lax.stop_gradient(q_used))


def mle_loss(params, q_prev, noise, mdp, **_):
    """Average KL(P || P_theta) over (s, a) plus the mean squared reward error."""
    log_p_hat = jax.nn.log_softmax(params["logits"] / mdp.alpha, axis=-1)
    p = mdp.transition
    kl = jnp.mean(jnp.sum(p * (jnp.log(p) - log_p_hat), axis=-1))
    loss = kl + jnp.mean((params["reward"] - mdp.reward) ** 2)
    q_star, _ = model_fixed_point(q_prev, lax.stop_gradient(params), mdp)
    return loss, (q_star, q_star + noise)


def vep_values(mdp) -> jax.Array:
    """The fixed value functions of VEP: ``V^pi`` in the true MDP for every deterministic pi."""
    return mdp_lib.policy_values(mdp_lib.deterministic_policies(mdp), mdp)


def vep_loss(params, q_prev, noise, mdp, **_):
    """Value equivalence on the value set ``V = {V^pi : pi deterministic}`` (4 functions).

    With every deterministic policy in the policy set, matching ``T_pi v`` for all pi
    is matching ``r(s, a) + gamma sum_s' P(s'|s, a) v(s')`` at every (s, a), so the
    loss is the mean squared difference of those backups over ``v in V`` and ``(s, a)``.
    """
    values = vep_values(mdp)
    backup = lambda p, r: r[None] + mdp.gamma * jnp.einsum("ast,kt->ksa", p, values)
    diff = backup(model_lib.transition(params, mdp.alpha), params["reward"]) - backup(mdp.transition, mdp.reward)
    q_star, _ = model_fixed_point(q_prev, lax.stop_gradient(params), mdp)
    return jnp.mean(diff ** 2), (q_star, q_star + noise)


def make_loss(agent: str, objective: str = "return", method: str = DEFAULT_METHOD) -> Callable:
    """``loss(params, q_prev, noise, mdp)`` for ``agent`` with the given OMD options."""
    if agent == "omd":
        if method not in IMPLICIT_METHODS:
            raise ValueError(f"Unknown implicit method {method!r}; choose one of {IMPLICIT_METHODS}.")
        if objective not in OBJECTIVES:
            raise ValueError(f"Unknown objective {objective!r}; choose one of {OBJECTIVES}.")
        return lambda p, q, n, m: omd_loss(p, q, n, m, objective, method)
    if agent == "mle":
        return mle_loss
    if agent == "vep":
        return vep_loss
    raise ValueError(f"Unknown agent {agent!r}; choose one of {AGENTS}.")
