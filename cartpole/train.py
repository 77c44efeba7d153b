"""Train soft-Q agents with OMD, MLE or VEP models on CartPole (or another classic-control task).

  python train.py --agent_type omd            # from inside cartpole/
  python cartpole/train.py --agent_type mle --num_seeds 10

Writes out_dir/[exp/]<seed>/train.csv, eval.csv and TensorBoard events under tb/.

Resume: every --checkpoint_interval steps (at the first log or evaluation boundary on or
after each multiple), and when SIGTERM (Slurm pre-emption), SIGUSR1 (``sbatch --signal``) or
Ctrl-C stops the run at the next boundary, one file, out_dir/[exp/]<first seed>/checkpoint.msgpack,
is written atomically (``omd.checkpoint``) for all seeds of the run: the whole ``RunState``
(agent, replay buffers, environment states, RNG keys, counters), the metric sums not yet
logged, the evaluation history, the step, and each seed's train.csv/eval.csv as written so far.
Running the same command again resumes from it and computes exactly what the uninterrupted run
would have (TensorBoard events after the checkpoint may appear twice); other settings are
refused. A stopped run exits with 128 + the signal's number; a finished run deletes its checkpoint.
A failed write (disk full, output folder removed) stops the run with exit status 1 in one line
naming the file, the cause and the last good checkpoint, which is kept (``omd.outputs``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import signal
import sys
import time

from omd import devices

# Before JAX starts: one XLA CPU device per core, so that --num_seeds shards run side by side.
devices.split_host_into_cores()

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from absl import app, flags  # noqa: E402
from tqdm import tqdm  # noqa: E402

from omd import checkpoint as run_checkpoint  # noqa: E402
from omd import guard  # noqa: E402
from omd import logging as omd_logging  # noqa: E402
from omd.outputs import WriteFailed, WriteGuard  # noqa: E402
from omd.soft_q import SoftQConfig, boundaries, checkpoint, make_loop  # noqa: E402
from omd.soft_q.config import from_flags, to_flags  # noqa: E402
from omd.soft_q.evaluation import evaluate  # noqa: E402
from omd.soft_q.training import state_from_host, state_to_host  # noqa: E402
from omd.soft_q.updates import METRIC_KEYS  # noqa: E402
from omd.stop import StopRequest  # noqa: E402

FLAGS = flags.FLAGS
# The original flags, names and defaults unchanged; omd.soft_q.config.FLAG_NAMES maps them to SoftQConfig fields.
flags.DEFINE_string("exp", "", "Experiment name: outputs go to out_dir/<exp>/<seed> (out_dir/<seed> when empty).")
flags.DEFINE_string("out_dir", "out", "Directory for train.csv, eval.csv and TensorBoard events (one folder per seed).")
flags.DEFINE_string("data_path", "data/buf.pkl", "Where --save_buf writes the replay buffer (seed appended with --num_seeds > 1).")
flags.DEFINE_string("agent_path", "data/agent.pkl", "Where --save_agent writes the agent, and --eval_only reads it (seed appended with --num_seeds > 1).")
flags.DEFINE_string("env_name", "CartPole-v1", "Environment id: CartPole-v1, Acrobot-v1 or MountainCar-v0 (run in JAX).")
flags.DEFINE_integer("seed", 0, "Random seed (the first one with --num_seeds).")
flags.DEFINE_integer("num_train_steps", 200000, "Environment steps to train for.", lower_bound=0)
flags.DEFINE_integer("hidden_dim", 32, "Width of the two hidden layers of the Q networks (and VEP's value networks).", lower_bound=1)
flags.DEFINE_integer("model_hidden_dim", 32, "Width of the two hidden layers of the model's next-state and reward networks.", lower_bound=1)
flags.DEFINE_integer("batch_size", 256, "Transitions per sampled mini-batch.", lower_bound=1)
flags.DEFINE_integer("init_steps", 1000, "Uniformly random steps collected before the first update.", lower_bound=0)
flags.DEFINE_integer("eval_frequency", 1000, "Evaluate every this many environment steps (and after the last).", lower_bound=1)
flags.DEFINE_integer("log_frequency", 1000, "Write a train.csv row every this many environment steps.", lower_bound=1)
flags.DEFINE_integer("num_Q_steps", 1, "Value (Q) Adam steps per update: OMD's inner steps K; MLE/VEP's Q steps on model data.", lower_bound=1)
flags.DEFINE_integer("num_T_steps", 1, "Model updates per environment step (OMD: full outer updates, each with its K inner steps).", lower_bound=1)
flags.DEFINE_integer("num_ensemble_vep", 5, "VEP: number of random, never-trained value networks the model must match.", lower_bound=1)
flags.DEFINE_float("eps", 0.1, "Probability of a uniformly random action while training.")
flags.DEFINE_float("discount", 0.99, "Discount factor gamma.")
flags.DEFINE_float("lr", 1e-3, "Adam learning rate of the model (OMD's outer loop).")
flags.DEFINE_float("inner_lr", 3e-4, "Adam learning rate of the Q networks (OMD's inner loop).")
flags.DEFINE_float("alpha", 0.01, "Soft Q-learning temperature: V = alpha * logsumexp(Q / alpha), policy softmax(Q / alpha).")
flags.DEFINE_float("tau", 0.01, "Target network update: target <- tau * online + (1 - tau) * target after each Q step.")
flags.DEFINE_boolean("save_buf", False, "Save the replay buffer to --data_path after training.")
flags.DEFINE_boolean("save_agent", False, "Save the agent (Q, target Q and model parameters) to --agent_path after training.")
flags.DEFINE_boolean("hard", False, "Hard max instead of logsumexp in the Q target, and greedy instead of softmax actions.")
flags.DEFINE_boolean("no_learn_reward", False, "Give the Q learner the true rewards instead of a learned reward model.")
flags.DEFINE_boolean("prob_model", False, "Gaussian next-state model (sampled next states, NLL for MLE) instead of a deterministic one.")
flags.DEFINE_boolean("no_warm", False, "OMD: start the inner Q solve from freshly initialised networks each update instead of the current Q.")
flags.DEFINE_boolean("warm_opt", False, "OMD: keep the inner Adam statistics between updates instead of resetting them each update.")
flags.DEFINE_boolean("no_double", False, "One Q network instead of two (no min over two target heads).")
flags.DEFINE_boolean("with_inv_jac", False, "OMD: use the inverse Jacobian in the implicit gradient, solved by conjugate gradient (default: identity approximation).")
flags.DEFINE_enum("agent_type", "omd", ["omd", "mle", "vep"], "How the model is trained: omd (implicit gradient of the real Bellman error), mle (maximum likelihood), vep (value equivalence).")
# New flags.
flags.DEFINE_integer("dim_distract", 0, "Append this many N(0, 1) distractor dimensions (fresh every step) to each observation.", lower_bound=0)
flags.DEFINE_integer("num_seeds", 1, "Train seeds seed .. seed+num_seeds-1 together (vmapped) in this process.", lower_bound=1)
flags.DEFINE_integer("num_eval_episodes", 10, "Episodes per evaluation (run in parallel).", lower_bound=1)
flags.DEFINE_float("cg_damping", 1e-5, "With --with_inv_jac: damping lambda of the conjugate-gradient solve (J + lambda I) v = g.")
flags.DEFINE_integer("cg_maxiter", 100, "With --with_inv_jac: maximum conjugate-gradient iterations.", lower_bound=1)
flags.DEFINE_integer("replay_capacity", 0, "Replay buffer size; 0 keeps every transition (num_train_steps), as the original.", lower_bound=0)
flags.DEFINE_boolean("without_replacement", False, "Sample each mini-batch without replacement, as the original's replay buffer did (default: with replacement).")
flags.DEFINE_boolean("x64", False, "Float64 parameters, optimiser states and arithmetic, as the original (which enabled jax_enable_x64); stored transitions stay float32 as there. About 1.7 times slower (OMD, one seed, one core).")
# Beyond the paper: candidate stabilisers of OMD, off by default (docs/results/cartpole.md, "Beyond the paper: why OMD collapses").
flags.DEFINE_float("mle_coef", 0.0, "OMD: add this times the MLE loss (next-state MSE + reward MSE) to the outer loss (0: the paper's OMD).")
flags.DEFINE_boolean("clip_model_obs", False, "Clip the model's next-state predictions to the range of each batch's real next states before value targets are taken on them.")
flags.DEFINE_float("mle_grad_mix", 0.0, "OMD: step the model on (1 - c) times the unit-norm OMD gradient plus c times the unit-norm MLE gradient (0: the paper's OMD).")
flags.DEFINE_float("target_match_mix", 0.0, "OMD: step the model on (1 - c) times the unit-norm OMD gradient plus c times the unit-norm gradient of its value targets' squared error against the real ones, mean (r_model + discount V(s'_model) - r - discount V(s'))^2 (0: the paper's OMD).")
flags.DEFINE_boolean("clip_target", False, "Clip V(s') in every Bellman target to the soft returns the batch's real rewards allow: [min(0, r_min), max(0, r_max + alpha log |A|)] / (1 - discount).")
flags.DEFINE_boolean("unroll_inner", False, "OMD: differentiate the inner Adam steps themselves (reverse mode) instead of the implicit identity approximation; use with --warm_opt (a reset Adam's first step is a sign step, with almost no derivative).")
flags.DEFINE_float("model_grad_clip", 0.0, "Clip the model gradient's global norm to this before its Adam step (0: off).")
flags.DEFINE_boolean("tensorboard", True, "Write TensorBoard events to out_dir/<seed>/tb.")
flags.DEFINE_boolean("overwrite", False, "Start again where out_dir/<seed> holds outputs (finished, or another run's): move them to out_dir/<seed>.old-<n> instead of refusing to start.")
flags.DEFINE_boolean("tqdm", True, "Show a progress bar.")
flags.DEFINE_boolean("eval_only", False, "Load the agent from --agent_path, evaluate it for --num_eval_episodes episodes and exit.")
flags.DEFINE_integer("checkpoint_interval", 50_000, "Write a resumable checkpoint of all seeds to out_dir/[exp/]<first seed>/checkpoint.msgpack at the first log or eval boundary on or after every multiple of this many steps (and at SIGTERM, SIGUSR1 or Ctrl-C); the same command resumes from it.")

CHECKPOINT = "checkpoint.msgpack"
# The checkpoint layout follows the run state's tree; the number changes with it. Only this layout is
# read: a checkpoint of another is refused in one line (prepare_outputs).
RUN_FORMAT = "omd.soft_q.run/2"
LOGS = ("train.csv", "eval.csv")
HELP_HINT = "Pass --helpfull to list every flag."


class UserError(Exception):
    """A setting or an output folder the run cannot use; printed as one line, without a traceback."""


def per_seed_path(path: str, seed: int, num_seeds: int) -> str:
    if num_seeds == 1:
        return path
    root, ext = os.path.splitext(path)
    return f"{root}_{seed}{ext}"


def check_writable(directory: str, flag: str) -> None:
    problem = run_checkpoint.unwritable(directory)
    if problem:
        raise UserError(f"{flag}: cannot write to {directory} ({problem}); pass a writable {flag}.")


def fingerprint(config: SoftQConfig, seeds: list[int]) -> dict:
    """What a resumed run must share with its checkpoint: every setting that changes what is computed."""
    return {**to_flags(config), "seed": seeds[0], "num_seeds": len(seeds)}


def recorded(saved: dict, flag: str):
    """A checkpoint's setting of ``flag``; one written before the flag existed ran its default."""
    return saved.get(flag, DEFAULT_FLAGS.get(flag))


