"""Beyond the paper: the smallest models with a hidden activation that cannot die.

At ``--model_hidden_dim 1`` the original's ReLU model is dead from initialisation whenever its 1x1
second-layer weight is negative (orthogonal init: +-sqrt 2, zero bias): it predicts a constant next
state and never learns, for any agent type. In the stable candidate's size-1 job
(``cartpole_omd_stable``) that is exactly its five runs that never learn (seeds 0, 2, 7, 8, 9;
docs/results/cartpole.md, "hidden size 1"). Here the same agents with ``--model_activation
leaky_relu`` (slope 0.01, the same function on positive preactivations): the candidate stable OMD
(``--target_match_mix 0.5 --clip_target``) at sizes 1 to 3, and at size 1 the default OMD and MLE,
so that the comparison stays fair (a dead model fails MLE as much as OMD). 10 seeds vmapped per job,
200k steps, everything else the original's defaults.

About 25 min per OMD job on one core, MLE about 10."""

basename = "cartpole_model_activation"
group_seeds = True
grid = [
    dict(_main=["cartpole/train.py"], agent_type=["omd"], target_match_mix=[0.5], clip_target=[True],
         model_activation=["leaky_relu"], model_hidden_dim=[1, 2, 3], seed=list(range(10))),
    dict(_main=["cartpole/train.py"], agent_type=["mle", "omd"], model_activation=["leaky_relu"],
         model_hidden_dim=[1], seed=list(range(10))),
]
plot = dict(agent="agent_type", x="model_hidden_dim", xlabel="model hidden size", categorical_x=True,
            ylabel="episode return", title="CartPole: models with Leaky ReLU hidden units")
