"""Tiny CartPole sweep for tests and CI: OMD and MLE, two seeds each trained together in one
process (``group_seeds``: 2 jobs), 300 steps, tiny networks, 2 evaluation episodes."""

basename = "smoke"
group_seeds = True
grid = [
    dict(
        _main=["cartpole/train.py"],
        agent_type=["omd", "mle"],
        seed=[0, 1],
        num_train_steps=[300],
        init_steps=[100],
        batch_size=[32],
        hidden_dim=[8],
        model_hidden_dim=[4],
        eval_frequency=[100],
        log_frequency=[100],
        num_eval_episodes=[2],
    ),
]
plot = dict(agent="agent_type", x=None, final_window=2, title="smoke (300 steps)")
