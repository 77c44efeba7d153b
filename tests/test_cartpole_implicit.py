"""CartPole OMD: the --with_inv_jac model gradient equals finite differences of the re-solved inner problem.

The Q function is linear in its parameters here (no hidden layer), so the inner problem
(the model's Bellman error with the target held fixed) is a strictly convex quadratic:
its minimiser is unique and Newton's method finds it exactly. A ReLU/tanh network of
any width has flat directions at its minimum (rescaling symmetries, saturated units),
where the inner solution and hence finite differences are not defined. The model
(theta) keeps its hidden layers, with tanh so that finite differences see no kinks.
"""

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from omd import train_state
from omd.nets import Ensemble
from omd.soft_q import SoftQConfig
from omd.soft_q import agent as agent_lib
from omd.soft_q import losses
from omd.soft_q.updates import omd_model_grad

B, OBS, ACTIONS = 256, 4, 2


def make(implicit):
    config = SoftQConfig(implicit=implicit, model_hidden_dim=8, batch_size=B, start_training=B,
                         cg_damping=0.0, cg_maxiter=200)
    agent = agent_lib.make_agent(config, obs_dim=OBS, num_actions=ACTIONS)
    nets = agent.nets._replace(
        q=Ensemble(num=2, hidden_dims=(), out_dim=ACTIONS, last_scale=None),
        next_state=agent.nets.next_state.clone(activation=jnp.tanh),
        reward=agent.nets.reward.clone(activation=jnp.tanh),
    )
    return config, agent._replace(nets=nets)


def random_batch_and_target(q_params, key):
    """A float64 batch of random transitions, and a target: ``q_params`` plus unit noise (far from them)."""
    k = jax.random.split(key, 6)
    batch = {
        "obs": jax.random.normal(k[0], (B, OBS), jnp.float64),
        "onehot": jax.nn.one_hot(jax.random.randint(k[1], (B,), 0, ACTIONS), ACTIONS, dtype=jnp.float64),
        "reward": jax.random.normal(k[2], (B,), jnp.float64),
        "next_obs": jax.random.normal(k[3], (B, OBS), jnp.float64),
        "not_done_no_max": (jax.random.uniform(k[4], (B,)) > 0.1).astype(jnp.float64),
    }
    leaves, treedef = jax.tree.flatten(jax.tree.map(lambda x: jnp.asarray(x, jnp.float64), q_params))
    noise = jax.random.split(k[5], len(leaves))
    return batch, jax.tree.unflatten(treedef, [x + jax.random.normal(n, x.shape, x.dtype) for x, n in zip(leaves, noise)])


