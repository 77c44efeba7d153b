"""Gymnasium MuJoCo environments with the original suite's wrappers.

``make_env`` returns a gymnasium env whose actions live in [-1, 1], whose float32
observations optionally carry ``dim_distract`` standard-normal distractor
dimensions, and whose ``info`` holds ``episode = {"return", "length"}`` on the
last step of each episode. ``get_state`` / ``set_state`` snapshot everything a
resumed run needs to continue the current episode bit for bit (MuJoCo physics
state including the solver warm start, the time-limit counter, the RNGs and the
episode statistics).
"""

from __future__ import annotations

import ctypes.util
import json
import os
import re
import warnings
from typing import Any

# Headless rendering for --save_video through EGL. MuJoCo picks its GL backend when gymnasium's
# MuJoCo envs are first imported, so this must happen before then. Only where libEGL exists: with
# MUJOCO_GL=egl and no libEGL (bare GPU nodes), that import fails even for runs that never render.
if "MUJOCO_GL" not in os.environ and ctypes.util.find_library("EGL"):
    os.environ["MUJOCO_GL"] = "egl"

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402

_OLD_ID = re.compile(r"^(?P<name>[A-Za-z]+)-v[0-3]$")


def check_env_id(env_name: str) -> None:
    """Refuse ids that need mujoco-py (v2/v3 and older), naming the v5 replacement."""
    match = _OLD_ID.match(env_name)
    if match is None:
        return
    v5 = f"{match['name']}-v5"
    if v5 in gym.registry:
        raise ValueError(
            f"{env_name} needs mujoco-py and the MuJoCo 2.1 binaries, which can no longer be installed; "
            f"use --env_name={v5} (same task on the official `mujoco` bindings)."
        )


class Float32Obs(gym.ObservationWrapper):
    def __init__(self, env: gym.Env):
        super().__init__(env)
        space = env.observation_space
        self.observation_space = gym.spaces.Box(space.low.astype(np.float32), space.high.astype(np.float32))

    def observation(self, obs):
        return np.asarray(obs, np.float32)


class Distractors(gym.ObservationWrapper):
    """Appends ``dim`` i.i.d. standard-normal dimensions, fresh on every step."""

    def __init__(self, env: gym.Env, dim: int, seed: int):
        super().__init__(env)
        self.dim = dim
        self.rng = np.random.default_rng(seed)
        space = env.observation_space
        inf = np.full(dim, np.inf, space.dtype)
        self.observation_space = gym.spaces.Box(
            np.concatenate([space.low, -inf]), np.concatenate([space.high, inf]), dtype=space.dtype
        )

    def observation(self, obs):
        noise = self.rng.standard_normal(self.dim).astype(obs.dtype)
        return np.concatenate([obs, noise])


class EpisodeStats(gym.Wrapper):
    """Puts ``{"return", "length"}`` in ``info["episode"]`` when an episode ends."""

    def __init__(self, env: gym.Env):
        super().__init__(env)
        self.episode_return, self.episode_length = 0.0, 0

    def reset(self, **kwargs):
        self.episode_return, self.episode_length = 0.0, 0
        return self.env.reset(**kwargs)

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.episode_return += float(reward)
        self.episode_length += 1
        if terminated or truncated:
            info = {**info, "episode": {"return": self.episode_return, "length": self.episode_length}}
        return obs, reward, terminated, truncated, info


def _route_mujoco_warnings() -> None:
    """Send MuJoCo's warnings to Python's ``warnings`` unless someone installed a handler already.

    MuJoCo's default handler prints each warning and appends it to ``MUJOCO_LOG.TXT`` in the
    working directory: with mujoco 4 every HalfCheetah (train env and each evaluation env)
    warns that its XML's ``settotalmass`` is deprecated, which left a growing log file in the
    folder every run and sweep started from. As Python warnings, a repeated message shows once.
    """
    import mujoco  # loads the GL backend MUJOCO_GL names: make_env reports its failure

    if mujoco.get_mju_user_warning() is None:
        mujoco.set_mju_user_warning(lambda msg: warnings.warn(f"MuJoCo: {msg}", RuntimeWarning, stacklevel=2))


