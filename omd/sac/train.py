"""The host training loop of the MuJoCo suite, with evaluation, logging and resume.

One or two compiled calls per environment step (``omd.sac.env_step``); the environment
runs in C MuJoCo on the host, and evaluations step their episodes side by side
(``omd.sac.evaluation``). Outputs under ``save_dir``:

- ``<seed>.txt``: (timesteps, average evaluation return) rows, as the original;
- ``<seed>/train.csv`` and ``<seed>/eval.csv``;
- ``tb/<seed>/``: TensorBoard scalars (``train/*``, ``eval/*``, ``episode/*``);
- ``<seed>/checkpoint.msgpack``: written every ``checkpoint_interval`` steps, at
  the end, and when SIGTERM, SIGINT or SIGUSR1 stops the run between steps
  (``omd.stop``); a run started with the same ``save_dir`` and seed resumes from it;
- ``<seed>/run.json``: the settings that wrote the outputs and whether the run finished.

Outputs are never deleted. A seed whose outputs cannot be resumed (no checkpoint:
a finished run whose checkpoint was removed, or other settings) is refused unless
``overwrite`` is set, which first moves them to ``save_dir/<seed>.old-<n>/``; so is a
checkpoint written with other settings. The one exception is a run with the same
settings that stopped before its first checkpoint: it starts again from step 0,
its partial outputs moved aside the same way. A run whose metrics turn non-finite
stops at the next log or checkpoint boundary (``omd.guard.NonFiniteError``) and
writes no checkpoint after that.

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
import shutil
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from tqdm.auto import tqdm

from omd import checkpoint, replay
from omd.guard import check_finite
from omd.envs import mujoco as envs
from omd.logging import Logger, StepTimer, format_line
from omd.sac import config as config_lib
from omd.sac import evaluation
from omd.sac.agent import init_state, make_agent
from omd.sac.env_step import _next_action, init_buffer, make_env_step, make_eval_action
from omd.stop import StopRequest

CHECKPOINT = "checkpoint.msgpack"
RUN_INFO = "run.json"  # the settings that wrote the outputs, and whether that run finished
LOGS = ("train.csv", "eval.csv")


def check_writable(save_dir: str) -> None:
    problem = checkpoint.unwritable(save_dir)
    if problem:
        raise ValueError(f"--save_dir={save_dir} is not writable ({problem}); pass a writable --save_dir.")


def _fingerprint(agent_cfg: config_lib.SACConfig, run: config_lib.RunConfig) -> dict[str, Any]:
    """Settings a resumed run must share with the checkpoint (intervals, max_steps and capacity may change)."""
    fields = {**dataclasses.asdict(agent_cfg), "hidden_dims": list(agent_cfg.hidden_dims)}
    return {**fields, "env_name": run.env_name, "dim_distract": run.dim_distract, "seed": run.seed,
            "start_training": run.start_training}


def _save_buffer(buffer) -> dict[str, Any]:
    return {"data": replay.oldest_first(buffer), "ptr": np.asarray(buffer.ptr), "capacity": np.asarray(buffer.capacity)}


def _load_buffer(template, saved):
    """Refill ``template``: slot for slot at the same capacity, oldest first at another one."""
    size = len(saved["data"]["obs"])
    if size > template.capacity:
        raise ValueError(
            f"The checkpoint's replay buffer holds {size} transitions, more than the new capacity {template.capacity}; "
            f"resume with config.replay_buffer_size >= {size} (or max_steps >= {size})."
        )
    same = int(saved["capacity"]) == template.capacity
    return replay.refill(template, saved["data"], int(saved["ptr"]) if same else None)


def _read(path: str) -> str:
    # newline="": the logs travel through the checkpoint byte for byte (one line ending, "\n").
    return open(path, newline="").read() if os.path.exists(path) else ""


def _aside_dir(save_dir: str, seed: int) -> str:
    """The first free ``save_dir/<seed>.old-<n>``: where outputs that a new run would replace are moved."""
    n = 1
    while os.path.exists(os.path.join(save_dir, f"{seed}.old-{n}")):
        n += 1
    return os.path.join(save_dir, f"{seed}.old-{n}")


def _move_aside(run: config_lib.RunConfig) -> str | None:
    """Move this seed's outputs (folder, ``.txt``, TensorBoard events, videos) into one new folder."""
    dest = _aside_dir(run.save_dir, run.seed)
    seed = str(run.seed)
    items = [(os.path.join(run.save_dir, seed), dest), (os.path.join(run.save_dir, f"{seed}.txt"), None),
             (os.path.join(run.save_dir, "tb", seed), os.path.join(dest, "tb")),
             (os.path.join(run.save_dir, "video", seed), os.path.join(dest, "video"))]
    items = [(src, dst or os.path.join(dest, os.path.basename(src))) for src, dst in items if os.path.exists(src)]
    if not items:
        return None
    for src, dst in items:
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.move(src, dst)
    return dest


