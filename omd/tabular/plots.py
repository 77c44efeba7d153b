"""Figures of the tabular notebook (matplotlib), each saved as PNG and PDF."""

from __future__ import annotations

import os

import numpy as np

from omd.tabular.mdp import J_STAR_REFERENCE

STYLE = {"omd": ("r", "^-", "OMD"), "mle": ("b", "o-", "MLE"), "vep": ("g", "s-", "VEP")}

# The published Figure 1, read off by eye (per-leaf projection): kappa -> (MLE, OMD).
PUBLISHED_FIGURE_1 = {0.32: (-0.83, -0.60), 0.95: (-0.48, 0.13), 1.26: (0.19, 0.59),
                      1.89: (0.66, 1.00), 2.84: (0.92, 1.02), 5.05: (1.01, 1.02)}


def save(fig, folder: str, name: str) -> list[str]:
    """Write ``folder/name.png`` and ``folder/name.pdf``; return the paths."""
    os.makedirs(folder, exist_ok=True)
    paths = [os.path.join(folder, f"{name}.{ext}") for ext in ("png", "pdf")]
    for path in paths:
        fig.savefig(path, dpi=150, bbox_inches="tight")
    return paths


def _band(ax, x, values, color, marker, label, scale=1.0):
    mean, sem = values.mean(-1), values.std(-1) / np.sqrt(values.shape[-1])
    ax.plot(x, mean, marker, c=color, label=label, markersize=5)
    ax.fill_between(x, mean - scale * sem, mean + scale * sem, color=color, alpha=0.15)


def return_vs_kappa(ax, kappas, returns: dict, title: str, published: bool = False):
    """Expected return (mean ± s.e. over seeds) vs the norm bound, one curve per agent."""
    for agent, values in returns.items():
        color, marker, label = STYLE[agent]
        _band(ax, kappas, values, color, marker, label)
    if published:
        k = np.array(list(PUBLISHED_FIGURE_1))
        mle, omd = np.array(list(PUBLISHED_FIGURE_1.values())).T
        ax.plot(k, mle, "x", c="navy", markersize=8, label="published MLE")
        ax.plot(k, omd, "x", c="darkred", markersize=8, label="published OMD")
    ax.axhline(J_STAR_REFERENCE, ls="--", c="k", label="optimal")
    ax.set(xlabel=r"model parameter norm bound $\kappa$", ylabel="expected return", title=title)
    ax.legend(fontsize=8)


def error_bounds(ax, kappas, omd: dict, mle: dict):
    """``max |Q* - Q|`` and the gap to each agent's bound vs kappa, log2 y-axis."""
    _band(ax, kappas, omd["gap"], "r", "s-",
          r"OMD: $\frac{\epsilon}{1-\gamma} - \max|Q^*-\hat Q|$")
    _band(ax, kappas, mle["gap"], "b", "o-",
          r"MLE: $\frac{\epsilon_r}{1-\gamma}+\frac{\gamma\epsilon_p r_{\max}}{2(1-\gamma)^2} - \max|Q^*-\hat Q|$")
    _band(ax, kappas, omd["error"], "r", "^--", r"OMD: $\max|Q^*-\hat Q|$")
    _band(ax, kappas, mle["error"], "b", "v--", r"MLE: $\max|Q^*-\hat Q|$")
    ax.set_yscale("log", base=2)
    ax.set(xlabel=r"model parameter norm bound $\kappa$")
    ax.legend(fontsize=7)


def sensitivity(ax, stds, returns: dict):
    """Expected return vs the std of the noise added to the inner solution."""
    labels = {"exact": "with inverse Jacobian", "identity": "with identity approximation"}
    for method, values in returns.items():
        mean, std = values.mean(-1), values.std(-1)
        line, = ax.plot(stds, mean, label=labels.get(method, method), alpha=0.8)
        # The original shaded mean ± 0.3 std.
        ax.fill_between(stds, mean - 0.3 * std, mean + 0.3 * std, color=line.get_color(), alpha=0.2)
    ax.set_xscale("log")
    ax.set(xlabel=r"noise std $\sigma$", ylabel="expected return")
    ax.legend(fontsize=8)
