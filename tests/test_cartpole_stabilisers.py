"""The candidate stabilisers of OMD (--mle_coef, --clip_model_obs, --model_grad_clip, --mle_grad_mix,
--target_match_mix): each does what its help says, and each is off by default (the golden tests pin
that a default run is unchanged)."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from omd.soft_q import SoftQConfig, losses, updates
from omd.soft_q.agent import model_optimizer
from soft_q_small import random_batch, small_agent

_batch, _agent = random_batch, small_agent


def test_defaults_are_off():
    config = SoftQConfig()
    assert config.mle_coef == 0.0 and not config.clip_model_obs and config.model_grad_clip == 0.0
    assert config.mle_grad_mix == 0.0


def test_clip_model_obs_keeps_predictions_within_the_batch_range():
    agent, state = _agent(clip_model_obs=True)
    batch = _batch(jax.random.key(1))
    far = jax.tree_util.tree_map_with_path(
        lambda p, x: x + 50.0 if "bias" in jax.tree_util.keystr(p) and x.shape[-1] == 4 else x, state.model.params)
    clipped, pred = losses.model_batch(agent.nets, agent.config, far, batch, None)
    low, high = batch["next_obs"].min(0), batch["next_obs"].max(0)
    assert bool(jnp.all(pred.next_obs > high))  # the raw predictions are far outside
    np.testing.assert_allclose(clipped["next_obs"], jnp.broadcast_to(high, clipped["next_obs"].shape))
    unclipped, _ = losses.model_batch(agent.nets, dataclasses.replace(agent.config, clip_model_obs=False), far,
                                      batch, None)
    np.testing.assert_array_equal(unclipped["next_obs"], pred.next_obs)
    assert bool(jnp.all(clipped["next_obs"] >= low))


def test_mle_coef_adds_the_mle_gradient_to_the_omd_gradient():
    batch, key = _batch(jax.random.key(2)), jax.random.key(3)
    grads = {}
    for coef in (0.0, 0.5):
        agent, state = _agent(mle_coef=coef)
        grads[coef], _, _ = updates.omd_model_grad(agent, state, batch, key)
    agent, state = _agent()
    mle_grad = jax.grad(lambda th: losses.mle_loss(agent.nets, agent.config, th, batch, None)[0])(state.model.params)
    expected = jax.tree.map(lambda g, m: g + 0.5 * m, grads[0.0], mle_grad)
    for got, want in zip(jax.tree.leaves(grads[0.5]), jax.tree.leaves(expected)):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)


def test_model_grad_clip_clips_the_global_norm_before_adam():
    config = SoftQConfig(model_grad_clip=1.0).validate()
    params = {"w": jnp.zeros(3)}
    grads = {"w": jnp.array([30.0, 40.0, 0.0])}  # norm 50
    opt = model_optimizer(config)
    _, state = opt.update(grads, opt.init(params), params)
    mu = state[1][0].mu["w"]  # Adam's first moment saw the clipped gradient, norm 1
    np.testing.assert_allclose(mu, 0.1 * jnp.array([0.6, 0.8, 0.0]), rtol=1e-6)
    plain = model_optimizer(SoftQConfig())
    _, plain_state = plain.update(grads, plain.init(params), params)
    np.testing.assert_allclose(plain_state[0].mu["w"], 0.1 * grads["w"], rtol=1e-6)


def test_mle_grad_mix_weights_the_unit_omd_and_mle_gradients():
    agent, state = _agent(mle_grad_mix=0.25)
    batch = _batch(jax.random.key(6))
    omd_grads, _, _ = updates.omd_model_grad(agent, state, batch, jax.random.key(7))
    mle = jax.grad(lambda th: losses.mle_loss(agent.nets, agent.config, th, batch, None)[0])(state.model.params)
    mixed = updates._mix_gradient(omd_grads, mle, agent.config.mle_grad_mix)
    flat = lambda t: np.concatenate([np.ravel(x) for x in jax.tree.leaves(t)])  # noqa: E731
    o, m, got = flat(omd_grads), flat(mle), flat(mixed)
    np.testing.assert_allclose(got, 0.75 * o / np.linalg.norm(o) + 0.25 * m / np.linalg.norm(m), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("kw, message", [
    (dict(mle_coef=-1.0), "--mle_coef"),
    (dict(model_grad_clip=-0.5), "--model_grad_clip"),
    (dict(algo="mle", mle_coef=1.0), "--mle_coef adds the MLE loss to OMD's outer loss"),
    (dict(mle_grad_mix=1.5), "--mle_grad_mix"),
    (dict(algo="vep", mle_grad_mix=0.5), "--mle_grad_mix mixes the MLE gradient into OMD's model gradient"),
    (dict(target_match_mix=-0.1), "--target_match_mix"),
    (dict(algo="mle", target_match_mix=0.5), "--target_match_mix mixes the value-target error"),
])
def test_bad_values_are_refused_by_name(kw, message):
    with pytest.raises(ValueError, match=message):
        SoftQConfig(**kw).validate()


def test_stabilised_omd_update_runs_and_stays_finite():
    agent, state = _agent(mle_coef=1.0, clip_model_obs=True, model_grad_clip=10.0)
    batch = _batch(jax.random.key(4))
    grads, _, metrics = updates.omd_model_grad(agent, state, batch, jax.random.key(5))
    assert all(bool(jnp.all(jnp.isfinite(g))) for g in jax.tree.leaves(grads))
    assert np.isfinite(float(metrics["outer_loss"]))
    assert optax.tree.norm(grads) > 0


def test_cli_trains_with_every_stabiliser_and_option(tmp_path):
    """Every beyond-the-paper flag at once, with --no_warm, --no_learn_reward and --num_T_steps 2."""
    import csv
    import os
    import subprocess
    import sys

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run(
        [sys.executable, "cartpole/train.py", "--out_dir", str(tmp_path), "--num_train_steps", "400", "--init_steps",
         "200", "--batch_size", "32", "--hidden_dim", "8", "--model_hidden_dim", "2", "--eval_frequency", "200",
         "--log_frequency", "200", "--num_eval_episodes", "2", "--notqdm", "--mle_coef", "0.5", "--mle_grad_mix",
         "0.5", "--clip_model_obs", "--model_grad_clip", "10", "--clip_target", "--unroll_inner", "--warm_opt", "--target_match_mix", "0.5",
         "--no_warm", "--no_learn_reward", "--num_T_steps", "2", "--model_activation", "leaky_relu",
         "--model_residual"],
        cwd=root, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    with open(tmp_path / "0" / "train.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(float(r["step"])) for r in rows] == [200, 400]
    assert all(np.isfinite(float(rows[-1][k])) for k in ("outer_loss", "vals_Q", "next_obs_mse"))


def test_target_match_loss_is_zero_where_the_model_gives_the_real_targets():
    agent, state = _agent(no_learn_reward=True, clip_model_obs=True)
    batch = _batch(jax.random.key(8))
    same = dict(batch, next_obs=jnp.broadcast_to(batch["next_obs"][0], batch["next_obs"].shape))  # range 0: clipped = real
    assert float(updates.target_match_loss(agent, state.model.params, state.q.target_params, same, None)) == 0.0
    assert float(updates.target_match_loss(agent, state.model.params, state.q.target_params, batch, None)) > 0.0


def test_target_match_mix_1_steps_the_model_on_the_target_error_alone():
    """Adam's first step is ``lr * g / (|g| + eps)``: with c = 1 the model moves by the value-target
    error's unit gradient alone, whatever OMD's gradient is."""
    from omd import replay
    from omd.soft_q.training import example_transition

    agent, state = _agent(target_match_mix=1.0)
    data = {k: v for k, v in _batch(jax.random.key(9), n=32).items() if k != "onehot"}
    data.update(action=jnp.arange(32) % 2, not_done=jnp.ones(32))
    buf = replay.add_batch(replay.init(example_transition(4), 32), data)
    key = jax.random.key(10)
    new, _ = updates.omd_update(agent, state, buf, key)
    batch = updates.sample_batch(agent, buf, jax.random.split(key, 3)[0])
    g = jax.grad(updates.target_match_loss, argnums=1)(agent, state.model.params, new.q.target_params, batch, None)
    unit = jax.tree.map(lambda d: d / optax.tree.norm(g), g)
    want = jax.tree.map(lambda p, d: p - agent.config.model_lr * d / (jnp.abs(d) + 1e-8), state.model.params, unit)
    for got, exp in zip(jax.tree.leaves(new.model.params), jax.tree.leaves(want)):
        np.testing.assert_allclose(got, exp, rtol=1e-4, atol=1e-8)
