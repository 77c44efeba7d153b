"""Beyond the paper: the candidate with its model anchored by an MLE term and its inner Adam state kept.

Two things separate the candidate ``--target_match_mix 0.5 --clip_target`` from MLE at model hidden
size 12, where it is 12 below: its model's value targets, matched through far-off next states
(next-state MSE about 40), and its value learner's step, a reset-Adam sign step of ``critic_lr``
per parameter. Changing either alone did not help (``--warm_opt``: 449 +- 17; ``--mle_grad_mix
0.5``: 419 +- 33, with a model as accurate as MLE's, yet a value loss on its own targets 3.5 times
MLE's). This is the cell of that 2 x 2 where both change, at size 12 and at size 2.
10 seeds vmapped per job, 200k steps, everything else the original's defaults.

About 20-25 min per job on one core."""

basename = "cartpole_stable_anchors_warm"
group_seeds = True
grid = [
    dict(_main=["cartpole/train.py"], agent_type=["omd"], target_match_mix=[0.5], clip_target=[True],
         mle_grad_mix=[0.5], warm_opt=[True], model_hidden_dim=[12, 2], seed=list(range(10))),
]
plot = dict(agent="agent_type", x="model_hidden_dim", xlabel="model hidden size", categorical_x=True,
            ylabel="episode return",
            title="CartPole: the candidate with an MLE term and the inner Adam state kept")