DEFAULT_FLAGS = to_flags(SoftQConfig())


def prepare_outputs(config: SoftQConfig, seeds: list[int]) -> tuple[list[str], dict | None]:
    """The seeds' output folders and, when they hold a checkpoint of this run, its contents.

    Folders with other outputs are refused (or moved aside with --overwrite): finished results
    and runs of other settings are never mixed with this one or deleted.
    """
    root = os.path.join(FLAGS.out_dir, FLAGS.exp)
    check_writable(root, "--out_dir")
    for flag, path, wanted in (("--agent_path", FLAGS.agent_path, FLAGS.save_agent),
                               ("--data_path", FLAGS.data_path, FLAGS.save_buf)):
        if wanted:  # before training, not after it
            check_writable(os.path.dirname(os.path.abspath(path)), flag)
    dirs = [os.path.join(root, str(s)) for s in seeds]
    taken = [d for d in dirs if os.path.isdir(d) and os.listdir(d)]
    if FLAGS.overwrite:  # moved aside, not deleted, as the MuJoCo trainer does
        for d in taken:
            n = 1
            while os.path.exists(f"{d}.old-{n}"):
                n += 1
            shutil.move(d, f"{d}.old-{n}")
            print(f"--overwrite: moved the earlier outputs in {d} to {d}.old-{n}.", flush=True)
        return dirs, None
    path = os.path.join(dirs[0], CHECKPOINT)
    if os.path.exists(path):
        try:
            saved = run_checkpoint.load(path)
            host = json.loads(saved["host"])
            kind, _, version = str(host.get("format")).partition("/")
            if kind != RUN_FORMAT.split("/")[0] or not version.isdigit():
                raise ValueError(f"not a {RUN_FORMAT} checkpoint")
        except Exception:  # truncated, corrupted or another program's
            raise UserError(
                f"checkpoint {path} is unreadable (truncated, corrupted or not a CartPole checkpoint); pass "
                "--overwrite to start these seeds again (their outputs moved aside), or choose another --out_dir "
                "or --exp.") from None
        if host["format"] != RUN_FORMAT:
            which = "an earlier" if int(version) < int(RUN_FORMAT.split("/")[1]) else "a later"
            raise UserError(
                f"checkpoint {path} was written by {which} version of this code ({host['format']}; this one reads "
                f"{RUN_FORMAT}): finish the run with that version, or pass --overwrite to start these seeds again "
                "(their outputs are moved aside, nothing is lost).")
        want = fingerprint(config, seeds)
        diff = [f"--{k} {recorded(host['fingerprint'], k)!r} there, {want[k]!r} now" for k in want
                if recorded(host["fingerprint"], k) != want[k]]
        if diff:
            raise UserError(
                f"{path} is the checkpoint of a run with other settings ({'; '.join(diff)}). Rerun with its "
                "settings to resume it, pass --overwrite to start again (its outputs moved aside), or choose another "
                "--out_dir or --exp.")
        return dirs, saved
    if taken:
        raise UserError(
            f"Output directory {taken[0]} already exists and is not empty; pass --overwrite to move it aside "
            "and start again, or choose another --out_dir or --exp."
        )
    return dirs, None


