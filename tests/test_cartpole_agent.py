"""The soft-Q library: determinism and compile-once chunks (the implicit gradient: test_cartpole_implicit.py)."""

import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from omd.soft_q import SoftQConfig, make_loop, make_train


def _tiny(agent_type, **kw):
    return SoftQConfig(algo=agent_type, max_steps=300, start_training=100, batch_size=16,
                       hidden_dim=8, model_hidden_dim=8, eval_interval=100, log_interval=100,
                       eval_episodes=2, **kw)


def test_same_seed_identical_two_seeds_differ():
    train = jax.jit(make_train(_tiny("omd")))
    a_state, a = train(jax.random.key(0))
    _, b = train(jax.random.key(0))
    c_state, c = train(jax.random.key(1))
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
    assert not np.array_equal(np.asarray(a["sums"]["outer_loss"]), np.asarray(c["sums"]["outer_loss"]))
    assert not np.array_equal(np.asarray(a_state.buffer.data["obs"]), np.asarray(c_state.buffer.data["obs"]))
    # 300 steps, updates from step 100 on (the 100th transition): 201 updates; evals at 0, 100, 200.
    assert float(a["sums"]["num_updates"].sum()) == 201
    assert np.isfinite(np.asarray(a["eval_return"])).sum() == 3
    assert int(a_state.buffer.size) == 300


def test_vmapped_seeds_match_separate_runs():
    """``jax.vmap(train)`` over seeds trains each seed as a run of its own would."""
    train = make_train(_tiny("mle", no_double=True))
    keys = jax.random.split(jax.random.key(3), 2)
    _, batched = jax.jit(jax.vmap(train))(keys)
    _, single = jax.jit(train)(keys[1])
    np.testing.assert_allclose(np.asarray(batched["sums"]["model_loss"][1]), np.asarray(single["sums"]["model_loss"]),
                               rtol=1e-4)
    np.testing.assert_array_equal(np.asarray(batched["sums"]["num_episodes"][1]),
                                  np.asarray(single["sums"]["num_episodes"]))


def test_chunks_of_any_length_share_one_compilation():
    loop = make_loop(_tiny("vep"))
    traces = []

    def run(state, t0, t1):
        traces.append(1)
        return loop.run_steps(state, t0, t1)

    run_steps = jax.jit(run, donate_argnums=0)
    state = loop.init(jax.random.key(0))
    for t0, t1 in [(0, 7), (7, 100), (100, 131)]:
        state, sums = run_steps(state, t0, t1)
        assert int(sums["num_updates"]) == max(0, t1 - max(t0, 99))
    assert len(traces) == 1
    assert int(state.buffer.size) == 131


def test_ten_vmapped_vep_seeds_initialise_as_single_seeds():
    """Ten vmapped VEP inits once deadlocked XLA:CPU (many batched QR initialisers side by side).

    ``loop.init`` maps over the seeds when vmapped. Run in a subprocess so that a
    regression fails on the timeout instead of hanging the test run.
    """
    code = textwrap.dedent("""
        import jax, jax.numpy as jnp
        from omd.soft_q import SoftQConfig, make_loop
        loop = make_loop(SoftQConfig(algo="vep", max_steps=2000))
        keys = jax.vmap(jax.random.key)(jnp.arange(10, dtype=jnp.uint32))
        seeds = jax.jit(jax.vmap(loop.init))(keys)
        one = jax.jit(loop.init)(keys[3])
        data = lambda x: jax.random.key_data(x) if jnp.issubdtype(x.dtype, jax.dtypes.prng_key) else x
        same = [bool(jnp.array_equal(data(a)[3], data(b))) for a, b in zip(jax.tree.leaves(seeds), jax.tree.leaves(one))]
        print("leaves", len(same), "equal", sum(same))
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    count = proc.stdout.split()
    assert count[0] == "leaves" and int(count[1]) > 50 and count[1] == count[3], proc.stdout


def _run_150(config):
    loop = make_loop(config)
    return jax.jit(loop.run_steps)(loop.init(jax.random.key(0)), 0, 150)


def test_x64_trains_in_float64_only_inside_the_x64_mode():
    with pytest.raises(ValueError, match=r"with jax.enable_x64\(True\)"):
        make_loop(_tiny("omd", x64=True))
    _, sums32 = _run_150(_tiny("omd"))
    with jax.enable_x64(True):
        state, sums64 = _run_150(_tiny("omd", x64=True))
    learned = jax.tree.leaves((state.agent.q.params, state.agent.q.target_params, state.agent.q.opt_state,
                               state.agent.model.params, state.agent.model.opt_state))
    assert {x.dtype for x in learned if jnp.issubdtype(x.dtype, jnp.floating)} == {np.dtype("float64")}
    assert state.buffer.data["obs"].dtype == jnp.float32  # stored as the original stored them
    assert sums64["outer_loss"].dtype == jnp.float32  # logged in float32
    # float64 initial weights are other random draws (as in the original), so the runs share only their scale
    np.testing.assert_allclose(float(sums64["outer_loss"]), float(sums32["outer_loss"]), rtol=0.1)
    assert float(sums64["outer_loss"]) != float(sums32["outer_loss"])


def test_without_replacement_changes_only_the_batches():
    _, with_repeats = _run_150(_tiny("mle"))
    _, distinct = _run_150(_tiny("mle", without_replacement=True))
    assert int(distinct["num_updates"]) == int(with_repeats["num_updates"]) == 51
    assert float(distinct["model_loss"]) != float(with_repeats["model_loss"])