def make_env(env_name: str, seed: int, dim_distract: int = 0, render: bool = False) -> gym.Env:
    """A wrapped, seeded (and reset) gymnasium env; raises ``ValueError`` naming the fix for bad ids."""
    check_env_id(env_name)
    if dim_distract < 0:
        raise ValueError(f"--dim_distract must be >= 0, got {dim_distract}.")
    try:
        _route_mujoco_warnings()
        env = gym.make(env_name, render_mode="rgb_array" if render else None)
    except gym.error.Error as err:
        raise ValueError(f"Unknown environment {env_name!r} ({err}); try --env_name=HalfCheetah-v5.") from None
    except (AttributeError, ImportError) as err:  # `import mujoco` loads the GL backend MUJOCO_GL names
        raise ValueError(
            f"Importing mujoco failed with MUJOCO_GL={os.environ.get('MUJOCO_GL')!r} ({type(err).__name__}: {err}): "
            "that OpenGL library is missing. Unset MUJOCO_GL, or install it (egl: libegl1; osmesa: libosmesa6)."
        ) from None
    if not isinstance(env.action_space, gym.spaces.Box):
        raise ValueError(
            f"{env_name} has a {type(env.action_space).__name__} action space; SAC needs continuous (Box) "
            "actions. Use a MuJoCo id such as --env_name=HalfCheetah-v5 (discrete tasks: cartpole/train.py)."
        )
    # float32 bounds like the action space's own: float64 ones make gymnasium warn about lost precision.
    ones = np.ones(env.action_space.shape, env.action_space.dtype)
    env = gym.wrappers.RescaleAction(env, -ones, ones)
    env = Float32Obs(env)
    if dim_distract:
        env = Distractors(env, dim_distract, seed)
    env = EpisodeStats(env)
    env.reset(seed=seed)
    env.action_space.seed(seed)
    if render:
        _check_rendering(env)
    return env


def _check_rendering(env: gym.Env) -> None:
    """Render one frame now, so a machine without headless OpenGL stops before training, not at the first video."""
    try:
        env.render()
    except Exception as err:  # noqa: BLE001 - the GL stack fails in many ways (missing lib, no device)
        backend = os.environ.get("MUJOCO_GL", "unset (glfw, needs a display)")
        raise ValueError(
            f"--save_video needs headless OpenGL, which failed with MUJOCO_GL={backend} ({type(err).__name__}: "
            f"{err}). Install EGL (Debian/Ubuntu: apt install libegl1 libegl-mesa0), or OSMesa (libosmesa6) with "
            "MUJOCO_GL=osmesa, or run without --save_video."
        ) from None


def _find(env: gym.Env, cls: type) -> Any:
    while True:
        if isinstance(env, cls):
            return env
        if not hasattr(env, "env"):
            return None
        env = env.env


def get_state(env: gym.Env) -> dict[str, Any]:
    """Everything needed to continue the current episode exactly (see ``set_state``)."""
    base = env.unwrapped
    host = {"np_random": base.np_random.bit_generator.state}
    stats = _find(env, EpisodeStats)
    host["episode"] = [stats.episode_return, stats.episode_length]
    limit = _find(env, gym.wrappers.TimeLimit)
    if limit is not None:
        host["elapsed"] = limit._elapsed_steps
    distract = _find(env, Distractors)
    if distract is not None:
        host["distract"] = distract.rng.bit_generator.state
    state = {"host": json.dumps(host)}
    if hasattr(base, "model") and hasattr(base, "data"):
        import mujoco

        spec = mujoco.mjtState.mjSTATE_INTEGRATION
        physics = np.empty(mujoco.mj_stateSize(base.model, spec), np.float64)
        mujoco.mj_getState(base.model, base.data, physics, spec)
        state["physics"] = physics
    return state


def set_state(env: gym.Env, state: dict[str, Any]) -> None:
    """Restore a ``get_state`` snapshot into an env made (and reset) by ``make_env``."""
    base = env.unwrapped
    host = json.loads(state["host"])
    base.np_random.bit_generator.state = host["np_random"]
    stats = _find(env, EpisodeStats)
    stats.episode_return, stats.episode_length = float(host["episode"][0]), int(host["episode"][1])
    limit = _find(env, gym.wrappers.TimeLimit)
    if limit is not None and "elapsed" in host:
        limit._elapsed_steps = host["elapsed"]
    distract = _find(env, Distractors)
    if distract is not None:
        distract.rng.bit_generator.state = host["distract"]
    if "physics" in state:
        import mujoco

        mujoco.mj_setState(base.model, base.data, np.asarray(state["physics"], np.float64), mujoco.mjtState.mjSTATE_INTEGRATION)
        mujoco.mj_forward(base.model, base.data)
