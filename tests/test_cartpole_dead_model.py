"""At ``--model_hidden_dim 1`` the original's ReLU model can be dead from its initialisation.

The second hidden layer is a 1x1 orthogonal matrix (+-sqrt 2) with a zero bias, fed by a ReLU output
(never negative): where the weight is negative, the unit is 0 on every input, the model predicts a
constant and no gradient reaches its hidden layers, for any agent type. ``--model_activation
leaky_relu`` gives such a unit a gradient (docs/results/cartpole.md, "hidden size 1")."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from omd.soft_q import SoftQConfig, networks


def _model(activation: str, seed: int = 0):
    config = SoftQConfig(model_hidden_dim=1, model_activation=activation)
    nets = networks.make_networks(config, obs_dim=4, num_actions=2)
    return nets, networks.init_model(nets, jax.random.key(seed))


def _inputs(n=64):
    obs = jax.random.normal(jax.random.key(1), (n, 4))
    return obs, jax.nn.one_hot(jnp.arange(n) % 2, 2)


def _with_negative_second_layer(params):
    head = params["next_state"]
    hidden_1 = {**head["hidden_1"], "kernel": -jnp.sqrt(2.0) * jnp.ones_like(head["hidden_1"]["kernel"])}
    return {**params, "next_state": {**head, "hidden_1": hidden_1}}


def _loss_grads(nets, params):
    obs, act = _inputs()
    target = obs + 1.0  # any target that depends on the input

    def loss(p):
        return jnp.mean((networks.predict(nets, p, obs, act, None).next_obs - target) ** 2)

    return jax.grad(loss)(params)["next_state"]


def test_a_relu_model_with_a_negative_second_layer_is_constant_and_gets_no_hidden_gradient():
    nets, params = _model("relu")
    params = _with_negative_second_layer(params)
    obs, act = _inputs()
    pred = networks.predict(nets, params, obs, act, None).next_obs
    np.testing.assert_allclose(np.std(np.asarray(pred), axis=0), 0.0, atol=0)
    grads = _loss_grads(nets, params)
    for layer in ("hidden_0", "hidden_1"):
        assert all(float(jnp.abs(g).max()) == 0.0 for g in jax.tree.leaves(grads[layer]))
    assert float(jnp.abs(grads["out"]["bias"]).max()) > 0  # only the constant moves


def test_leaky_relu_gives_the_same_unit_a_gradient_in_every_layer():
    nets, params = _model("leaky_relu")
    grads = _loss_grads(nets, _with_negative_second_layer(params))
    for layer in ("hidden_0", "hidden_1"):
        assert all(float(jnp.abs(g).max()) > 0 for g in jax.tree.leaves(grads[layer]))


def test_leaky_relu_is_relu_on_positive_preactivations():
    (nets_r, params), (nets_l, _) = _model("relu"), _model("leaky_relu")
    params = _with_negative_second_layer(params)
    head = params["next_state"]  # the second layer made positive: the unit is alive on some inputs
    params = {**params, "next_state": {**head, "hidden_1": {**head["hidden_1"], "kernel": -head["hidden_1"]["kernel"]}}}
    obs, act = _inputs()
    h = params["next_state"]
    # where every preactivation is positive the two models agree exactly
    a = networks.predict(nets_r, params, obs, act, None).next_obs
    b = networks.predict(nets_l, params, obs, act, None).next_obs
    x = jnp.concatenate([obs, act], -1)
    pre0 = x @ h["hidden_0"]["kernel"] + h["hidden_0"]["bias"]
    pre1 = jnp.maximum(pre0, 0) @ h["hidden_1"]["kernel"] + h["hidden_1"]["bias"]
    alive = np.asarray((pre0[:, 0] > 0) & (pre1[:, 0] > 0))
    assert alive.any()
    np.testing.assert_array_equal(np.asarray(a)[alive], np.asarray(b)[alive])


def test_about_half_the_seeds_start_with_a_dead_next_state_model():
    dead = 0
    for seed in range(100):
        nets, params = _model("relu", seed)
        w = float(params["next_state"]["hidden_1"]["kernel"][0, 0])
        assert abs(abs(w) - np.sqrt(2)) < 1e-5  # a 1x1 orthogonal matrix is +-1, times the sqrt 2 scale
        obs, act = _inputs()
        constant = float(jnp.std(networks.predict(nets, params, obs, act, None).next_obs, axis=0).max()) == 0.0
        assert constant == (w < 0)
        dead += w < 0
    assert 35 <= dead <= 65


@pytest.mark.parametrize("bad", ["tanh", "ReLU"])
def test_other_activations_are_refused_by_name(bad):
    with pytest.raises(ValueError, match="--model_activation"):
        SoftQConfig(model_activation=bad).validate()


def test_residual_model_adds_its_output_to_the_state():
    """--model_residual: the same parameters predict s + f(s, a) instead of f(s, a), Gaussian means too."""
    obs, onehot = _inputs(5)
    noise = jax.random.normal(jax.random.key(3), (5, 4))
    for prob_model in (False, True):
        plain = SoftQConfig(model_hidden_dim=1, prob_model=prob_model)
        nets = networks.make_networks(plain, obs_dim=4, num_actions=2)
        nets_res = networks.make_networks(dataclasses.replace(plain, model_residual=True), obs_dim=4, num_actions=2)
        params = networks.init_model(nets, jax.random.key(4))
        out, out_res = networks.predict(nets, params, obs, onehot, noise), networks.predict(nets_res, params, obs, onehot, noise)
        np.testing.assert_allclose(out_res.mean - out.mean, obs, atol=1e-6)
        np.testing.assert_allclose(out_res.next_obs - out.next_obs, obs, atol=1e-6)
        np.testing.assert_array_equal(out_res.reward, out.reward)
