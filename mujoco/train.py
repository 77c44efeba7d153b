"""Train SAC-based agents with OMD, MLE or VEP models (or model-free SAC) on gymnasium MuJoCo.

Examples (from the repository root or from inside ``mujoco/``)::

    python mujoco/train.py                                   # OMD on HalfCheetah-v5
    python mujoco/train.py --config.algo=mle --config.model_hidden_dim=8
    python mujoco/train.py --config.algo=omd --config.implicit=cg --dim_distract=10

Outputs go to ``save_dir`` (``save_dir/exp`` when ``--exp`` is given); the run
checkpoints every ``--checkpoint_interval`` steps and resumes automatically when
started again with the same ``save_dir`` and seed. SIGTERM (Slurm pre-emption),
SIGUSR1 (``sbatch --signal``) or Ctrl-C stops it after the current step with a
checkpoint and exit status 128 + the signal's number. Outputs of a seed that
cannot be resumed (no checkpoint, or one written with other settings) are never
replaced: the run is refused unless ``--overwrite`` moves them to
``save_dir/<seed>.old-<n>/`` first. A run whose losses turn NaN or infinite stops
at the next log boundary with exit status 1, keeping its last good checkpoint; so does
a run whose output write fails (disk full, folder removed), in one line naming the file.
Exit statuses, as ``cartpole/train.py``'s: 2 for a setting refused before any compute, 1 for an
output folder, a failed write or a diverged run.
"""

import difflib
import os
import runpy
import sys

# Running this file puts mujoco/ first on sys.path; it holds no package or module
# named ``mujoco``, so ``import mujoco`` still finds the real bindings.
from absl import flags
from ml_collections import config_flags

from omd import cli

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
flags.DEFINE_boolean(
    "overwrite", False,
    "Start this seed from step 0 even when save_dir holds its outputs: they (checkpoint included) are first moved "
    "to save_dir/<seed>.old-<n>/, never deleted. Without it the run resumes from a checkpoint written with the same "
    "settings, and is refused when the outputs cannot be resumed.")
DEFAULT_CONFIG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "configs", "omd_default.py")


def _unknown_config_key(argv) -> str:
    """One line naming the first ``--config.<key>`` override the config file lacks, with the closest keys."""
    path = next((a.split("=", 1)[1] for a in argv if a.startswith("--config=")), DEFAULT_CONFIG)
    try:
        config = runpy.run_path(path.split(":")[0])["get_config"]()
    except Exception:  # the config file itself is broken: absl's own message says more
        return ""
    for arg in argv:
        missing = arg.startswith("--config.") and cli.missing_key(config, arg[len("--config."):].split("=", 1)[0])
        if missing:
            parts, keys = missing
            close = difflib.get_close_matches(parts[-1], keys, n=3, cutoff=0.5)
            hint = f"closest: {', '.join(close)}" if close else f"valid keys: {', '.join(sorted(keys))}"
            known = ".".join(parts[:-1])
            return (f"error: --config.{'.'.join(parts)} is not a key of the config "
                    f"{'(' + known + ') ' if known else ''}in {path}; {hint}.")
    return ""


try:
    config_flags.DEFINE_config_file(
        "config", DEFAULT_CONFIG, "Agent config file (ml_collections); override keys with --config.<key>=value.",
        lock_config=True,
    )
except (AttributeError, KeyError) as err:  # ml_collections reads --config.<key> overrides here, at definition
    print(_unknown_config_key(sys.argv) or f"error: bad --config override: {str(err).splitlines()[0]}", file=sys.stderr)
    sys.exit(cli.REFUSED)


def main(argv):
    import jax

    from omd.config import from_flags
    from omd.guard import NonFiniteError
    from omd.outputs import UserError, WriteFailed
    from omd.sac.config import RunConfig, SACConfig
    from omd.sac.outputs import train_and_save

    config = FLAGS.config
    save_dir = os.path.join(FLAGS.save_dir, FLAGS.exp) if FLAGS.exp else FLAGS.save_dir
    try:
        agent_cfg = from_flags(SACConfig, config, batch_size=FLAGS.batch_size)
        run = from_flags(RunConfig, FLAGS, save_dir=save_dir, replay_buffer_size=config.replay_buffer_size)
        with jax.disable_jit(FLAGS.no_jit):
            summary = train_and_save(agent_cfg, run)
    except ValueError as err:  # a setting the run refuses before any compute
        cli.fail(str(err), code=cli.REFUSED)
    except (UserError, NonFiniteError, WriteFailed) as err:  # its output folder, its writes, a diverged run
        cli.fail(str(err))
    cli.exit_if_stopped(summary, summary["steps"], run.max_steps)
    print(f"Done: {summary['steps']} steps, {summary['updates']} updates, {summary['evaluations']} evaluations, "
          f"final average evaluation return {summary['final_eval_return']:.2f}.", flush=True)


if __name__ == "__main__":
    cli.run(main, FLAGS)
