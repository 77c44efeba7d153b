"""Model parameters ``theta = {"logits", "reward"}``, their initialisation and the norm balls.

``P_theta = softmax(logits / alpha)`` over next states and ``r_theta = reward``, as in the
paper. The misspecification study bounds the model by a radius ``kappa`` in one of two
ways (see ``PROJECTIONS``).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from omd.tabular.mdp import ALPHA, MDP

# joint:    one L2 ball over (logits / alpha, reward), as the paper's text describes.
# leafwise: what the original notebook's projected Adam did, and what produced the
#           published Figure 1. Its ``@optimizer`` decorator applied the update to each
#           pytree leaf separately, so ``x[0] / alpha`` and ``x[1]`` were the first and
#           second *rows* of a leaf: each leaf X is scaled so that
#           ||(X[0] / alpha, X[1])|| <= kappa (logits: action 0 over alpha, action 1 as is;
#           reward: state 0 over alpha, state 1 as is).
# none:     no constraint (the IFT sensitivity study).
PROJECTIONS = ("leafwise", "joint", "none")
DEFAULT_PROJECTION = "leafwise"


def init_params(key: jax.Array, mdp: MDP) -> tuple[jax.Array, dict]:
    """Uniform [0, 1) initial ``Q`` and model, split from ``key`` as the original did."""
    k_q, k_logits, k_reward = jax.random.split(key, 3)
    dtype = mdp.reward.dtype
    q0 = jax.random.uniform(k_q, mdp.reward.shape, dtype)
    params = {
        "logits": jax.random.uniform(k_logits, mdp.transition.shape, dtype),
        "reward": jax.random.uniform(k_reward, mdp.reward.shape, dtype),
    }
    return q0, params


def transition(params: dict, alpha: float = ALPHA) -> jax.Array:
    """``P_theta[a, s, s'] = softmax_s'(logits[a, s, :] / alpha)``."""
    return jax.nn.softmax(params["logits"] / alpha, axis=-1)


def _scale_to(norm, kappa):
    # kappa = 0 with norm = 0 must stay a no-op, hence the guarded division.
    return jnp.where(norm > kappa, kappa / jnp.where(norm > 0, norm, 1.0), 1.0)


def joint_norm(params: dict, alpha: float = ALPHA) -> jax.Array:
    """``||(logits / alpha, reward)||_2``."""
    return jnp.sqrt(jnp.sum((params["logits"] / alpha) ** 2) + jnp.sum(params["reward"] ** 2))


def leaf_norm(leaf: jax.Array, alpha: float = ALPHA) -> jax.Array:
    """``||(leaf[0] / alpha, leaf[1])||_2``: the original per-leaf norm (see ``PROJECTIONS``)."""
    return jnp.sqrt(jnp.sum((leaf[0] / alpha) ** 2) + jnp.sum(leaf[1:] ** 2))


def project(params: dict, kappa, mode: str, alpha: float = ALPHA) -> dict:
    """Scale ``params`` back onto the ball of radius ``kappa`` chosen by ``mode``."""
    if mode == "joint":
        scale = _scale_to(joint_norm(params, alpha), kappa)
        return jax.tree.map(lambda x: x * scale, params)
    if mode == "leafwise":
        return jax.tree.map(lambda x: x * _scale_to(leaf_norm(x, alpha), kappa), params)
    if mode == "none":
        return params
    raise ValueError(f"Unknown projection {mode!r}; choose one of {PROJECTIONS}.")


def constraint_norms(params: dict, mode: str, alpha: float = ALPHA) -> jax.Array:
    """The norms that ``project(mode)`` keeps below ``kappa`` (one per ball)."""
    if mode == "joint":
        return joint_norm(params, alpha)[None]
    if mode == "leafwise":
        return jnp.stack([leaf_norm(params["logits"], alpha), leaf_norm(params["reward"], alpha)])
    raise ValueError(f"Projection {mode!r} has no ball; choose 'joint' or 'leafwise'.")
