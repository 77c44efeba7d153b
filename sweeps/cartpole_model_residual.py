"""Beyond the paper: the one-unit model predicting the change of state instead of the state.

At ``--model_hidden_dim 1`` the original's next-state network maps (s, a) through one unit, so
every prediction lies on one line of CartPole's 4-dimensional state space, far from most real next
states; with Leaky ReLU units the candidate stable OMD then learns in every seed but ends at
258 ± 46, not near-optimal (``cartpole_model_activation``). ``--model_residual`` adds the network's
output to s, so the same one unit predicts s' = s + f(s, a), near right wherever the state changes
little in one step. Is the size-1 limit the parametrisation rather than the capacity? Asked of the
candidate (``--target_match_mix 0.5 --clip_target``), of MLE (which fails at size 1 by optimism,
47 ± 13) and of the default OMD, with the original's ReLU units, so that each compares with its
Figure 4 job. 10 seeds vmapped per job, 200k steps, everything else the original's defaults.

About 25 min per OMD job on one core, MLE about 10."""

basename = "cartpole_model_residual"
group_seeds = True
grid = [
    dict(_main=["cartpole/train.py"], agent_type=["omd"], target_match_mix=[0.5], clip_target=[True],
         model_residual=[True], model_hidden_dim=[1], seed=list(range(10))),
    dict(_main=["cartpole/train.py"], agent_type=["mle", "omd"], model_residual=[True],
         model_hidden_dim=[1], seed=list(range(10))),
]
plot = dict(agent="agent_type", x="model_hidden_dim", xlabel="model hidden size", categorical_x=True,
            ylabel="episode return", title="CartPole: a one-unit model predicting s' - s")