def eval_only(config: SoftQConfig) -> None:
    saved_config, params = checkpoint.load_agent(FLAGS.agent_path)
    loop = make_loop(dataclasses.replace(saved_config, eval_episodes=config.eval_episodes))
    q = jax.tree.map(jnp.asarray, params["params_Q"])
    run = jax.jit(lambda key: evaluate(loop.agent, loop.env, q, key, config.eval_episodes))
    ret = float(run(jax.random.key(FLAGS.seed)))
    print(f"{FLAGS.agent_path}: {saved_config.algo} agent trained for {params['step']} steps on "
          f"{saved_config.env_name}; mean return over {config.eval_episodes} episodes: {ret:.2f}")


def fail(message: str, hint: str = "", code: int = 1) -> None:
    print(f"error: {message}" + (f"\n{hint}" if hint else ""), file=sys.stderr, flush=True)
    sys.exit(code)


def config_from_flags(values) -> SoftQConfig:
    """The run's config from flag values (parsed FLAGS, or a dict by flag name), refused with a ValueError as a
    run refuses it before any compute; the sweep runner checks every job of a grid with it."""
    get = values.__getitem__ if isinstance(values, dict) else lambda name: getattr(values, name)
    config = from_flags(values).validate()
    guard.check_range("--checkpoint_interval", get("checkpoint_interval"), 1)
    guard.check_range("--seed", get("seed"), 0, 2**32 - get("num_seeds"))
    return config


