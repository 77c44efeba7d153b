"""Paper: HalfCheetah return with a limited-capacity model, OMD vs MLE, 5 seeds, 1M steps each
(resumable: a pre-empted job continues from its checkpoint). The width (8 instead of the default
64) is this project's choice of "small"; override it with ``--config.model_hidden_dim`` below."""

basename = "halfcheetah_small_model"
grid = [
    dict(
        _main=["mujoco/train.py"],
        **{"config.algo": ["omd", "mle"], "config.model_hidden_dim": [8]},
        seed=[0, 1, 2, 3, 4],
    ),
]
plot = dict(agent="config.algo", x=None, ylabel="average evaluation return",
            title="HalfCheetah-v5, model hidden size 8")
