"""Candidate stabilisers of OMD, one at a time, where OMD collapses most (model hidden size 2;
10 seeds vmapped in one process, 200k steps, the original's defaults otherwise):

- ``--mle_coef 1``: the MLE loss (next-state MSE + reward MSE) added to the outer loss, unweighted;
- ``--clip_model_obs``: model next states clipped to the range of the batch's real next states;
- ``--no_learn_reward``: the original's flag: the value function gets the true rewards;
- ``--model_grad_clip 10``: the model gradient's global norm clipped to 10 before Adam;
- ``--mle_grad_mix 0.5``: the model steps on the mean of the unit-norm OMD and MLE gradients (a
  fixed ``--mle_coef`` is negligible beside an OMD gradient whose norm grows to 1e6);
- ``--clip_model_obs --no_learn_reward``: both of the model's freedoms that the probes show
  drifting taken away: next states kept within the data's range and the true rewards;
- ``--lr 0.0003``: a slower model (the original's flag; default 1e-3);
- ``--tau 0.002``: a slower target network for the inner problem (default 0.01);
- ``--warm_opt --clip_model_obs``: the two that help different symptoms, together: the inner
  Adam state kept (the default's inner step is sign descent, blind to the model's scale) and
  model states kept in the data's range;
- ``--clip_target``: V(s') in every Bellman target clipped to the soft returns the real rewards
  allow ([0, 100.7] in CartPole): Q cannot inflate past what any policy could earn;
- ``--warm_opt --unroll_inner``: the model gradient is the exact derivative of the inner Adam
  step as taken, instead of the identity approximation of an argmin's;
- ``--target_match_mix 0.5``: OMD's unit model gradient averaged with the unit gradient of the
  model's value targets' per-sample squared error against the real ones (OMD alone only asks the
  targets to move Q the right way, which leaves each target free);
- ``--target_match_mix 0.5 --clip_target``: that, with Q bounded (``--clip_target`` ends every Q
  divergence, 0 of 10, but the returns stay at 100–250);
- ``--target_match_mix 1``: the control: the model trained on the value-target error alone, no
  OMD gradient;
- ``--target_match_mix 0.25 --clip_target`` and ``0.1``: the dose: how small a share of the
  target-error gradient still stabilises OMD (the control above did as well as 0.5, so does any of
  the gain come from OMD's share?).

Chosen from the probes of ``cartpole/diagnose.py`` (docs/results/cartpole.md, "Beyond the paper: why OMD collapses"): the
model's reward head drifts far below the true reward while its next states move to where the
value function extrapolates high, and the model gradient's norm grows by orders of magnitude.
The default OMD job at this size is ``cartpole_hidden``'s ``agent_type=omd,model_hidden_dim=2``."""

basename = "cartpole_omd_stabilisers"
group_seeds = True
_variants = [dict(mle_coef=[1.0]), dict(clip_model_obs=[True]), dict(no_learn_reward=[True]),
             dict(model_grad_clip=[10.0]), dict(mle_grad_mix=[0.5]),
             dict(clip_model_obs=[True], no_learn_reward=[True]), dict(lr=[3e-4]), dict(tau=[0.002]),
             dict(warm_opt=[True], clip_model_obs=[True]),
             dict(clip_target=[True]), dict(warm_opt=[True], unroll_inner=[True]),
             dict(target_match_mix=[0.5]), dict(target_match_mix=[0.5], clip_target=[True]),
             dict(target_match_mix=[1.0]), dict(target_match_mix=[0.25], clip_target=[True]),
             dict(target_match_mix=[0.1], clip_target=[True])]
grid = [dict(_main=["cartpole/train.py"], agent_type=["omd"], model_hidden_dim=[2], **variant,
             seed=list(range(10))) for variant in _variants]
plot = dict(agent="agent_type", x=None, ylabel="episode return",
            title="CartPole OMD, model hidden size 2: candidate stabilisers")
