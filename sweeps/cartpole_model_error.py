"""Paper Table 1: CartPole next-state prediction error by model hidden size, from the runs of
``sweeps/cartpole_hidden.py`` (same jobs, same folder; run that sweep, then ``--plot`` this one).
The error is the mean over the last 10 logged training intervals."""

import os
import runpy

_hidden = runpy.run_path(os.path.join(os.path.dirname(__file__), "cartpole_hidden.py"))
basename = _hidden["basename"]
group_seeds = _hidden["group_seeds"]
grid = _hidden["grid"]
plot = dict(agent="agent_type", x="model_hidden_dim", metric="next_obs_mse",
            source="train", xlabel="model hidden size", ylabel="next-state MSE", yscale="log",
            categorical_x=True, title="CartPole: next-state error vs model capacity",
            table=[("episode_return", "eval")])
