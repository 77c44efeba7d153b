"""The four experiments of the original notebook as vectorised sweeps.

Every function returns plain numpy arrays (float64) shaped by its grid, so the notebook,
the CLI and the benchmark only index and plot them.
"""

from __future__ import annotations

import dataclasses

import jax
import numpy as np

from omd.tabular import agents as agents_lib
from omd.tabular import mdp as mdp_lib
from omd.tabular import model as model_lib
from omd.tabular.train import TrainConfig, run_grid

# Grids of the original notebook.
KAPPAS = tuple(np.linspace(0.0, 6.0, 20))
STDS = tuple(np.logspace(-3, 0.5, 30))
NUM_SEEDS = 10
# "exact" names the default exact inverse-Jacobian method in user-facing options.
SENSITIVITY_METHODS = {"exact": agents_lib.DEFAULT_METHOD, **{m: m for m in agents_lib.IMPLICIT_METHODS}}


def seed_list(num_seeds: int) -> np.ndarray:
    """Seeds are numbered 1..N as in the original notebook."""
    if num_seeds < 1:
        raise ValueError(f"Need at least one seed, got {num_seeds}.")
    return np.arange(1, num_seeds + 1)


def check_kappas(kappas) -> np.ndarray:
    """Norm bounds must be >= 0; ``inf`` means no bound."""
    kappas = np.asarray(kappas, np.float64)
    if kappas.ndim != 1 or kappas.size == 0 or np.any(~(kappas >= 0)):
        raise ValueError(f"Norm bounds must be >= 0 (0 and inf are allowed), got {kappas.tolist()}.")
    return kappas


def misspecification(agent: str, kappas, num_seeds: int = NUM_SEEDS, projections=(model_lib.DEFAULT_PROJECTION,),
                     objective: str = "return", method: str = agents_lib.DEFAULT_METHOD,
                     progress: bool = False, **train_options) -> dict:
    """Train ``agent`` for every (projection, kappa, seed) in one compiled sweep.

    Returns the arrays of ``train.run_grid`` reshaped to ``[projection, kappa, seed, ...]``.
    """
    kappas = check_kappas(kappas)
    seeds = seed_list(num_seeds)
    cfg = TrainConfig(agent=agent, objective=objective, method=method, **train_options)
    grid = np.meshgrid(np.arange(len(projections)), kappas, seeds, indexing="ij")
    p_idx, k, s = (g.ravel() for g in grid)
    label = f"omd ({objective}, {method})" if agent == "omd" else agent
    out = run_grid(cfg, s, k, np.zeros_like(k), [projections[i] for i in p_idx], progress=label if progress else False)
    shape = (len(projections), len(kappas), len(seeds))
    return {name: v.reshape(shape + v.shape[1:]) for name, v in out.items()}


def sensitivity(stds, num_seeds: int = NUM_SEEDS, methods=("exact", "identity"), progress: bool = False,
                **train_options) -> dict:
    """OMD with the Bellman-error objective and no norm bound, Gaussian noise of std ``sigma``
    added to the inner solution at every step; one sweep per implicit method.

    Returns ``{method: arrays shaped [sigma, seed, ...]}``.
    """
    stds = np.asarray(stds, np.float64)
    if stds.ndim != 1 or stds.size == 0 or np.any(stds < 0) or not np.all(np.isfinite(stds)):
        raise ValueError(f"Noise stds must be finite and >= 0, got {stds.tolist()}.")
    seeds = seed_list(num_seeds)
    results = {}
    for name in methods:
        if name not in SENSITIVITY_METHODS:
            raise ValueError(f"Unknown method {name!r}; choose from {sorted(SENSITIVITY_METHODS)}.")
        cfg = TrainConfig(agent="omd", objective="bellman", method=SENSITIVITY_METHODS[name], **train_options)
        sig, s = (g.ravel() for g in np.meshgrid(stds, seeds, indexing="ij"))
        out = run_grid(cfg, s, np.full_like(sig, np.inf), sig, ["none"] * sig.size,
                       progress=f"sensitivity ({name})" if progress else False)
        results[name] = {k: v.reshape((len(stds), len(seeds)) + v.shape[1:]) for k, v in out.items()}
    return results


