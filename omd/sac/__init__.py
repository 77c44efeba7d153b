"""MuJoCo suite: SAC with OMD, MLE and VEP models.

Modules: ``config`` (typed configs), ``networks``, ``agent`` (state pytree),
``value_step`` (the SAC update), ``model_updates`` (omd / mle / vep / sac),
``update`` (the per-environment-step compiled calls), ``train`` (host loop,
evaluation, checkpoints), ``plot`` (learning curves).
"""
