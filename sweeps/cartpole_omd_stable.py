"""Beyond the paper: the candidate stable OMD across Figure 4's model sizes and at the defaults.

``--target_match_mix 0.5 --clip_target`` (docs/results/cartpole.md, "Beyond the paper: why OMD
collapses"): OMD's unit model gradient averaged with the unit gradient of the model's per-sample
value-target error, with V(s') bounded by the returns the real rewards allow. At size 2 it gave
398 ± 30 with no run's Q diverged (the default OMD: 136 ± 26). Here at model hidden sizes 1, 3, 4,
6, 12 and the default 32, then size 2 again (its first run is in ``cartpole_omd_stabilisers``), 10
seeds vmapped per job, 200k steps, everything else the original's defaults; compare with Figure 4
(``cartpole_hidden``) and the defaults' row (``cartpole_distract``'s 0-distractor jobs).

Controls: ``--target_match_mix 1`` (the model trained on the target error alone, no OMD gradient)
did as well at size 2 (432 ± 26, in ``cartpole_omd_stabilisers``), so it runs at every size here
too, with ``--clip_target`` so that it differs from the candidate in OMD's gradient only; MLE with ``--clip_target`` at size 2 asks whether bounding V(s') alone
rescues MLE, which collapses by optimism at this size.

About 28 min per OMD job on one core (27–38 min measured with tests sharing it), MLE about 12."""

basename = "cartpole_omd_stable"
group_seeds = True
grid = [  # the MLE control first: it is the shortest job
    dict(_main=["cartpole/train.py"], agent_type=["mle"], clip_target=[True], model_hidden_dim=[2],
         seed=list(range(10))),
    dict(_main=["cartpole/train.py"], agent_type=["omd"], target_match_mix=[0.5], clip_target=[True],
         model_hidden_dim=[1, 3, 4, 6, 12, 32, 2], seed=list(range(10))),
    dict(_main=["cartpole/train.py"], agent_type=["omd"], target_match_mix=[1.0], clip_target=[True],
         model_hidden_dim=[1, 3, 4, 6, 12, 32, 2], seed=list(range(10))),
]
plot = dict(agent="agent_type", x="model_hidden_dim", xlabel="model hidden size", categorical_x=True,
            ylabel="episode return", title="CartPole: the candidate stable OMD vs model capacity")