def _write_run_info(path: str, fingerprint: dict, finished: bool) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"fingerprint": fingerprint, "finished": finished}, f)
    os.replace(tmp, path)


def _claim_outputs(run: config_lib.RunConfig, fingerprint: dict, ckpt_path: str, txt_path: str):
    """The checkpoint to resume (or ``None`` for a fresh start), after refusing to replace results.

    Runs before any compute, so a refused run costs nothing.
    """
    seed_dir = os.path.dirname(ckpt_path)
    if run.overwrite:
        moved = _move_aside(run)
        if moved:
            print(f"--overwrite: moved the earlier outputs of seed {run.seed} to {moved}.", flush=True)
        return None
    if os.path.exists(ckpt_path):
        saved = checkpoint.load(ckpt_path)
        host = json.loads(saved["host"])
        if host["fingerprint"] != fingerprint:
            diff = sorted(k for k in fingerprint if host["fingerprint"].get(k) != fingerprint[k])
            raise ValueError(
                f"{ckpt_path} was written with different settings ({', '.join(diff)}). Resume with the same "
                f"settings, pass --overwrite to move the outputs of seed {run.seed} to "
                f"{_aside_dir(run.save_dir, run.seed)} and start again, or pass another --save_dir (or --exp)."
            )
        return saved
    results = [p for p in [os.path.join(seed_dir, n) for n in LOGS] + [txt_path]
               if os.path.exists(p) and os.path.getsize(p) > 0]
    if not results:
        return None
    try:
        with open(os.path.join(seed_dir, RUN_INFO)) as f:
            info = json.load(f)
    except (OSError, ValueError):
        info = None
    same = info is not None and info.get("fingerprint") == json.loads(json.dumps(fingerprint))
    if same and not info.get("finished"):
        # The same run killed before its first checkpoint: starting it again reproduces those outputs.
        moved = _move_aside(run)
        print(f"Seed {run.seed} stopped before its first checkpoint; starting it again from step 0 "
              f"(its partial outputs moved to {moved}).", flush=True)
        return None
    what = ("a finished run" if same else "a run with other settings" if info is not None else "an earlier run")
    raise ValueError(
        f"{seed_dir} holds the results of {what} ({', '.join(os.path.basename(p) for p in results)}) and no "
        f"checkpoint to resume from; this run would replace them. Pass --overwrite to move them to "
        f"{_aside_dir(run.save_dir, run.seed)} and start again, or pass another --save_dir (or --exp)."
    )


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
    seed_dir = os.path.join(run.save_dir, str(run.seed))
    ckpt_path = os.path.join(seed_dir, CHECKPOINT)
    txt_path = os.path.join(run.save_dir, f"{run.seed}.txt")
    info_path = os.path.join(seed_dir, RUN_INFO)
    fingerprint = _fingerprint(agent_cfg, run)
    saved = _claim_outputs(run, fingerprint, ckpt_path, txt_path)

    env = envs.make_env(run.env_name, run.seed, run.dim_distract)
    eval_envs = evaluation.make_eval_envs(run.env_name, run.seed + 42, run.dim_distract, run.eval_episodes,
                                          run.save_video)
    obs_dim, action_dim = env.observation_space.shape[0], env.action_space.shape[0]

    agent = make_agent(agent_cfg, obs_dim, action_dim)
    state = init_state(agent, jax.random.PRNGKey(run.seed))
    buffer = init_buffer(obs_dim, action_dim, run.capacity)

    os.makedirs(seed_dir, exist_ok=True)
    if saved is not None:
        host = json.loads(saved["host"])
        state = jax.device_put(checkpoint.restore_into(state, saved["agent"]))
        buffer = _load_buffer(buffer, saved["buffer"])
        envs.set_state(env, saved["env"])
        # Checkpoints written before evaluations ran in lockstep hold one evaluation env.
        evaluation.set_states(eval_envs, saved["eval_envs"] if "eval_envs" in saved else {"0": saved["eval_env"]})
        obs, action = np.asarray(saved["obs"], np.float32), np.asarray(saved["action"], np.float32)
        for name in LOGS:
            with open(os.path.join(seed_dir, name), "w", newline="") as f:
                f.write(saved["logs"][name])
        _write_txt(txt_path, host["eval_rows"])
        print(f"Resuming {run.env_name} seed {run.seed} from step {host['step']} ({ckpt_path}).", flush=True)
    else:
        for name in LOGS:  # empty leftovers only: _claim_outputs moved any results aside or refused
            if os.path.exists(os.path.join(seed_dir, name)):
                os.remove(os.path.join(seed_dir, name))
        obs = env.reset(seed=run.seed)[0]
        state, action = jax.jit(_next_action, static_argnums=(0, 3))(agent, state, obs, run.start_training <= 1)
        action = np.asarray(action)
        host = {"step": 0, "updates": 0, "episodes": 0, "evaluations": 0, "eval_rows": [],
                "last_episode": [float("nan"), float("nan")], "fingerprint": fingerprint}
    host["capacity"] = run.capacity
    _write_run_info(info_path, fingerprint, finished=host["step"] >= run.max_steps)
    del saved
    where = f"{agent_cfg.algo} on {run.env_name}, seed {run.seed}"

    steps = {(learn, policy): make_env_step(agent, learn, policy) for learn, policy in
             ((False, False), (False, True), (True, True))}
    eval_act = make_eval_action(agent)
    logger = Logger(seed_dir, csv_names=("train", "eval"), console=False, tb_dir=os.path.join(run.save_dir, "tb", str(run.seed)))

    def save_checkpoint(step: int) -> None:
        if step >= run.start_training:  # never a checkpoint of a state gone non-finite (one fetch per checkpoint)
            check_finite(learner.read_metrics(metrics), step, where)
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
                fetched = learner.read_metrics(metrics)
                row = {"step": i, **fetched, "episode_return": host["last_episode"][0],
                       "episodes": host["episodes"], "steps_per_sec": timer.rate(i)}
                bar.write(format_line("train", i, logger.log("train", i, row)))
                if learn:  # the metrics just fetched: the hot loop pays nothing for this check
                    check_finite(fetched, i, where)
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
                if i == run.max_steps:
                    _write_run_info(info_path, fingerprint, finished=True)
            if stop.signum is not None and i < run.max_steps:
                stopped_by = stop.name
                break
    final = host["eval_rows"][-1][1] if host["eval_rows"] else float("nan")
    return {"steps": host["step"], "updates": host["updates"], "evaluations": host["evaluations"],
            "episodes": host["episodes"], "final_eval_return": final, "eval_rows": host["eval_rows"],
            "state": learner.from_carry(carry), "stopped_by": stopped_by, "checkpoint": ckpt_path}
