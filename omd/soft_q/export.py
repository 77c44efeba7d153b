"""Saving and loading a trained agent and its replay buffer.

Both files are pickled dicts of plain numpy arrays (nested dicts for network
parameters, the flax layout), readable without this library:

agent (``--agent_path``, format ``omd.soft_q.agent/1``)
    ``config`` (the SoftQConfig keyed by CLI flag name: ``config.to_flags``),
    ``params_Q`` and ``target_params_Q`` (both heads), ``params_T`` (``next_state`` and, unless --no_learn_reward,
    ``reward``), ``params_vep`` (VEP's random value ensemble, else None),
    ``step`` (environment steps trained).

buffer (``--data_path``, format ``omd.soft_q.buffer/1``)
    ``obs`` [n, obs_dim], ``action`` [n] int32, ``reward`` [n], ``next_obs``
    [n, obs_dim], ``not_done`` [n] (0 at any episode end), ``not_done_no_max``
    [n] (0 only at true terminations), oldest transition first.
"""

from __future__ import annotations

import pickle
from typing import Any

import jax
import numpy as np

from omd import checkpoint as atomic
from omd import replay
from omd.soft_q.agent import AgentState
from omd.soft_q.config import SoftQConfig, from_flags, to_flags

AGENT_FORMAT = "omd.soft_q.agent/1"
BUFFER_FORMAT = "omd.soft_q.buffer/1"


def _write(path: str, payload: dict) -> None:
    """Pickle through the shared atomic writer (synced, then renamed): an interrupted save leaves the old file."""
    atomic.write_atomic(path, pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL))


def _read(path: str, expected_format: str) -> dict:
    try:
        with open(path, "rb") as f:
            payload = pickle.load(f)
    except FileNotFoundError:
        raise ValueError(f"{path} does not exist (written by cartpole/train.py --save_agent/--save_buf).") from None
    except Exception as err:  # pickle raises many kinds on a truncated or foreign file
        raise ValueError(f"{path} is unreadable ({type(err).__name__}: {err}).") from None
    if not isinstance(payload, dict) or payload.get("format") != expected_format:
        raise ValueError(f"{path} is not a {expected_format} file (saved by cartpole/train.py --save_agent/--save_buf).")
    return payload


def save_agent(path: str, config: SoftQConfig, state: AgentState, step: int) -> None:
    to_np = lambda tree: jax.tree.map(np.asarray, jax.device_get(tree))
    _write(path, {
        "format": AGENT_FORMAT,
        "config": to_flags(config),
        "params_Q": to_np(state.q.params),
        "target_params_Q": to_np(state.q.target_params),
        "params_T": to_np(state.model.params),
        "params_vep": None if state.vep is None else to_np(state.vep),
        "step": int(step),
    })


def load_agent(path: str) -> tuple[SoftQConfig, dict[str, Any]]:
    """The saved config and parameters (numpy trees, keys as in the module docstring)."""
    payload = _read(path, AGENT_FORMAT)
    # a setting added after the file was written ran with its default then: fill it in
    config = from_flags({**to_flags(SoftQConfig()), **payload["config"]})
    return config, {k: payload[k] for k in ("params_Q", "target_params_Q", "params_T", "params_vep", "step")}


def save_buffer(path: str, buf: replay.ReplayBuffer) -> None:
    _write(path, {"format": BUFFER_FORMAT, **replay.oldest_first(buf)})


def load_buffer(path: str) -> dict[str, np.ndarray]:
    payload = _read(path, BUFFER_FORMAT)
    return {k: v for k, v in payload.items() if k != "format"}
