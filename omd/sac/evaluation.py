"""Evaluation of the MuJoCo suite: the deterministic policy, one environment per episode, in lockstep.

An evaluation of ``episodes`` episodes steps that many environments side by side and
makes one compiled call per step for all of them, so it waits on the device as many
times as its longest episode has steps instead of ``episodes`` times that. On a GPU
those waits are most of an evaluation's time. Episode ``k`` runs in its own
environment seeded ``seed + k``; the first one is filmed on request.
"""

from __future__ import annotations

import os
from typing import Any, Callable

import gymnasium as gym
import numpy as np

from omd.envs import mujoco as envs


def make_eval_envs(env_name: str, seed: int, dim_distract: int, episodes: int, video: bool) -> list[gym.Env]:
    return [envs.make_env(env_name, seed + k, dim_distract, render=video and k == 0) for k in range(episodes)]


def evaluate(eval_envs: list[gym.Env], act: Callable, actor_params, video_path: str | None = None) -> float:
    """Average return of one episode in each env; ``act(params, obs[n, obs_dim]) -> actions[n, action_dim]``."""
    obs = np.stack([env.reset()[0] for env in eval_envs])
    returns = np.zeros(len(eval_envs))
    running = np.ones(len(eval_envs), bool)
    frames = []
    while running.any():
        if video_path is not None and running[0]:
            frames.append(eval_envs[0].render())
        actions = np.asarray(act(actor_params, obs))  # finished envs' rows are computed and ignored
        for k in np.flatnonzero(running):
            obs[k], _, terminated, truncated, info = eval_envs[k].step(actions[k])
            if terminated or truncated:
                returns[k], running[k] = info["episode"]["return"], False
    if frames:
        import imageio

        os.makedirs(os.path.dirname(video_path), exist_ok=True)
        imageio.mimsave(video_path, frames, fps=eval_envs[0].metadata.get("render_fps", 30))
    return float(returns.mean())


def get_states(eval_envs: list[gym.Env]) -> dict[str, Any]:
    return {str(k): envs.get_state(env) for k, env in enumerate(eval_envs)}


def set_states(eval_envs: list[gym.Env], states: dict[str, Any]) -> None:
    """Restore saved envs; with more envs than saved (``--eval_episodes`` raised), the extra ones stay fresh."""
    for k, env in enumerate(eval_envs):
        if str(k) in states:
            envs.set_state(env, states[str(k)])
