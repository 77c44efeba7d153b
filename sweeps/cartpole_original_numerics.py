"""Two numerical choices of the original CartPole code that this code does not make by default,
each a separate, labelled OMD run at the default settings (10 seeds, 200k steps):
``--x64`` (float64 parameters and arithmetic; the original enabled ``jax_enable_x64``) and
``--without_replacement`` (the original's replay buffer sampled each batch without replacement).
The third job is the default run, to compare with in one figure; it is the same command as
``sweeps/cartpole_distract.py``'s ``agent_type=omd,dim_distract=0`` job."""

basename = "cartpole_original_numerics"
group_seeds = True
grid = [
    dict(_main=["cartpole/train.py"], agent_type=["omd"], x64=[True], seed=list(range(10))),
    dict(_main=["cartpole/train.py"], agent_type=["omd"], without_replacement=[True], seed=list(range(10))),
    # last, so that the two jobs above keep their names
    dict(_main=["cartpole/train.py"], agent_type=["omd"], seed=list(range(10))),
]
plot = dict(agent=None, x=None, ylabel="episode return",
            title="CartPole OMD: default vs the original's numerics")
