"""OMD's exact-solution limit is the per-sample target error (``updates.target_match_loss``).

When the inner problem is solved exactly and Q can fit every model target of the batch, Q*(s_i, a_i)
= r_θ,i + γ V(s'_θ,i) for all i, so OMD's outer loss on the same batch, mean (Q*(s_i, a_i) - r_i -
γ V(s'_i))², is the target-match loss, and so is its exact implicit gradient. Checked here with a Q linear in its parameters and a batch of 4
transitions (each action's 5 parameters per head fit its samples exactly), in float64, the inner
problem solved by the minimum-norm Newton step and the implicit gradient by conjugate gradients
without damping (the inner Hessian is singular: more parameters than samples).
"""

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from omd import train_state
from omd.nets import Ensemble
from omd.soft_q import SoftQConfig
from omd.soft_q import agent as agent_lib
from omd.soft_q import losses, networks
from omd.soft_q.updates import omd_model_grad, target_match_loss

B, OBS, ACTIONS = 4, 4, 2


def make(implicit):
    config = SoftQConfig(implicit=implicit, model_hidden_dim=8, batch_size=B, start_training=B,
                         cg_damping=0.0, cg_maxiter=200)
    agent = agent_lib.make_agent(config, obs_dim=OBS, num_actions=ACTIONS)
    nets = agent.nets._replace(q=Ensemble(num=2, hidden_dims=(), out_dim=ACTIONS, last_scale=None))
    return config, agent._replace(nets=nets)


def test_exact_inner_solution_makes_the_outer_loss_the_target_match_loss():
    with jax.enable_x64(True):
        config, agent = make(implicit="cg")
        to64 = lambda tree: jax.tree.map(lambda x: jnp.asarray(x, jnp.float64), tree)
        init = agent_lib.init_state(agent, jax.random.key(0))
        k = jax.random.split(jax.random.key(1), 5)
        batch = {
            "obs": 1.0 + 0.3 * jax.random.normal(k[0], (B, OBS), jnp.float64),  # alike, as replay states are
            "onehot": jax.nn.one_hot(jnp.array([0, 1, 0, 1]), ACTIONS, dtype=jnp.float64),
            "reward": jax.random.normal(k[3], (B,), jnp.float64),
            "next_obs": jax.random.normal(k[1], (B, OBS), jnp.float64),
            "not_done_no_max": jnp.ones((B,), jnp.float64),
        }
        target = jax.tree.map(lambda x: x + jax.random.normal(k[2], x.shape, x.dtype), to64(init.q.params))
        value = train_state.create(to64(init.q.params), agent.q_opt).replace(target_params=target)
        model = jax.tree.map(lambda x: 3.0 * x, to64(init.model.params))
        start = agent_lib.AgentState(q=value, model=train_state.create(model, agent.model_opt), vep=None)
        with_model = lambda theta: start.replace(model=start.model.replace(params=theta))

        def min_norm_solve(w0, theta):
            """The exact minimiser of the quadratic inner loss nearest w0 (its Hessian is singular)."""
            mb, _ = losses.model_batch(agent.nets, config, theta, batch, None)
            flat, unravel = ravel_pytree(w0)
            loss_flat = lambda x: losses.q_loss(agent.nets, config, unravel(x), target, mb)[0]
            flat = flat - jnp.linalg.pinv(jax.hessian(loss_flat)(flat)) @ jax.grad(loss_flat)(flat)
            return unravel(flat), (value.replace(params=unravel(flat)), {})

        # The solve interpolates: each head's Q equals the model's target on every sample.
        w_star, _ = min_norm_solve(value.params, model)
        mb, _ = losses.model_batch(agent.nets, config, model, batch, None)
        q_sa = jnp.sum(networks.q_values(agent.nets, w_star, batch["obs"]) * batch["onehot"], axis=-1)
        np.testing.assert_allclose(q_sa, jnp.broadcast_to(losses.bellman_target(agent.nets, config, target, mb),
                                                          q_sa.shape), atol=1e-9)

        grad, _, metrics = jax.jit(lambda t: omd_model_grad(agent, with_model(t), batch, None, solve=min_norm_solve))(
            model)
        match, match_grad = jax.value_and_grad(target_match_loss, argnums=1)(agent, model, target, batch, None)
        assert float(match) > 1.0  # the model's targets are far from the real ones
        np.testing.assert_allclose(metrics["outer_loss"], match, rtol=1e-9)
        g, m = ravel_pytree(grad)[0], ravel_pytree(match_grad)[0]
        # Conjugate gradients stop at a relative residual of 1e-5.
        np.testing.assert_allclose(g, m, rtol=1e-4, atol=1e-6 * float(jnp.linalg.norm(m)))