def test_inverse_jacobian_gradient_matches_finite_differences_and_differs_from_identity():
    with jax.enable_x64(True):
        config, agent = make(implicit="cg")
        to64 = lambda tree: jax.tree.map(lambda x: jnp.asarray(x, jnp.float64), tree)
        init = agent_lib.init_state(agent, jax.random.key(0))
        batch, target = random_batch_and_target(init.q.params, jax.random.key(1))
        value = train_state.create(to64(init.q.params), agent.q_opt).replace(target_params=target)
        model = jax.tree.map(lambda x: 3.0 * x, to64(init.model.params))  # outputs large enough to matter
        start = agent_lib.AgentState(q=value, model=train_state.create(model, agent.model_opt), vep=None)
        with_model = lambda theta: start.replace(model=start.model.replace(params=theta))
        key = jax.random.key(2)  # unused: the model is deterministic

        def inner_loss(w, theta):
            mb, _ = losses.model_batch(agent.nets, config, theta, batch, None)
            return losses.q_loss(agent.nets, config, w, target, mb)[0]

        def newton_solve(w0, theta):
            """Exact minimiser of the quadratic inner loss (two Newton steps: the second is a no-op check)."""
            flat, unravel = ravel_pytree(w0)
            loss_flat = lambda x: inner_loss(unravel(x), theta)
            for _ in range(2):
                flat = flat - jnp.linalg.solve(jax.hessian(loss_flat)(flat), jax.grad(loss_flat)(flat))
            w = unravel(flat)
            return w, (value.replace(params=w), {})

        @jax.jit
        def outer(theta):
            w, _ = newton_solve(value.params, theta)
            return losses.q_loss(agent.nets, config, w, target, batch)[0]

        @jax.jit
        def implicit_grad(theta):
            grad, _, metrics = omd_model_grad(agent, with_model(theta), batch, key, solve=newton_solve)
            return metrics["outer_loss"], grad

        loss, grad = implicit_grad(model)
        np.testing.assert_allclose(loss, outer(model), rtol=1e-12)
        grad_flat, _ = ravel_pytree(grad)
        theta_flat, unravel_theta = ravel_pytree(model)
        assert float(jnp.linalg.norm(grad_flat)) > 1e-3  # the model matters to the outer loss
        eps = 1e-6
        for i in range(4):
            d = jax.random.normal(jax.random.key(10 + i), theta_flat.shape, jnp.float64)
            d = d / jnp.linalg.norm(d)
            fd = (outer(unravel_theta(theta_flat + eps * d)) - outer(unravel_theta(theta_flat - eps * d))) / (2 * eps)
            # CG stops at a relative residual of 1e-5; finite differences carry ~1e-8 relative error.
            np.testing.assert_allclose(float(grad_flat @ d), float(fd), rtol=1e-3, atol=1e-7)

        # The paper's identity approximation is a different vector on the same problem.
        _, identity_agent = make(implicit="identity")
        identity_grad = jax.jit(lambda t: omd_model_grad(identity_agent, with_model(t), batch, key, solve=newton_solve))
        grad_id, _, _ = identity_grad(model)
        g_id = ravel_pytree(grad_id)[0]
        cos = g_id @ grad_flat / (jnp.linalg.norm(g_id) * jnp.linalg.norm(grad_flat))
        assert float(cos) < 0.999


def test_identity_gradient_is_the_originals_at_the_target_after_the_inner_steps():
    """The default model gradient against an independent derivation of the original's (``root_solve_bwd``):
    with (w*, w-bar') the value parameters and target after one Adam step on the model's data,
    grad = -d/dtheta < grad_w L_model(w*, w-bar'; theta), grad_w L_real(w*, w-bar') >."""
    with jax.enable_x64(True):
        config = SoftQConfig(x64=True, hidden_dim=16, model_hidden_dim=8, batch_size=B, start_training=B)
        agent = agent_lib.make_agent(config, obs_dim=OBS, num_actions=ACTIONS)
        init = agent_lib.init_state(agent, jax.random.key(0))
        batch, target = random_batch_and_target(init.q.params, jax.random.key(1))
        state = init.replace(q=init.q.replace(target_params=target),
                             model=init.model.replace(params=jax.tree.map(lambda x: 3.0 * x, init.model.params)))
        theta = state.model.params
        grad, solved, _ = jax.jit(lambda s: omd_model_grad(agent, s, batch, jax.random.key(2)))(state)

        model_batch = lambda th: losses.model_batch(agent.nets, config, th, batch, None)[0]
        after, _ = jax.jit(lambda q: agent_lib.value_steps(agent, q, model_batch(theta), 1))(state.q)

        @jax.jit
        def reference(target):
            g = jax.grad(lambda w: losses.q_loss(agent.nets, config, w, target, batch)[0])(after.params)
            inner_grad = lambda th: jax.grad(lambda w: losses.q_loss(agent.nets, config, w, target, model_batch(th))[0])(
                after.params)
            pairing = lambda th: sum(jnp.vdot(a, b) for a, b in zip(jax.tree.leaves(inner_grad(th)), jax.tree.leaves(g)))
            return ravel_pytree(jax.tree.map(jnp.negative, jax.grad(pairing)(theta)))[0]

        ours = ravel_pytree(grad)[0]
        np.testing.assert_allclose(ravel_pytree(solved.target_params)[0], ravel_pytree(after.target_params)[0],
                                   rtol=1e-12)
        np.testing.assert_allclose(ours, reference(after.target_params), rtol=1e-8, atol=1e-12)
        # the target the inner step started from gives a measurably different vector
        start = reference(state.q.target_params)
        assert float(jnp.linalg.norm(ours - start) / jnp.linalg.norm(ours)) > 1e-4