def error_bounds(result: dict, agent: str) -> dict:
    """Q* approximation error and its theoretical bound for each run of ``misspecification``.

    ``omd``: bound ``eps / (1 - gamma)`` with ``eps = max |B Q - B^theta Q|`` at the learned Q.
    ``mle``: bound ``eps_r / (1 - gamma) + gamma eps_p r_max / (2 (1 - gamma)^2)`` with
    ``eps_r = max |r - r_theta|``, ``eps_p = max_{s,a} sum_s' |P - P_theta|``, ``r_max = max |r|``.
    Returns ``error``, ``bound`` and ``gap = bound - error`` with the run axes of ``result``.
    """
    with jax.enable_x64(True):
        mdp = mdp_lib.true_mdp()
        q_star = np.asarray(mdp_lib.optimal_q(mdp))
        p_true, r_true, gamma = np.asarray(mdp.transition), np.asarray(mdp.reward), mdp.gamma
        p_hat = np.asarray(jax.nn.softmax(result["logits"] / mdp.alpha, axis=-1))
        v_hat = np.asarray(mdp_lib.soft_value(result["q"], mdp.alpha))
    q_hat, r_hat = result["q"], result["reward"]
    error = np.max(np.abs(q_hat - q_star), axis=(-2, -1))
    if agent == "omd":
        true_backup = r_true + gamma * np.einsum("ast,...t->...sa", p_true, v_hat)
        model_backup = r_hat + gamma * np.einsum("...ast,...t->...sa", p_hat, v_hat)
        bound = np.max(np.abs(true_backup - model_backup), axis=(-2, -1)) / (1 - gamma)
    elif agent == "mle":
        eps_r = np.max(np.abs(r_hat - r_true), axis=(-2, -1))
        eps_p = np.max(np.sum(np.abs(p_hat - p_true), axis=-1), axis=(-2, -1))
        bound = eps_r / (1 - gamma) + gamma * eps_p * np.max(np.abs(r_true)) / (2 * (1 - gamma) ** 2)
    else:
        raise ValueError(f"Bounds are defined for 'omd' and 'mle', not {agent!r}.")
    return {"error": error, "bound": bound, "gap": bound - error}


@dataclasses.dataclass
class ModelTable:
    """The true MDP beside one learned model: ``P[a, s, s']``, ``r[s, a]`` and their ``Q*``."""

    true_transition: np.ndarray
    true_reward: np.ndarray
    true_q: np.ndarray
    model_transition: np.ndarray
    model_reward: np.ndarray
    model_q: np.ndarray

    def rows(self) -> list[dict]:
        """One row per (s, a) for a table (e.g. ``pandas.DataFrame(table.rows())``)."""
        out = []
        for s in range(self.true_reward.shape[0]):
            for a in range(self.true_reward.shape[1]):
                out.append({
                    "s": s, "a": a,
                    "P(s0|s,a)": self.true_transition[a, s, 0], "r": self.true_reward[s, a], "Q*": self.true_q[s, a],
                    "P_theta(s0|s,a)": self.model_transition[a, s, 0], "r_theta": self.model_reward[s, a],
                    "Q*_theta": self.model_q[s, a],
                })
        return out


def deterministic_model(result: dict) -> ModelTable:
    """Among OMD runs (any grid shape), the model whose own ``Q*`` is closest to the true ``Q*``.

    With the Bellman-error objective and no norm bound, OMD finds models with exactly the
    true ``Q*`` but deterministic transitions: a useful model need not be an accurate one.
    """
    with jax.enable_x64(True):
        mdp = mdp_lib.true_mdp()
        q_star = np.asarray(mdp_lib.optimal_q(mdp))
        p_true, r_true = np.asarray(mdp.transition), np.asarray(mdp.reward)
        logits = result["logits"].reshape(-1, *p_true.shape)
        q_model = result["q_model"].reshape(-1, *q_star.shape)
        best = int(np.argmin(np.max(np.abs(q_model - q_star), axis=(-2, -1))))
        p_hat = np.asarray(jax.nn.softmax(logits[best] / mdp.alpha, axis=-1))
    return ModelTable(p_true, r_true, q_star, p_hat, result["reward"].reshape(-1, *r_true.shape)[best],
                      q_model[best])
