"""Soft Q-learning agents with OMD, MLE and VEP models (the CartPole suite).

``make_train(SoftQConfig(...))`` returns ``train(key)``, a whole run compiled
into one function (``jax.vmap`` it over seed keys); ``make_loop`` gives the
pieces that ``train.train`` runs chunk by chunk, reporting metrics to a callback and
writing no file; ``outputs.train_and_save`` adds the files, checkpoints, resume and
signals of ``cartpole/train.py``.
"""

from omd.soft_q.config import ALGOS, SoftQConfig
from omd.soft_q.training import Loop, RunState, boundaries, make_loop, make_train

__all__ = ["ALGOS", "SoftQConfig", "Loop", "RunState", "boundaries", "make_loop", "make_train"]
