"""The one way this library holds a trained network: flax's ``TrainState`` plus target parameters.

Every network that an optimizer trains (actor, critic, temperature, model, soft-Q value) is a
``TrainState``: ``params``, ``opt_state``, ``step`` (optimizer steps taken), with ``tx`` and
``apply_fn`` as static fields; ``apply_gradients(grads=...)`` is one optimizer step. Value
functions also carry ``target_params``, their slowly updated copy, as SBX and CleanRL do.
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp
import optax
from flax.training import train_state


class TrainState(train_state.TrainState):
    target_params: Any = None  # the target network's parameters; None for networks without one


def create(params: Any, tx: optax.GradientTransformation, apply_fn: Callable | None = None,
           with_target: bool = False) -> TrainState:
    """A fresh ``TrainState`` (``step`` an int32 array, so it vmaps and serialises like the rest).

    ``with_target``: ``target_params`` starts as a copy of ``params`` in distinct buffers,
    because training states are donated to the compiled steps and must not alias.
    """
    target = jax.tree.map(jnp.copy, params) if with_target else None
    return TrainState(step=jnp.zeros((), jnp.int32), apply_fn=apply_fn, params=params, tx=tx,
                      opt_state=tx.init(params), target_params=target)
