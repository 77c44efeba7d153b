"""Options the docs advertise, each checked for what it does: --num_T_steps > 1 (outer_steps),
--no_warm and --no_learn_reward (through the CLI: tests/test_cartpole_stabilisers.py's CLI run)."""

import jax
import jax.numpy as jnp
import numpy as np

from omd import replay
from omd.soft_q import losses, networks, updates
from omd.soft_q.training import example_transition
from soft_q_small import small_agent

OBS_DIM, N = 4, 64
_agent = small_agent


def _buffer():
    k = jax.random.split(jax.random.key(1), 3)
    obs = jax.random.normal(k[0], (N, OBS_DIM))
    data = {"obs": obs, "action": jax.random.randint(k[1], (N,), 0, 2), "reward": jnp.ones(N),
            "next_obs": obs + 0.1 * jax.random.normal(k[2], (N, OBS_DIM)), "not_done": jnp.ones(N),
            "not_done_no_max": jnp.ones(N)}
    return replay.add_batch(replay.init(example_transition(OBS_DIM), N), data)


def _leaves_equal(a, b):
    return all(np.array_equal(x, y) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)))


def test_num_T_steps_2_is_two_omd_updates_with_their_own_keys():
    agent2, state = _agent(outer_steps=2)
    agent1, _ = _agent()
    buf, key = _buffer(), jax.random.key(2)
    got, _ = jax.jit(lambda s: updates.UPDATES["omd"](agent2, s, buf, key))(state)
    k0, k1 = jax.random.split(key, 2)
    once = jax.jit(lambda s, k: updates.omd_update(agent1, s, buf, k))
    want, _ = once(once(state, k0)[0], k1)
    assert _leaves_equal(got.model.params, want.model.params) and _leaves_equal(got.q.params, want.q.params)
    assert not _leaves_equal(got.model.params, once(state, k0)[0].model.params)  # a second step was taken


def test_no_warm_inner_solve_forgets_the_current_q():
    agent, state = _agent(no_warm=True)
    buf, key = _buffer(), jax.random.key(3)
    step = jax.jit(lambda s: updates.omd_update(agent, s, buf, key)[0])
    other = state.replace(q=state.q.replace(params=jax.tree.map(lambda x: x + 1.0, state.q.params)))
    # the Q that comes out is one Adam step from fresh parameters, whatever Q went in
    assert _leaves_equal(step(state).q.params, step(other).q.params)
    warm_agent, _ = _agent()
    warm = jax.jit(lambda s: updates.omd_update(warm_agent, s, buf, key)[0])
    assert not _leaves_equal(warm(state).q.params, warm(other).q.params)
    fresh = updates.inner_start(agent, state.q, jax.random.key(4))
    assert _leaves_equal(fresh.params, networks.init_q(agent.nets, jax.random.key(4)))


def test_no_learn_reward_gives_the_value_function_the_true_rewards():
    agent, state = _agent(no_learn_reward=True)
    batch = updates.sample_batch(agent, _buffer(), jax.random.key(5))
    batch = dict(batch, reward=jnp.linspace(-1.0, 1.0, 16))
    mb, pred = losses.model_batch(agent.nets, agent.config, state.model.params, batch, None)
    assert pred.reward is None
    np.testing.assert_array_equal(mb["reward"], batch["reward"])
    learned, learned_state = _agent()
    mb_learned, _ = losses.model_batch(learned.nets, learned.config, learned_state.model.params, batch, None)
    assert not np.allclose(mb_learned["reward"], batch["reward"])
