import jax
import jax.numpy as jnp
import numpy as np
import pytest

from omd import replay


def transition(i):
    return {"obs": jnp.full((3,), i, jnp.float32), "action": jnp.int32(i), "done": jnp.bool_(i % 2)}


def test_returns_exactly_what_was_stored_after_wrap_around():
    buf = replay.init(transition(0), capacity=5)
    add = jax.jit(replay.add, donate_argnums=0)
    for i in range(12):
        buf = add(buf, transition(i))
    assert int(buf.size) == 5 and int(buf.ptr) == 12 % 5
    # slots hold the five most recent transitions at position i % 5
    for i in range(7, 12):
        np.testing.assert_array_equal(buf.data["obs"][i % 5], np.full(3, i))
        assert int(buf.data["action"][i % 5]) == i
        assert bool(buf.data["done"][i % 5]) == bool(i % 2)
    batch = jax.jit(replay.sample, static_argnums=2)(buf, jax.random.key(0), 256)
    actions = np.asarray(batch["action"])
    assert set(actions.tolist()) == set(range(7, 12))
    np.testing.assert_array_equal(np.asarray(batch["obs"])[:, 0], actions.astype(np.float32))


def test_sample_only_draws_filled_slots_before_full():
    buf = replay.init(transition(0), capacity=100)
    for i in range(3):
        buf = replay.add(buf, transition(i + 1))
    batch = replay.sample(buf, jax.random.key(1), 500)
    assert set(np.asarray(batch["action"]).tolist()) == {1, 2, 3}


def test_add_batch_matches_sequential_adds_and_wraps():
    one = replay.init(transition(0), capacity=4)
    many = replay.init(transition(0), capacity=4)
    for i in range(6):
        one = replay.add(one, transition(i))
    stacked = jax.tree.map(lambda *xs: jnp.stack(xs), *[transition(i) for i in range(6)])
    many = replay.add_batch(replay.add_batch(many, jax.tree.map(lambda x: x[:3], stacked)), jax.tree.map(lambda x: x[3:], stacked))
    for key in one.data:
        np.testing.assert_array_equal(one.data[key], many.data[key])
    assert int(one.ptr) == int(many.ptr) and int(one.size) == int(many.size)


def test_vmap_over_a_seed_axis_keeps_buffers_separate():
    bufs = jax.vmap(lambda _: replay.init(transition(0), 8))(jnp.arange(2))
    values = jax.tree.map(lambda *xs: jnp.stack(xs), transition(1), transition(2))
    bufs = jax.vmap(replay.add)(bufs, values)
    np.testing.assert_array_equal(bufs.data["action"][:, 0], [1, 2])
    np.testing.assert_array_equal(bufs.size, [1, 1])


def test_capacity_must_be_positive():
    with pytest.raises(ValueError, match="capacity must be positive"):
        replay.init(transition(0), 0)


@pytest.mark.parametrize("stored", [3, 5, 12])
def test_serialised_oldest_first_and_refilled_slot_for_slot(stored):
    buf = replay.init(transition(0), capacity=5)
    for i in range(stored):
        buf = replay.add(buf, transition(i))
    saved = replay.oldest_first(buf)
    kept = list(range(max(0, stored - 5), stored))
    assert saved["action"].tolist() == kept
    same = replay.refill(replay.init(transition(0), 5), saved, int(buf.ptr))
    for a, b in zip(jax.tree.leaves(same), jax.tree.leaves(buf)):
        np.testing.assert_array_equal(a, b)  # same slots: sampling continues as before the save
    bigger = replay.refill(replay.init(transition(0), 8), saved)
    assert np.asarray(bigger.data["action"])[:len(kept)].tolist() == kept
    assert int(bigger.size) == len(kept) and int(bigger.ptr) == len(kept)
    with pytest.raises(ValueError, match="do not fit"):
        replay.refill(replay.init(transition(0), 2), saved)


def filled(n, capacity):
    buf = replay.init(transition(0), capacity)
    return replay.add_batch(buf, jax.vmap(transition)(jnp.arange(n)))


def test_sample_without_replacement_draws_distinct_stored_transitions():
    # 256 of 300 stored: about 100 repeats in the first draw, all redrawn
    buf = filled(300, capacity=1000)
    draw = jax.jit(jax.vmap(lambda k: replay.sample(buf, k, 256, replace=False)["action"]))
    actions = np.asarray(draw(jax.random.split(jax.random.key(2), 8)))
    for row in actions:
        assert len(set(row.tolist())) == 256 and row.min() >= 0 and row.max() < 300
    with_repeats = np.asarray(replay.sample(buf, jax.random.key(2), 256)["action"])
    assert len(set(with_repeats.tolist())) < 256  # what the default (with replacement) does


def test_sample_without_replacement_is_uniform_over_subsets():
    # 3 of 6: every pair must appear together equally often (a biased redraw would favour some)
    buf = filled(6, capacity=10)
    draws = np.asarray(jax.jit(jax.vmap(lambda k: replay.sample(buf, k, 3, replace=False)["action"]))(
        jax.random.split(jax.random.key(3), 40_000)))
    counts = np.zeros((6, 6))
    for a, b in [(0, 1), (0, 2), (1, 2)]:
        np.add.at(counts, (np.minimum(draws[:, a], draws[:, b]), np.maximum(draws[:, a], draws[:, b])), 1)
    pairs = counts[np.triu_indices(6, 1)]
    expected = 40_000 * 3 / 15  # 3 pairs per draw, 15 pairs
    assert np.all(np.abs(pairs - expected) < 5 * np.sqrt(expected)), pairs