def main(argv):
    # x64 mode for this run only (never globally), so float64 parameters stay float64 under jit.
    with jax.enable_x64(True) if FLAGS.x64 else contextlib.nullcontext():
        run(argv)


def run(argv):
    # Usage errors are one line and a hint; absl's UsageError would print the whole help.
    if len(argv) > 1:
        fail(f"unexpected arguments: {' '.join(argv[1:])}", HELP_HINT, 2)
    try:
        config = config_from_flags(FLAGS)
        if FLAGS.eval_only:
            return eval_only(config)
        loop = make_loop(config)
    except ValueError as err:
        fail(str(err), HELP_HINT, 2)
    seeds = list(range(FLAGS.seed, FLAGS.seed + FLAGS.num_seeds))
    try:
        dirs, saved = prepare_outputs(config, seeds)
    except UserError as err:
        fail(str(err))
    # A failed write (disk full, folder gone) stops the run in one line; the last good checkpoint is kept.
    writes = WriteGuard(os.path.join(dirs[0], CHECKPOINT), None if saved is None else json.loads(saved["host"])["step"],
                        no_checkpoint="rerun with --overwrite to start again (the partial outputs are moved aside)")
    with StopRequest() as stop:
        try:
            with writes:
                summary = train(loop, seeds, dirs, saved, stop, writes)
        except (guard.NonFiniteError, WriteFailed) as err:
            fail(str(err))
    if summary["stopped_by"]:
        print(f"Stopped by {summary['stopped_by']} after step {summary['step']} of {config.max_steps}; "
              f"checkpoint written to {summary['checkpoint']}. Run the same command to resume.",
              file=sys.stderr, flush=True)
        sys.exit(128 + signal.Signals[summary["stopped_by"]].value)


