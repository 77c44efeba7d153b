"""The host training loop of the MuJoCo suite, with evaluation, logging and resume.

One or two compiled calls per environment step (``omd.sac.update``); the environment
runs in C MuJoCo on the host, and evaluations step their episodes side by side
(``omd.sac.evaluation``). Outputs under ``save_dir``:

- ``<seed>.txt``: (timesteps, average evaluation return) rows, as the original;
- ``<seed>/train.csv`` and ``<seed>/eval.csv``;
- ``tb/<seed>/``: TensorBoard scalars (``train/*``, ``eval/*``, ``episode/*``);
- ``<seed>/checkpoint.msgpack``: written every ``checkpoint_interval`` steps, at
  the end, and when SIGTERM, SIGINT or SIGUSR1 stops the run between steps
  (``omd.stop``); a run started with the same ``save_dir`` and seed resumes from it.

A checkpoint holds the agent state (all parameters, optimizer states, RNG key),
the replay buffer, the training and evaluation environments' states (MuJoCo
physics, time-limit counter, RNGs, episode statistics), the host counters and the
CSV/``.txt`` logs written so far. A resumed run therefore continues the current
episode and, on the same machine and software, reproduces the uninterrupted run
exactly. TensorBoard events written between the last checkpoint and a kill are
not removed and appear twice for those steps.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import tempfile
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from tqdm.auto import tqdm

from omd import checkpoint
from omd.envs import mujoco as envs
from omd.logging import Logger, StepTimer, format_line
from omd.sac import config as config_lib
from omd.sac import evaluation
from omd.sac.agent import init_state, make_agent
from omd.sac.update import _next_action, init_buffer, make_env_step, make_eval_action
from omd.stop import StopRequest

CHECKPOINT = "checkpoint.msgpack"
LOGS = ("train.csv", "eval.csv")


def check_writable(save_dir: str) -> None:
    try:
        os.makedirs(save_dir, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=save_dir):
            pass
    except OSError as err:
        raise ValueError(f"--save_dir={save_dir} is not writable ({err}); pass a writable --save_dir.") from None


def _fingerprint(agent_cfg: config_lib.SACConfig, run: config_lib.RunConfig) -> dict[str, Any]:
    """Settings a resumed run must share with the checkpoint (intervals, max_steps and capacity may change)."""
    fields = {**dataclasses.asdict(agent_cfg), "hidden_dims": list(agent_cfg.hidden_dims)}
    return {**fields, "env_name": run.env_name, "dim_distract": run.dim_distract, "seed": run.seed,
            "start_training": run.start_training}


def _save_buffer(buffer) -> dict[str, Any]:
    size = int(buffer.size)
    data = jax.tree.map(lambda x: np.asarray(x)[:size], jax.device_get(buffer.data))
    return {"data": data, "ptr": np.asarray(buffer.ptr), "size": np.asarray(size)}


def _load_buffer(template, saved, saved_capacity: int):
    """Refill ``template``; a run resumed with another capacity gets the transitions oldest first."""
    size, ptr, capacity = int(saved["size"]), int(saved["ptr"]), template.capacity
    stored = saved["data"]
    if capacity != saved_capacity:
        if size > capacity:
            raise ValueError(
                f"The checkpoint's replay buffer holds {size} transitions, more than the new capacity {capacity}; "
                f"resume with config.replay_buffer_size >= {size} (or max_steps >= {size})."
            )
        stored = {k: np.roll(v, -ptr, axis=0) if size == saved_capacity else v for k, v in stored.items()}
        ptr = size % capacity
    data = {k: np.zeros(v.shape, v.dtype) for k, v in template.data.items()}
    for k in data:
        data[k][:size] = stored[k]
    return template.replace(
        data=jax.device_put(data), ptr=jnp.asarray(ptr, jnp.int32), size=jnp.asarray(size, jnp.int32)
    )


def _read(path: str) -> str:
    return open(path).read() if os.path.exists(path) else ""


def _write_txt(path: str, rows: list[list[float]]) -> None:
    buf = io.StringIO()
    np.savetxt(buf, np.asarray(rows, np.float64).reshape(-1, 2), fmt=["%d", "%.10f"])
    with open(path, "w") as f:
        f.write(buf.getvalue())


def train(agent_cfg: config_lib.SACConfig, run: config_lib.RunConfig, stop_after: int | None = None) -> dict:
    """Train (or resume) and return a summary.

    ``stop_after``: return after that environment step without a final
    checkpoint, as a killed job would (used by the resume test). A stop signal
    ends the run after the current step with a checkpoint; the summary's
    ``stopped_by`` names the signal (``None`` otherwise).
    """
    config_lib.check(agent_cfg, run)
    check_writable(run.save_dir)
    env = envs.make_env(run.env_name, run.seed, run.dim_distract)
    eval_envs = evaluation.make_eval_envs(run.env_name, run.seed + 42, run.dim_distract, run.eval_episodes,
                                          run.save_video)
    obs_dim, action_dim = env.observation_space.shape[0], env.action_space.shape[0]

    agent = make_agent(agent_cfg, obs_dim, action_dim)
    state = init_state(agent, jax.random.PRNGKey(run.seed))
    buffer = init_buffer(obs_dim, action_dim, run.capacity)

    seed_dir = os.path.join(run.save_dir, str(run.seed))
    os.makedirs(seed_dir, exist_ok=True)
    ckpt_path = os.path.join(seed_dir, CHECKPOINT)
    txt_path = os.path.join(run.save_dir, f"{run.seed}.txt")
    fingerprint = _fingerprint(agent_cfg, run)

    if os.path.exists(ckpt_path):
        saved = checkpoint.load(ckpt_path)
        host = json.loads(saved["host"])
        if host["fingerprint"] != fingerprint:
            diff = sorted(k for k in fingerprint if host["fingerprint"].get(k) != fingerprint[k])
            raise ValueError(
                f"{ckpt_path} was written with different settings ({', '.join(diff)}). Resume with the same "
                "settings, or pass another --save_dir (or --exp) to start a new run."
            )
        state = jax.device_put(checkpoint.restore_into(state, saved["agent"]))
        buffer = _load_buffer(buffer, saved["buffer"], host["capacity"])
        envs.set_state(env, saved["env"])
        # Checkpoints written before evaluations ran in lockstep hold one evaluation env.
        evaluation.set_states(eval_envs, saved["eval_envs"] if "eval_envs" in saved else {"0": saved["eval_env"]})
        obs, action = np.asarray(saved["obs"], np.float32), np.asarray(saved["action"], np.float32)
        for name in LOGS:
            with open(os.path.join(seed_dir, name), "w") as f:
                f.write(saved["logs"][name])
        _write_txt(txt_path, host["eval_rows"])
        print(f"Resuming {run.env_name} seed {run.seed} from step {host['step']} ({ckpt_path}).", flush=True)
    else:
        for name in LOGS:
            if os.path.exists(os.path.join(seed_dir, name)):
                os.remove(os.path.join(seed_dir, name))
        obs = env.reset(seed=run.seed)[0]
        state, action = jax.jit(_next_action, static_argnums=(0, 3))(agent, state, obs, run.start_training <= 1)
        action = np.asarray(action)
        host = {"step": 0, "updates": 0, "episodes": 0, "evaluations": 0, "eval_rows": [],
                "last_episode": [float("nan"), float("nan")], "fingerprint": fingerprint}
    host["capacity"] = run.capacity

    steps = {(learn, policy): make_env_step(agent, learn, policy) for learn, policy in
             ((False, False), (False, True), (True, True))}
    eval_act = make_eval_action(agent)
    logger = Logger(seed_dir, csv_names=("train", "eval"), console=False, tb_dir=os.path.join(run.save_dir, "tb", str(run.seed)))

    def save_checkpoint(step: int) -> None:
        logs = {name: _read(os.path.join(seed_dir, name)) for name in LOGS}
        checkpoint.save(ckpt_path, {
            "agent": checkpoint.to_saveable(learner.from_carry(carry)), "buffer": _save_buffer(buffer),
            "env": envs.get_state(env), "eval_envs": evaluation.get_states(eval_envs),
            "obs": obs, "action": action, "logs": logs, "host": json.dumps({**host, "step": step}),
        })

    timer = StepTimer(host["step"])
    # NaN until learning starts: train.csv gets all its columns from the first row on.
    learner = steps[(True, True)]
    shapes = learner.metric_shapes(state, buffer)
    # The loop carries the state packed (omd.flat: all of it on GPUs, its small leaves on CPU); all three steps share it.
    carry = learner.to_carry(state)
    del state
    metrics = {k: np.float32(np.nan) for k in shapes}
    start = host["step"] + 1
    bar = tqdm(total=run.max_steps, initial=start - 1, disable=not run.tqdm, smoothing=0.05, unit="step",
               dynamic_ncols=True)
    stopped_by = None
    # A stop signal ends the loop after the current step, with a checkpoint.
    with StopRequest() as stop, bar, logger:
        for i in range(start, run.max_steps + 1):
            next_obs, reward, terminated, truncated, info = env.step(action)
            transition = {"obs": obs, "action": action, "reward": np.float32(reward),
                          "mask": np.float32(not terminated), "next_obs": next_obs}
            if terminated or truncated:
                episode = info["episode"]
                host["episodes"] += 1
                host["last_episode"] = [episode["return"], episode["length"]]
                logger.log("episode", i, {"return": episode["return"], "length": episode["length"]})
                next_obs, _ = env.reset()
            learn, policy = i >= run.start_training, i + 1 >= run.start_training
            carry, buffer, action, step_metrics = steps[(learn, policy)](carry, buffer, transition, next_obs)
            if learn:
                metrics = step_metrics
                host["updates"] += agent_cfg.outer_steps
            action, obs = np.asarray(action), next_obs
            bar.update(1)

            if i % run.log_interval == 0:
                row = {"step": i, **learner.read_metrics(metrics), "episode_return": host["last_episode"][0],
                       "episodes": host["episodes"], "steps_per_sec": timer.rate(i)}
                bar.write(format_line("train", i, logger.log("train", i, row)))
            if i % run.eval_interval == 0:
                video = os.path.join(run.save_dir, "video", str(run.seed), f"eval_{i}.mp4") if run.save_video else None
                ret = evaluation.evaluate(eval_envs, eval_act, learner.from_carry(carry).sac.actor.params, video)
                host["evaluations"] += 1
                host["eval_rows"].append([i, ret])
                _write_txt(txt_path, host["eval_rows"])
                bar.write(format_line("eval", i, logger.log("eval", i, {"step": i, "return": ret})))
            host["step"] = i
            if stop_after is not None and i >= stop_after:
                break
            if i % run.checkpoint_interval == 0 or i == run.max_steps or stop.signum is not None:
                save_checkpoint(i)
            if stop.signum is not None and i < run.max_steps:
                stopped_by = stop.name
                break
    final = host["eval_rows"][-1][1] if host["eval_rows"] else float("nan")
    return {"steps": host["step"], "updates": host["updates"], "evaluations": host["evaluations"],
            "episodes": host["episodes"], "final_eval_return": final, "eval_rows": host["eval_rows"],
            "state": learner.from_carry(carry), "stopped_by": stopped_by, "checkpoint": ckpt_path}
