"""Tiny CartPole sweep for tests and CI: two agents x two seeds, a few hundred steps, tiny nets."""

basename = "smoke"
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
    ),
]
plot = dict(agent="agent_type", x=None, final_window=2, title="smoke (300 steps)")
