"""Networks, logging and config helpers."""

import csv
import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from omd import config, nets
from omd.logging import Logger


def test_mlp_initialisation_is_orthogonal_with_small_last_layer():
    params = nets.MLP((64, 64), 4).init(jax.random.key(0), jnp.ones((1, 64)))["params"]
    w = np.asarray(params["hidden_1"]["kernel"])
    np.testing.assert_allclose(w.T @ w, 2.0 * np.eye(64), atol=1e-4)  # orthogonal, scale sqrt(2)
    out = np.asarray(params["out"]["kernel"])
    np.testing.assert_allclose(np.linalg.svd(out, compute_uv=False), 1e-2, rtol=1e-4)
    assert not np.any(np.asarray(params["hidden_0"]["bias"]))


@pytest.mark.parametrize("hidden", [(), (8,), (8, 6)])
def test_ensemble_members_are_independent_mlps(hidden):
    model = nets.Ensemble(num=3, hidden_dims=hidden, out_dim=2, last_scale=None)
    x = jax.random.normal(jax.random.key(1), (2, 5, 4))  # two leading batch axes
    params = model.init(jax.random.key(0), x)
    out = model.apply(params, x)
    assert out.shape == (3, 2, 5, 2)
    first = "hidden_0" if hidden else "out"
    kernels = params["params"]["members"][first]["kernel"]
    assert not np.allclose(kernels[0], kernels[1])
    for i in range(3):
        # each member is orthogonally initialised on its own (orthonormal along the short side, times sqrt 2)
        k = kernels[i] if kernels.shape[1] <= kernels.shape[2] else kernels[i].T
        np.testing.assert_allclose(k @ k.T, 2 * np.eye(k.shape[0]), atol=1e-5)
        # and computes exactly a plain MLP with its own parameters, batched or not
        member = jax.tree.map(lambda p: p[i], params["params"]["members"])
        single = nets.MLP(hidden, 2, last_scale=None).apply({"params": member}, x)
        np.testing.assert_allclose(out[i], single, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(model.apply(params, x[0, 0])[i], single[0, 0], rtol=1e-5, atol=1e-6)


def test_logger_writes_csv_tensorboard_and_console(tmp_path, capsys):
    with Logger(str(tmp_path), tensorboard=True) as logger:
        logger.log("train", 10, {"step": 10, "episode_return": jnp.float32(1.5)})
        logger.log("train", 20, {"step": 20, "episode_return": 2.5})
        logger.log("eval", 20, {"step": 20, "episode_return": 9.0})
    rows = list(csv.DictReader(open(tmp_path / "train.csv")))
    assert [float(r["episode_return"]) for r in rows] == [1.5, 2.5]
    assert list(rows[0]) == ["step", "episode_return"]
    assert any(p.name.startswith("events.out.tfevents") for p in (tmp_path / "tb").iterdir())
    assert "episode_return 2.5" in capsys.readouterr().out


def test_logger_appends_without_repeating_the_header(tmp_path):
    for value in (1.0, 2.0):
        with Logger(str(tmp_path), tensorboard=False, console=False) as logger:
            logger.log("eval", 1, {"step": 1, "r": value})
    lines = open(tmp_path / "eval.csv").read().splitlines()
    assert lines == ["step,r", "1,1.0", "1,2.0"]  # integers stay integers


@dataclasses.dataclass(frozen=True)
class Cfg:
    lr: float
    hidden_dim: int = 32


def test_from_flags_reads_fields_by_flag_name_and_names_missing_ones():
    assert config.from_flags(Cfg, {"lr": 0.1, "hidden_dim": 8}) == Cfg(0.1, 8)
    assert config.from_flags(Cfg, {"lr": 0.1}, hidden_dim=4).hidden_dim == 4
    assert config.from_flags(Cfg, {"learning_rate": 0.1, "hidden_dim": 8}, names={"lr": "learning_rate"}) == Cfg(0.1, 8)
    # a missing flag raises even where the field has a default: a renamed flag cannot fall back silently
    with pytest.raises(KeyError, match="Cfg.hidden_dim has no flag or config entry 'hidden_dim'"):
        config.from_flags(Cfg, {"lr": 0.1})
    with pytest.raises(KeyError, match="Cfg.lr has no flag or config entry 'learning_rate'"):
        config.from_flags(Cfg, {"lr": 0.1, "hidden_dim": 8}, names={"lr": "learning_rate"})


def test_check_choice_lists_allowed_values():
    assert config.check_choice("agent_type", "omd", ("omd", "mle")) == "omd"
    with pytest.raises(ValueError, match="--agent_type='dqn' is not supported; choose one of 'omd', 'mle'"):
        config.check_choice("agent_type", "dqn", ("omd", "mle"))


def test_flat_layout_packs_one_vector_per_dtype_and_restores_the_tree():
    from omd.flat import FlatLayout

    tree = {"key": jax.random.PRNGKey(7), "count": jnp.asarray(3, jnp.int32),
            "params": {"w": jnp.arange(6.0).reshape(2, 3), "b": jnp.asarray(-1.5)}, "steps": jnp.arange(4)}
    layout = FlatLayout.of(jax.eval_shape(lambda: tree))
    vectors = jax.jit(layout.pack)(tree)
    assert [(v.dtype, v.shape) for v in vectors] == [(jnp.int32, (5,)), (jnp.uint32, (2,)), (jnp.float32, (7,))]
    back = jax.jit(layout.unpack)(vectors)
    assert jax.tree.structure(back) == jax.tree.structure(tree)
    for x, y in zip(jax.tree.leaves(back), jax.tree.leaves(tree)):
        assert (x.dtype, x.shape) == (y.dtype, y.shape)
        np.testing.assert_array_equal(x, y)
    with pytest.raises(ValueError, match="expected a pytree of 5 leaves, got 1"):
        layout.pack({"w": jnp.zeros(3)})
    # With max_size, larger leaves pass through after the vectors, in tree order.
    small = FlatLayout.of(jax.eval_shape(lambda: tree), max_size=3)
    packed = jax.jit(small.pack)(tree)
    assert [(v.dtype, v.shape) for v in packed] == [(jnp.int32, (1,)), (jnp.uint32, (2,)), (jnp.float32, (1,)),
                                                    (jnp.float32, (2, 3)), (jnp.int32, (4,))]
    for x, y in zip(jax.tree.leaves(jax.jit(small.unpack)(packed)), jax.tree.leaves(tree)):
        np.testing.assert_array_equal(x, y)
