"""Paper: CartPole return vs the number of standard-normal distractor dimensions appended to
the state, OMD / MLE / VEP, 10 seeds (vmapped per setting), default flags otherwise. The
distractor counts are this project's choice (the reference does not list the paper's)."""

basename = "cartpole_distract"
group_seeds = True
grid = [
    dict(
        _main=["cartpole/train.py"],
        agent_type=["omd", "mle", "vep"],
        dim_distract=[0, 2, 4, 8, 16],
        seed=list(range(10)),
    ),
]
plot = dict(agent="agent_type", x="dim_distract", xlabel="distractor dimensions",
            ylabel="episode return", title="CartPole: return vs distractors")
