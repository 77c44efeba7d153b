"""Train soft-Q agents with OMD, MLE or VEP models on CartPole (or another classic-control task).

  python train.py --agent_type omd            # from inside cartpole/
  python cartpole/train.py --agent_type mle --num_seeds 10

Outputs (out_dir/[exp/]<seed>/train.csv, eval.csv, tb/), checkpoints, resume and signals (exit status
128 + the signal's number): ``omd.soft_q.outputs``; the algorithm: ``omd.soft_q.training.make_loop``.
Errors are one line: exit status 2 for flags, 1 for output folders, failed writes and a diverged run.
"""

from __future__ import annotations

import contextlib

from omd import devices

# Before JAX starts: one XLA CPU device per core, so that --num_seeds shards run side by side.
devices.split_host_into_cores()

import jax  # noqa: E402
from absl import flags  # noqa: E402

from omd import cli, guard  # noqa: E402
from omd.config import from_flags as outputs_from_flags  # noqa: E402
from omd.outputs import WriteFailed  # noqa: E402
from omd.soft_q import SoftQConfig, make_loop  # noqa: E402
from omd.soft_q.config import MODEL_ACTIVATIONS, from_flags  # noqa: E402
from omd.soft_q.outputs import OutputConfig, UserError, eval_only, train_and_save  # noqa: E402

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
flags.DEFINE_enum("model_activation", "relu", list(MODEL_ACTIVATIONS), "Hidden activation of the model's networks: relu (the original's) or leaky_relu (slope 0.01: a unit inactive on every input still learns).")
flags.DEFINE_boolean("model_residual", False, "The model's next-state network predicts the change s' - s, added to s (the original predicts s' itself): a one-unit model can then stay near s' = s.")
flags.DEFINE_float("model_grad_clip", 0.0, "Clip the model gradient's global norm to this before its Adam step (0: off).")
flags.DEFINE_boolean("tensorboard", True, "Write TensorBoard events to out_dir/<seed>/tb.")
flags.DEFINE_boolean("overwrite", False, "Start again where out_dir/<seed> holds outputs (finished, or another run's): move them to out_dir/<seed>.old-<n> instead of refusing to start.")
flags.DEFINE_boolean("tqdm", True, "Show a progress bar.")
flags.DEFINE_boolean("eval_only", False, "Load the agent from --agent_path, evaluate it for --num_eval_episodes episodes and exit.")
flags.DEFINE_integer("checkpoint_interval", 50_000, "Write a resumable checkpoint of all seeds to out_dir/[exp/]<first seed>/checkpoint.msgpack at the first log or eval boundary on or after every multiple of this many steps (and at SIGTERM, SIGUSR1 or Ctrl-C); the same command resumes from it.")

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
        try:
            config = config_from_flags(FLAGS)
            if FLAGS.eval_only:
                return print(eval_only(FLAGS.agent_path, config.eval_episodes, FLAGS.seed))
            loop = make_loop(config)
        except ValueError as err:
            cli.fail(str(err), cli.HELP_HINT, cli.REFUSED)
        try:
            summary = train_and_save(loop, outputs_from_flags(OutputConfig, FLAGS))
        except (UserError, guard.NonFiniteError, WriteFailed) as err:
            cli.fail(str(err))
    cli.exit_if_stopped(summary, summary["step"], config.max_steps)


if __name__ == "__main__":
    cli.run(main, FLAGS)
