"""A reduced ``cartpole_hidden.py`` that runs on a laptop CPU in minutes; it made the README's
example figure. Reductions: model hidden sizes 1, 4, 12 (not 1, 2, 3, 4, 6, 12), 3 seeds (not
10), 10,000 environment steps with an evaluation every 500 (not 200,000 and 1,000), final return
over the last 5 evaluations; other flags at their defaults."""

basename = "cartpole_hidden_small"
group_seeds = True
grid = [
    dict(
        _main=["cartpole/train.py"],
        agent_type=["omd", "mle", "vep"],
        model_hidden_dim=[1, 4, 12],
        seed=[0, 1, 2],
        num_train_steps=[10000],
        eval_frequency=[500],
    ),
]
plot = dict(agent="agent_type", x="model_hidden_dim", xlabel="model hidden size",
            categorical_x=True, ylabel="episode return", final_window=5,
            title="CartPole, reduced: return vs model capacity")