def train(loop, seeds: list[int], dirs: list[str], saved: dict | None, stop: StopRequest, writes: WriteGuard) -> dict:
    """Train (or resume from ``saved``) until the end or until ``stop`` records a signal; each checkpoint written is
    reported to ``writes``."""
    config = loop.config
    ckpt_path = os.path.join(dirs[0], CHECKPOINT)
    keys = jax.vmap(jax.random.key)(jnp.asarray(seeds, jnp.uint32))
    if saved is None:
        state = devices.shard_seeds(jax.jit(jax.vmap(loop.init))(keys), len(seeds))
        host = {"step": 0, "num_evals": 0, "elapsed": 0.0}
        pending = None  # metric sums since the last train row, per seed
        eval_returns: list[np.ndarray] = []
    else:
        template = jax.eval_shape(jax.vmap(loop.init), keys)
        state = devices.shard_seeds(state_from_host(template, saved["state"]), len(seeds))
        host = json.loads(saved["host"])
        pending = {k: np.asarray(v) for k, v in saved["pending"].items()} or None
        eval_returns = list(np.asarray(saved["eval_returns"]))
        for i, d in enumerate(dirs):
            os.makedirs(d, exist_ok=True)
            for name in LOGS:  # the rows written up to the checkpoint, byte for byte
                with open(os.path.join(d, name), "wb") as f:
                    f.write(saved["logs"][str(i)][name])
        print(f"Resuming {config.algo} on {config.env_name}, seeds {seeds[0]}-{seeds[-1]}, from step "
              f"{host['step']} ({ckpt_path}).", flush=True)
    loggers = [
        omd_logging.Logger(d, tensorboard=FLAGS.tensorboard, console=False)
        for d in dirs
    ]
    prefixes = [f"[seed {s}] " if len(seeds) > 1 else "" for s in seeds]
    run_steps = jax.jit(jax.vmap(loop.run_steps, in_axes=(0, None, None)), donate_argnums=0)

    def eval_fn(state, index):
        return {"episode_return": loop.evaluate(state, index), "episode": state.episodes}

    evaluate_all = jax.jit(jax.vmap(eval_fn, in_axes=(0, None)))

    n = config.max_steps
    points = boundaries(config)
    start = time.perf_counter() - host["elapsed"]
    timer = omd_logging.StepTimer(host["step"])
    bar = tqdm(total=n, initial=host["step"], unit="step", disable=not FLAGS.tqdm, dynamic_ncols=True)

    def write(kind, step, rows):
        for logger, prefix, row in zip(loggers, prefixes, rows):
            logger.log(kind, step, row)
            tqdm.write(prefix + omd_logging.format_line(kind, step, row))

    def log_eval(step, index):
        out = jax.device_get(evaluate_all(state, index))
        eval_returns.append(out["episode_return"])
        write("eval", step, [
            {"episode": int(out["episode"][i]), "step": step, "episode_return": float(out["episode_return"][i])}
            for i in range(len(seeds))
        ])

    def log_train(step, sums, episodes):
        updates = np.maximum(sums["num_updates"], 1)
        rate = timer.rate(step)
        rows = []
        for i in range(len(seeds)):
            finished = sums["num_episodes"][i]
            row = {
                "episode": int(episodes[i]),
                "step": step,
                "episode_return": float(sums["return_sum"][i] / finished) if finished else float("nan"),
                "duration": time.perf_counter() - start,
            }
            row.update({k: float(sums[k][i] / updates[i]) for k in METRIC_KEYS})
            row["steps_per_second"] = rate  # per seed; the seeds run side by side
            rows.append(row)
        write("train", step, rows)

    def save_checkpoint(step):
        logs = {}
        for i, d in enumerate(dirs):
            logs[str(i)] = {}
            for name in LOGS:
                with open(os.path.join(d, name), "rb") as f:  # the logger created it: gone means the folder went
                    logs[str(i)][name] = f.read()
        run_checkpoint.save(ckpt_path, {
            "state": state_to_host(state, min(step, config.capacity)),
            "pending": pending or {},
            "eval_returns": np.stack(eval_returns),
            "logs": logs,
            "host": json.dumps({"format": RUN_FORMAT, "fingerprint": fingerprint(config, seeds), "step": step,
                                "num_evals": num_evals, "elapsed": time.perf_counter() - start}),
        })

    num_evals, last_checkpoint, stopped_by = host["num_evals"], host["step"], None
    diverged: dict[int, int] = {}  # seed -> step at which its metrics turned non-finite
    try:
        for t0, t1 in zip(points[:-1], points[1:]):
            if t0 < host["step"]:  # done before the checkpoint
                continue
            if t0 % config.eval_interval == 0:
                log_eval(t0, num_evals)
                num_evals += 1
            state, sums = run_steps(state, t0, t1)
            sums = jax.device_get(sums)
            # The sums are on the host already: checking them costs the compiled loop nothing.
            for message in guard.check_seeds(sums, seeds, t1, f"{config.algo} agent", diverged):
                tqdm.write(message)
            pending = sums if pending is None else {k: pending[k] + sums[k] for k in sums}
            bar.update(t1 - t0)
            # Like the original, train rows start once updates have begun; earlier episodes roll into the first row.
            if (t1 % config.log_interval == 0 or t1 == n) and pending["num_updates"].max() > 0:
                log_train(t1, pending, jax.device_get(state.episodes))
                pending = None
            if t1 < n and (t1 // FLAGS.checkpoint_interval > last_checkpoint // FLAGS.checkpoint_interval
                           or stop.signum is not None):
                save_checkpoint(t1)
                last_checkpoint = t1
                writes.saved(t1)
            if stop.signum is not None and t1 < n:
                stopped_by = stop.name
                return {"stopped_by": stopped_by, "step": t1, "checkpoint": ckpt_path}
        log_eval(n, num_evals)
    except guard.NonFiniteError as err:
        kept = f" The checkpoint of step {last_checkpoint} is kept." if os.path.exists(ckpt_path) else ""
        raise guard.NonFiniteError(f"{err}{kept}") from None
    finally:
        bar.close()
        for logger in loggers:
            logger.close()

    minutes = (time.perf_counter() - start) / 60
    history = np.stack(eval_returns)  # [evals, seeds]
    for i, seed in enumerate(seeds):
        if FLAGS.save_agent:
            agent_state = jax.tree.map(lambda x: x[i], state.agent)
            checkpoint.save_agent(per_seed_path(FLAGS.agent_path, seed, len(seeds)), config, agent_state, n)
        if FLAGS.save_buf:
            buf = jax.tree.map(lambda x: x[i], state.buffer)
            checkpoint.save_buffer(per_seed_path(FLAGS.data_path, seed, len(seeds)), buf)
        print(f"{prefixes[i]}done: {config.algo} on {config.env_name}, seed {seed}, {n} steps in "
              f"{minutes:.1f} min ({n * len(seeds) / max(minutes * 60, 1e-9):.0f} steps/s over all seeds); "
              f"final eval return {history[-1, i]:.1f}, mean of the last 10 evals {history[-10:, i].mean():.1f}"
              f"{f' (diverged at step {diverged[seed]})' if seed in diverged else ''}; "
              f"outputs in {dirs[i]}", flush=True)
    if os.path.exists(ckpt_path):  # finished: the outputs are final and a rerun is refused, not resumed
        os.remove(ckpt_path)
    return {"stopped_by": None, "step": n, "checkpoint": None}


if __name__ == "__main__":
    app.run(main)
