"""Paper: CartPole return vs the model's hidden size (1, 2, 3, 4, 6, 12), OMD / MLE / VEP,
10 seeds, default flags otherwise (200k steps). The seeds of one setting run vmapped in one
process (``group_seeds``): 18 jobs of 10 seeds each. The same runs give the paper's Table 1
(next-state error by hidden size): ``sweeps/cartpole_model_error.py``."""

basename = "cartpole_hidden"
group_seeds = True
grid = [
    dict(
        _main=["cartpole/train.py"],
        agent_type=["omd", "mle", "vep"],
        model_hidden_dim=[1, 2, 3, 4, 6, 12],
        seed=list(range(10)),
    ),
]
plot = dict(agent="agent_type", x="model_hidden_dim", xlabel="model hidden size", categorical_x=True,
            ylabel="episode return", title="CartPole: return vs model capacity")
