"""A reduced ``halfcheetah_small_model.py`` that fits a 2-core CPU over a few sittings: OMD vs MLE
with a model of hidden size 8 on HalfCheetah-v5, 2 seeds (not 5), 200,000 steps (not 1M), final
return over the last 5 evaluations; other flags at their defaults. A job is about 50 (OMD) or 30
(MLE) minutes of one core's updates, and resumes from its checkpoint when the runner is run again.
A reduced protocol: it shows the early learning curves, not the paper's 1M-step comparison."""

basename = "halfcheetah_small_model_200k"
grid = [
    dict(
        _main=["mujoco/train.py"],
        **{"config.algo": ["omd", "mle"], "config.model_hidden_dim": [8]},
        seed=[0, 1],
        max_steps=[200_000],
    ),
]
plot = dict(agent="config.algo", x=None, final_window=5, ylabel="average evaluation return",
            title="HalfCheetah-v5, model hidden size 8, 200k steps (reduced)")
