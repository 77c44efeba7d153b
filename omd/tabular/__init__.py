"""Tabular OMD: the paper's 2-state analysis (exact fixed points, exact implicit gradients).

``python -m omd.tabular misspec|sensitivity ...`` runs the sweeps from the shell; the
notebook ``tabular.ipynb`` calls the same functions. float64 is enabled only inside the
sweeps (``jax.enable_x64`` scope), never globally.
"""

from omd.tabular import agents, experiments, mdp, model, train
from omd.tabular.experiments import (deterministic_model, error_bounds, misspecification,
                                     sensitivity)

__all__ = ["agents", "experiments", "mdp", "model", "train", "misspecification", "sensitivity",
           "error_bounds", "deterministic_model"]
