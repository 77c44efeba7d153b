"""Train SAC-based agents with OMD, MLE or VEP models (or model-free SAC) on gymnasium MuJoCo.

Examples (from the repository root or from inside ``mujoco/``)::

    python mujoco/train.py                                   # OMD on HalfCheetah-v5
    python mujoco/train.py --config.algo=mle --config.model_hidden_dim=8
    python mujoco/train.py --config.algo=omd --config.implicit=cg --dim_distract=10

Outputs go to ``save_dir`` (``save_dir/exp`` when ``--exp`` is given); the run
checkpoints every ``--checkpoint_interval`` steps and resumes automatically when
started again with the same ``save_dir`` and seed. SIGTERM (Slurm pre-emption),
SIGUSR1 (``sbatch --signal``) or Ctrl-C stops it after the current step with a
checkpoint and exit status 128 + the signal's number.
"""

import os
import signal
import sys

# Running this file puts mujoco/ first on sys.path; it holds no package or module
# named ``mujoco``, so ``import mujoco`` still finds the real bindings.
from absl import app, flags
from ml_collections import config_flags

FLAGS = flags.FLAGS

flags.DEFINE_string("exp", "", "Experiment name: when set, outputs go to save_dir/exp.")
flags.DEFINE_string("env_name", "HalfCheetah-v5", "Gymnasium MuJoCo environment id (v2/v3 ids need mujoco-py: use -v5).")
flags.DEFINE_string("save_dir", "./tmp/", "Directory for logs, evaluation returns, videos and checkpoints.")
flags.DEFINE_integer("seed", 42, "Random seed (network init, exploration, environment).")
flags.DEFINE_integer("eval_episodes", 10, "Number of deterministic episodes per evaluation.")
flags.DEFINE_integer("log_interval", 1000, "Write training metrics every this many environment steps.")
flags.DEFINE_integer("eval_interval", 5000, "Evaluate every this many environment steps.")
flags.DEFINE_integer("dim_distract", 0, "Number of standard-normal distractor dimensions appended to observations.")
flags.DEFINE_integer("batch_size", 256, "Mini-batch size of every update.")
flags.DEFINE_integer("max_steps", int(1e6), "Number of environment steps.")
flags.DEFINE_integer("start_training", int(1e4), "Uniformly random actions and no updates before this step.")
flags.DEFINE_integer("checkpoint_interval", 50_000, "Write a resumable checkpoint every this many environment steps.")
flags.DEFINE_boolean("tqdm", True, "Show a progress bar with steps per second (--notqdm turns it off).")
flags.DEFINE_boolean("no_jit", False, "Run without jax.jit (slow; for debugging).")
flags.DEFINE_boolean("save_video", False, "Write an mp4 of the first episode of each evaluation to save_dir/video/<seed>/.")
config_flags.DEFINE_config_file(
    "config",
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "configs", "omd_default.py"),
    "Agent config file (ml_collections); override keys with --config.<key>=value.",
    lock_config=True,
)


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    import jax

    from omd.config import from_flags
    from omd.sac.config import RunConfig, SACConfig
    from omd.sac.train import train

    config = FLAGS.config
    save_dir = os.path.join(FLAGS.save_dir, FLAGS.exp) if FLAGS.exp else FLAGS.save_dir
    try:
        agent_cfg = from_flags(SACConfig, config, batch_size=FLAGS.batch_size)
        run = from_flags(RunConfig, FLAGS, save_dir=save_dir, replay_buffer_size=config.replay_buffer_size)
        with jax.disable_jit(FLAGS.no_jit):
            summary = train(agent_cfg, run)
    except ValueError as err:
        sys.exit(f"error: {err}")
    if summary["stopped_by"]:
        print(f"Stopped by {summary['stopped_by']} after step {summary['steps']} of {run.max_steps}; checkpoint "
              f"written to {summary['checkpoint']}. Run the same command to resume.", file=sys.stderr, flush=True)
        sys.exit(128 + signal.Signals[summary["stopped_by"]].value)
    print(f"Done: {summary['steps']} steps, {summary['updates']} updates, {summary['evaluations']} evaluations, "
          f"final average evaluation return {summary['final_eval_return']:.2f}.", flush=True)


if __name__ == "__main__":
    app.run(main)
