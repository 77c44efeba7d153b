"""Beyond the paper: the candidate stable OMD with its model's next states clipped to the range of
the real ones (``--clip_model_obs``), over Figure 4's other sizes.

At size 2 (``cartpole_stable_anchors``) this variant gave 415 +- 26 with no run's Q diverged, the
best size-2 result so far (the candidate alone: 398 +- 30); at size 12, 440 +- 24 (the candidate:
479 +- 11). Whether it holds at sizes 1, 3, 4, 6 and the default 32 decides whether it is a better
option than the candidate. 10 seeds vmapped per job, 200k steps, everything else the original's
defaults; sizes 1 and 3 (the goal's small sizes) first. About 20-25 min per job on one core."""

basename = "cartpole_stable_clip_obs"
group_seeds = True
grid = [dict(_main=["cartpole/train.py"], agent_type=["omd"], target_match_mix=[0.5], clip_target=[True],
             clip_model_obs=[True], model_hidden_dim=[1, 3, 4, 6, 32], seed=list(range(10)))]
plot = dict(agent="agent_type", x="model_hidden_dim", xlabel="model hidden size", categorical_x=True,
            ylabel="episode return", title="CartPole: the candidate stable OMD with clipped model states")
