"""Paper Figures 6 and 7 on a budget 2 cores can carry: HalfCheetah-v5, OMD vs MLE at the
defaults of ``mujoco/configs/omd_default.py`` (model width 64, the original's setting for the
misspecification experiments), without distractors (Figure 6) and with 10 distractor dimensions
(Figure 7; the count is this project's choice), and model-free SAC without distractors as the
reference line. The paper's 5 seeds, 200,000 environment steps each (a fifth of its 1M). 25 jobs
of about 35 (MLE) to 65 (OMD) minutes of one core each; each resumes from its checkpoint.

Jobs are listed seed by seed, so a sweep cut off after a few sittings holds every setting at
its first seeds rather than one setting at all five."""

basename = "halfcheetah_paper_200k"
grid = []
for _seed in range(5):
    grid += [
        dict(_main=["mujoco/train.py"], seed=[_seed], **{"config.algo": ["omd", "mle"]},
             dim_distract=[0, 10], max_steps=[200_000]),
        dict(_main=["mujoco/train.py"], seed=[_seed], **{"config.algo": ["sac"]},
             dim_distract=[0], max_steps=[200_000]),
    ]
plot = dict(agent="config.algo", x="dim_distract", xlabel="distractor dimensions", categorical_x=True,
            final_window=5, ylabel="average evaluation return",
            title="HalfCheetah-v5, 200k steps (a fifth of the paper's budget), 5 seeds")
