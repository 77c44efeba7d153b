"""Soft Q-learning agents with OMD, MLE and VEP models (the CartPole suite).

``make_train(SoftQConfig(...))`` returns ``train(key)``, a whole run compiled
into one function (``jax.vmap`` it over seed keys); ``make_loop`` gives the
pieces the CLI uses to log between chunks.
"""

from omd.soft_q.config import ALGOS, SoftQConfig
from omd.soft_q.training import Loop, RunState, boundaries, make_loop, make_train

__all__ = ["ALGOS", "SoftQConfig", "Loop", "RunState", "boundaries", "make_loop", "make_train"]
