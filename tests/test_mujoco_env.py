"""Gymnasium MuJoCo wrappers: ids, action scaling, distractors, snapshots, video."""

import ctypes.util
import os
import subprocess
import sys

import numpy as np
import pytest

from omd.envs import mujoco as envs


def test_v2_and_v3_ids_name_the_v5_id():
    for old in ("HalfCheetah-v2", "HalfCheetah-v3"):
        with pytest.raises(ValueError, match="HalfCheetah-v5"):
            envs.make_env(old, seed=0)


def test_discrete_action_space_is_refused():
    with pytest.raises(ValueError, match="continuous"):
        envs.make_env("CartPole-v1", seed=0)


def test_actions_rescaled_and_float32_obs():
    env = envs.make_env("InvertedPendulum-v5", seed=0)  # native action bounds are [-3, 3]
    assert env.unwrapped.action_space.high[0] == pytest.approx(3.0)
    np.testing.assert_array_equal(env.action_space.low, -1.0)
    np.testing.assert_array_equal(env.action_space.high, 1.0)
    obs, *_ = env.step(np.ones(1, np.float32))
    assert obs.dtype == np.float32
    # +1 maps to the native maximum.
    assert env.unwrapped.data.ctrl[0] == pytest.approx(3.0)


def test_distractors_change_obs_size_and_are_fresh_noise():
    plain = envs.make_env("HalfCheetah-v5", seed=0)
    noisy = envs.make_env("HalfCheetah-v5", seed=0, dim_distract=7)
    assert noisy.observation_space.shape == (plain.observation_space.shape[0] + 7,)
    action = np.zeros(6, np.float32)
    o1, *_ = noisy.step(action)
    o2, *_ = noisy.step(action)
    p1, *_ = plain.step(action)
    assert o1.shape == (24,) and o1.dtype == np.float32
    np.testing.assert_allclose(o1[:17], p1)  # the real part is untouched
    assert not np.allclose(o1[17:], o2[17:])
    noise = np.stack([noisy.step(action)[0][17:] for _ in range(300)])
    assert abs(noise.mean()) < 0.1 and abs(noise.std() - 1) < 0.1


def test_episode_statistics():
    env = envs.make_env("InvertedPendulum-v5", seed=0)
    total, steps = 0.0, 0
    while True:
        _, reward, terminated, truncated, info = env.step(np.ones(1, np.float32))
        total, steps = total + reward, steps + 1
        if terminated or truncated:
            break
    assert info["episode"] == {"return": pytest.approx(total), "length": steps}


def test_snapshot_continues_the_episode_exactly():
    rng = np.random.default_rng(0)
    actions = rng.uniform(-1, 1, (60, 6)).astype(np.float32)
    env = envs.make_env("HalfCheetah-v5", seed=3, dim_distract=2)
    for a in actions[:30]:
        env.step(a)
    snap = envs.get_state(env)
    rest = [env.step(a) for a in actions[30:]]
    fresh = envs.make_env("HalfCheetah-v5", seed=99, dim_distract=2)
    envs.set_state(fresh, snap)
    again = [fresh.step(a) for a in actions[30:]]
    for (o1, r1, *_), (o2, r2, *_) in zip(rest, again):
        np.testing.assert_array_equal(o1, o2)
        assert r1 == r2
    assert envs.get_state(env)["host"] == envs.get_state(fresh)["host"]


def _gl_available() -> bool:
    try:
        env = envs.make_env("InvertedPendulum-v5", seed=0, render=True)
        return env.render().shape[-1] == 3
    except Exception:  # noqa: BLE001 - any GL failure means no headless backend
        return False


def test_video_of_an_evaluation_episode(tmp_path):
    if not _gl_available():
        pytest.skip("No headless OpenGL backend (MUJOCO_GL=egl needs libegl1 + libegl-mesa0; osmesa needs libosmesa6).")
    import imageio.v3 as iio

    from omd.sac.evaluation import evaluate, make_eval_envs

    eval_envs = make_eval_envs("InvertedPendulum-v5", seed=0, dim_distract=0, episodes=2, video=True)
    path = tmp_path / "video" / "eval.mp4"
    ret = evaluate(eval_envs, lambda params, obs: np.zeros((len(obs), 1), np.float32), None, video_path=str(path))
    assert ret > 0
    frames = iio.imread(path)
    assert frames.ndim == 4 and frames.shape[0] >= 3 and frames.shape[-1] == 3


def _make_env_in_subprocess(mujoco_gl: str, render: bool) -> str:
    """make_env in a fresh process (MuJoCo fixes its GL backend at import) with MUJOCO_GL set; prints the error."""
    code = (f"from omd.envs import mujoco as m\ntry:\n    m.make_env('InvertedPendulum-v5', 0, render={render})\n"
            "    print('no error')\nexcept ValueError as err:\n    print(err)")
    # mujoco sets PYOPENGL_PLATFORM for its backend when imported, as this test process did.
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "PYOPENGL_PLATFORM")} | {"MUJOCO_GL": mujoco_gl}
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120).stdout


def test_missing_gl_library_is_named():
    if ctypes.util.find_library("OSMesa"):
        pytest.skip("OSMesa is installed, so MUJOCO_GL=osmesa works here")
    out = _make_env_in_subprocess("osmesa", render=False)
    assert "MUJOCO_GL='osmesa'" in out and "Unset MUJOCO_GL" in out


def test_save_video_without_headless_gl_stops_before_training():
    out = _make_env_in_subprocess("glfw", render=True)  # no display: glfw cannot open a context
    assert "--save_video needs headless OpenGL" in out and "apt install libegl1" in out


def test_mujoco_warnings_become_python_warnings_not_a_log_file(tmp_path):
    """MuJoCo's own handler would print and append to MUJOCO_LOG.TXT in the working directory."""
    code = """
import warnings, numpy as np, mujoco
from omd.envs import mujoco as m
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    m.make_env("HalfCheetah-v5", 0)
    model = mujoco.MjModel.from_xml_string('<mujoco><worldbody><body><freejoint/><geom size=".1"/></body></worldbody></mujoco>')
    data = mujoco.MjData(model)
    data.qpos[:] = np.nan  # an unstable simulation: MuJoCo warns at the next step
    mujoco.mj_step(model, data)
for w in caught:
    print(w.category.__name__, w.message)
"""
    run = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert not (tmp_path / "MUJOCO_LOG.TXT").exists()
    assert "RuntimeWarning MuJoCo: Nan, Inf or huge value in QPOS" in run.stdout
    assert "precision lowered" not in run.stdout + run.stderr  # float32 action bounds for RescaleAction


def test_lockstep_evaluation_matches_episodes_run_one_by_one():
    from omd.sac.evaluation import evaluate, make_eval_envs

    weights = np.random.default_rng(0).standard_normal((4, 1)).astype(np.float32)
    act = lambda params, obs: np.tanh(obs @ params)  # noqa: E731 - ends episodes at different steps
    lengths, returns = [], []
    for k in range(5):  # what make_eval_envs(seed=7) gives episode k, stepped alone
        env, total, done = envs.make_env("InvertedPendulum-v5", seed=7 + k), 0.0, False
        obs, _ = env.reset()
        while not done:
            obs, reward, terminated, truncated, info = env.step(act(weights, obs[None])[0])
            total, done = total + reward, terminated or truncated
        lengths.append(info["episode"]["length"])
        returns.append(total)
    assert len(set(lengths)) > 1
    eval_envs = make_eval_envs("InvertedPendulum-v5", seed=7, dim_distract=0, episodes=5, video=False)
    assert evaluate(eval_envs, act, weights) == pytest.approx(np.mean(returns))
