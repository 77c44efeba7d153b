"""The random-model row of the paper's Table 1: each seed's initial model, the same metric as train.csv."""

import jax
import numpy as np

from omd.soft_q import SoftQConfig, make_loop
from omd.soft_q import model_error, networks


def test_initial_model_is_the_one_each_seed_starts_from():
    config = SoftQConfig(model_hidden_dim=3, max_steps=1000)
    loop = make_loop(config)
    state = loop.init(jax.random.key(7))
    _, params = model_error.initial_model(config, loop.env.obs_dim, loop.env.num_actions, 7)
    for a, b in zip(jax.tree.leaves(state.agent.model.params), jax.tree.leaves(params)):
        np.testing.assert_array_equal(a, b)


def test_model_mse_is_the_mean_summed_squared_error_over_every_transition(tmp_path, capsys):
    rng = np.random.default_rng(0)
    data = {"obs": rng.normal(size=(50, 4)).astype(np.float32), "action": rng.integers(0, 2, 50),
            "next_obs": rng.normal(size=(50, 4)).astype(np.float32)}
    config = SoftQConfig(model_hidden_dim=2)
    nets, params = model_error.initial_model(config, 4, 2, 0)
    onehot = np.eye(2, dtype=np.float32)[data["action"]]
    pred = np.asarray(networks.predict(nets, params, data["obs"], onehot, None).mean)
    expected = np.mean(np.sum((pred - data["next_obs"]) ** 2, axis=-1))
    np.testing.assert_allclose(model_error.model_mse(nets, params, data), expected, rtol=1e-6)

    rows = model_error.random_model_table(config, [data, data], [1, 2], [0, 1, 2])
    assert [r["n"] for r in rows] == [6, 6]
    np.testing.assert_allclose(
        rows[1]["next_obs_mse"],
        np.mean([model_error.model_mse(*model_error.initial_model(config, 4, 2, s), data) for s in range(3)]),
        rtol=1e-6)


def test_cli_names_a_missing_buffer(tmp_path, capsys):
    assert model_error.main(["--data_path", str(tmp_path / "none.pkl")]) == 2
    assert "none.pkl does not exist" in capsys.readouterr().err
