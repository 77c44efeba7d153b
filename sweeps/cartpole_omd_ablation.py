"""OMD's approximations, one factor at a time (issue 31, part 1): from the original's defaults,
each of more inner steps (``--num_Q_steps 5``), the conjugate-gradient inverse Jacobian
(``--with_inv_jac``), the inner Adam state kept across outer steps (``--warm_opt``; by default it
is reset every outer step, so each inner step is about ``inner_lr * sign(grad)``) and no warm
start (``--no_warm``), at model hidden size 2 and at the default 32; 10 seeds vmapped in one
process, 200k steps. Size 2 is listed first: it is where OMD's collapses are most frequent.

The default OMD job at each size is not rerun here: it is ``cartpole_hidden``'s
``agent_type=omd,model_hidden_dim=2`` and ``cartpole_distract``'s ``agent_type=omd,dim_distract=0``
(same code, flags and seeds; a run is deterministic on one CPU)."""

basename = "cartpole_omd_ablation"
group_seeds = True
_variants = [dict(warm_opt=[True]), dict(no_warm=[True]), dict(num_Q_steps=[5]), dict(with_inv_jac=[True])]
grid = [dict(_main=["cartpole/train.py"], agent_type=["omd"], model_hidden_dim=[size], **variant,
             seed=list(range(10)))
        for size in (2, 32) for variant in _variants if "with_inv_jac" not in variant]
grid.append(dict(_main=["cartpole/train.py"], agent_type=["omd"], model_hidden_dim=[2], with_inv_jac=[True],
                 seed=list(range(10))))  # last: the longest job
plot = dict(agent="agent_type", x="model_hidden_dim", xlabel="model hidden size", categorical_x=True,
            ylabel="episode return",
            title="CartPole OMD: one approximation changed at a time")
