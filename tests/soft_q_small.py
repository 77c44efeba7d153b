"""Small soft-Q agents and random batches shared by the library-level CartPole tests."""

import jax
import jax.numpy as jnp

from omd.soft_q import SoftQConfig
from omd.soft_q.agent import init_state, make_agent

SMALL = dict(hidden_dim=8, model_hidden_dim=4, batch_size=16, start_training=16)


def random_batch(key, n=16, obs_dim=4, reward=None):
    """A batch in ``omd.soft_q.losses``' layout: rewards 1 unless given, no terminations."""
    k1, k2, k3 = jax.random.split(key, 3)
    return {
        "obs": jax.random.normal(k1, (n, obs_dim)),
        "onehot": jax.nn.one_hot(jax.random.randint(k2, (n,), 0, 2), 2),
        "reward": jnp.ones((n,)) if reward is None else reward,
        "next_obs": 0.1 * jax.random.normal(k3, (n, obs_dim)),
        "not_done_no_max": jnp.ones((n,)),
    }


def small_agent(obs_dim=4, **kw):
    """A validated small agent (``SMALL`` overridden by ``kw``) and its initial state (key 0)."""
    config = SoftQConfig(**{**SMALL, **kw}).validate()
    agent = make_agent(config, obs_dim, 2)
    return agent, init_state(agent, jax.random.key(0))
