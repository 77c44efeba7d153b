"""The ablation's last factor (issue 31, part 1): OMD with the conjugate-gradient inverse Jacobian
(``--with_inv_jac``) at model hidden size 2, 10 seeds, 200k steps.

It is ``cartpole_omd_ablation``'s job ``model_hidden_dim=2,seeds=0-9,with_inv_jac=True`` split in
five jobs of 2 vmapped seeds (0-1, 2-3, ...): each step's CG solve takes up to 100 Hessian-vector
products, about 30 times the default's work per step (75 against 2,350 steps/s for one seed on
one core), so 10 seeds x 200k steps are about 7.5 core-hours, more than a working session, whose
checkpoints do not outlive it. A 2-seed job takes about 85 minutes on one core; each is committed
as it finishes and the jobs pool into one 10-seed cell in tables and figures (a seed computes what
it would beside any other seeds)."""

basename = "cartpole_omd_ablation_cg"
group_seeds = False  # the grid splits the seeds itself
grid = [dict(_main=["cartpole/train.py"], agent_type=["omd"], model_hidden_dim=[2], with_inv_jac=[True],
             seed=[0, 2, 4, 6, 8], num_seeds=[2])]
plot = dict(agent="agent_type", x="model_hidden_dim", xlabel="model hidden size", categorical_x=True,
            ylabel="episode return", title="CartPole OMD with the CG inverse Jacobian")
