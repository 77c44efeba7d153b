"""Paper: HalfCheetah return with distractor dimensions appended to the observation, OMD vs
MLE, 5 seeds, 1M steps each (resumable). The count (10) is this project's choice."""

basename = "halfcheetah_distract"
grid = [
    dict(
        _main=["mujoco/train.py"],
        **{"config.algo": ["omd", "mle"]},
        dim_distract=[10],
        seed=[0, 1, 2, 3, 4],
    ),
]
plot = dict(agent="config.algo", x=None, ylabel="average evaluation return",
            title="HalfCheetah-v5 with 10 distractor dimensions")
