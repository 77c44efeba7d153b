"""MuJoCo suite: SAC with OMD, MLE and VEP models.

Modules: ``config`` (typed configs), ``networks``, ``agent`` (state pytree),
``losses`` (critic, actor, temperature, MLE and VEP model losses), ``updates`` (the SAC
step, the omd / mle / vep / sac updates and ``make_update``), ``env_step`` (the compiled
calls of an environment step behind one interface, ``EnvStep``: speed plumbing only),
``evaluation``, ``train`` (the training loop, no file IO: metrics and checkpoint snapshots
go to callbacks), ``outputs`` (what a run writes: logs, checkpoints, resume, refusals,
signals, progress bar), ``plot`` (learning curves).
"""
