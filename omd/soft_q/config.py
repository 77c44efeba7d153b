"""The soft-Q agents' configuration: one frozen dataclass.

Field names follow the MuJoCo suite's (``omd/sac/config.py``); the CLI keeps the original
flag names. ``FLAG_NAMES`` maps one to the other: ``cartpole/train.py`` builds the config
through it (``from_flags``), and validation messages name the flag a user types.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

from omd import config as config_lib
from omd.config import check_choice
from omd.guard import check_range

ALGOS = ("omd", "mle", "vep")
IMPLICIT = ("identity", "cg")  # the implicit gradient: the paper's identity approximation, or CG (--with_inv_jac)

# The model's hidden activation by flag value: ReLU is the original's; with Leaky ReLU (slope 0.01) a
# hidden unit inactive on every input still gets a gradient, so a one-unit model cannot die.
MODEL_ACTIVATIONS = ("relu", "leaky_relu")

# Library field -> CLI flag (the original cartpole/train.py names), where they differ.
FLAG_NAMES = {
    "algo": "agent_type",
    "max_steps": "num_train_steps",
    "start_training": "init_steps",
    "eval_interval": "eval_frequency",
    "log_interval": "log_frequency",
    "eval_episodes": "num_eval_episodes",
    "inner_steps": "num_Q_steps",
    "outer_steps": "num_T_steps",
    "model_lr": "lr",
    "critic_lr": "inner_lr",
    "implicit": "with_inv_jac",  # a boolean flag: True is "cg"
}


def flag(field: str) -> str:
    """The CLI flag of a config field, as users type it (``flag("inner_steps") == "--num_Q_steps"``)."""
    return "--" + FLAG_NAMES.get(field, field)


@dataclasses.dataclass(frozen=True)
class SoftQConfig:
    """Everything that changes what is computed. Defaults are the original CartPole defaults."""

    algo: str = "omd"
    env_name: str = "CartPole-v1"
    dim_distract: int = 0
    max_steps: int = 200_000
    hidden_dim: int = 32
    model_hidden_dim: int = 32
    batch_size: int = 256
    start_training: int = 1000
    eval_interval: int = 1000
    log_interval: int = 1000
    eval_episodes: int = 10
    inner_steps: int = 1  # K, value steps per model update
    outer_steps: int = 1  # model updates per environment step
    num_ensemble_vep: int = 5
    eps: float = 0.1
    discount: float = 0.99
    model_lr: float = 1e-3  # model (outer) Adam learning rate
    critic_lr: float = 3e-4  # value (inner) Adam learning rate
    alpha: float = 0.01
    tau: float = 0.01
    hard: bool = False
    no_learn_reward: bool = False
    prob_model: bool = False
    no_warm: bool = False
    warm_opt: bool = False
    no_double: bool = False
    implicit: str = "identity"
    cg_damping: float = 1e-5
    cg_maxiter: int = 100
    replay_capacity: int = 0  # 0: max_steps (the original), so nothing is ever overwritten
    # Two of the original's choices this code does not make by default (docs/cartpole.md, "Differences"):
    without_replacement: bool = False  # the original sampled each batch without replacement
    x64: bool = False  # the original ran with jax_enable_x64: float64 parameters and arithmetic
    # Beyond the paper: candidate stabilisers of OMD, each off by default so that a default run is the
    # original's (docs/results/cartpole.md, "Beyond the paper: why OMD collapses").
    mle_coef: float = 0.0  # OMD: add mle_coef times the MLE loss (next-state MSE + reward MSE) to the outer loss
    clip_model_obs: bool = False  # model next states clipped to the range of the batch's real next states
    model_grad_clip: float = 0.0  # clip the model gradient's global norm to this before Adam (0: off)
    mle_grad_mix: float = 0.0  # OMD: model step on (1 - c) * unit OMD gradient + c * unit MLE gradient (0: off)
    target_match_mix: float = 0.0  # OMD: model step on (1 - c) * unit OMD gradient + c * unit value-target-error gradient
    clip_target: bool = False  # V(s') in every Bellman target clipped to the returns the batch's real rewards allow
    unroll_inner: bool = False  # OMD: the model gradient differentiates the K inner Adam steps themselves
    model_activation: str = "relu"  # the model's hidden activation; leaky_relu: a unit cannot go dead (0 gradient)
    model_residual: bool = False  # the next-state network predicts s' - s (its output is added to s)

    @property
    def capacity(self) -> int:
        return self.replay_capacity or max(self.max_steps, 1)

    @property
    def num_q_heads(self) -> int:
        return 1 if self.no_double else 2

    def validate(self) -> "SoftQConfig":
        """Raise ``ValueError`` naming the flag and its allowed range for impossible or meaningless settings.

        Every numeric setting must be finite and in range before anything is computed.
        """
        self._check_choices()
        self._check_ranges()
        self._check_combinations()
        self._check_budget()
        return self

    def _check_choices(self) -> None:
        """The settings that name one of a few choices: the algorithm, the model's activation, the implicit gradient."""
        check_choice(FLAG_NAMES["algo"], self.algo, ALGOS)
        check_choice("model_activation", self.model_activation, MODEL_ACTIVATIONS)
        if self.implicit not in IMPLICIT:
            raise ValueError(f"implicit={self.implicit!r} is not supported; choose one of {IMPLICIT} "
                             f"({flag('implicit')} selects 'cg').")

    def _check_ranges(self) -> None:
        """Each numeric setting on its own: finite and within its range."""
        at_least = {  # field: smallest allowed value
            "max_steps": 1, "hidden_dim": 1, "model_hidden_dim": 1, "batch_size": 1, "eval_interval": 1,
            "log_interval": 1, "eval_episodes": 1, "inner_steps": 1, "outer_steps": 1, "num_ensemble_vep": 1,
            "cg_maxiter": 1, "start_training": 0, "dim_distract": 0, "replay_capacity": 0,
        }
        for name, low in at_least.items():
            check_range(flag(name), getattr(self, name), low)
        try:
            check_range("--eps", self.eps, 0.0, 1.0)
        except ValueError as err:
            raise ValueError(f"--eps is a probability: {err}") from None
        check_range("--discount", self.discount, 0.0, 1.0)
        check_range("--tau", self.tau, 0.0, 1.0, low_open=True)
        check_range("--alpha", self.alpha, 0.0, low_open=True)  # also with --hard: the entropy_Q metric divides by it
        check_range(flag("model_lr"), self.model_lr, 0.0, low_open=True)
        check_range(flag("critic_lr"), self.critic_lr, 0.0, low_open=True)
        check_range("--cg_damping", self.cg_damping, 0.0)
        check_range("--mle_coef", self.mle_coef, 0.0)
        check_range("--model_grad_clip", self.model_grad_clip, 0.0)
        check_range("--mle_grad_mix", self.mle_grad_mix, 0.0, 1.0)
        check_range("--target_match_mix", self.target_match_mix, 0.0, 1.0)

    def _check_combinations(self) -> None:
        """Options that mean something only with some algorithms: refused with the others rather than ignored."""
        for name, what in (("mle_coef", "adds the MLE loss to OMD's outer loss"),
                           ("mle_grad_mix", "mixes the MLE gradient into OMD's model gradient"),
                           ("target_match_mix", "mixes the value-target error's gradient into OMD's model gradient")):
            if getattr(self, name) and self.algo != "omd":
                raise ValueError(f"--{name} {what}; it has no meaning with {flag('algo')} {self.algo}. "
                                 f"Drop it, or use {flag('algo')} omd.")
        if self.unroll_inner and (self.algo != "omd" or self.implicit != "identity"):
            raise ValueError(f"--unroll_inner replaces OMD's implicit gradient by the inner steps' own derivative; "
                             f"it needs {flag('algo')} omd without {flag('implicit')}.")
        algo = flag("algo")
        if self.prob_model and self.algo == "vep":
            raise ValueError(
                f"--prob_model cannot be combined with {algo} vep: VEP matches random value functions on "
                f"deterministic next-state predictions. Drop --prob_model, or use {algo} omd or mle."
            )

    def _check_budget(self) -> None:
        """The step budget, the batch and the replay buffer against each other: a run that could never update."""
        max_steps, start, batch = flag("max_steps"), flag("start_training"), "--batch_size"
        if self.start_training > self.max_steps:
            raise ValueError(
                f"{start} {self.start_training} is larger than {max_steps} {self.max_steps}: the run "
                f"would end before its first update. Lower {start} or raise {max_steps}."
            )
        if self.batch_size > self.start_training:
            raise ValueError(
                f"{batch} {self.batch_size} is larger than {start} {self.start_training}, the number of "
                f"transitions collected before the first update. Raise {start} to at least {batch} "
                f"or lower {batch}."
            )
        if self.capacity < self.batch_size:
            raise ValueError(
                f"The replay capacity ({self.capacity}) is smaller than {batch} {self.batch_size}; "
                f"raise --replay_capacity (0 means {max_steps}) or lower {batch}."
            )


def to_flags(config: SoftQConfig) -> dict[str, Any]:
    """The config keyed by CLI flag name, with the CLI's values (``--with_inv_jac`` a boolean)."""
    values = {FLAG_NAMES.get(k, k): v for k, v in dataclasses.asdict(config).items()}
    values[FLAG_NAMES["implicit"]] = config.implicit == "cg"
    return values


def from_flags(source: Any) -> SoftQConfig:
    """The config from values keyed by CLI flag name: parsed absl flags, or a dict such as ``to_flags``'s.

    ``omd.config.from_flags``'s contract: a missing flag raises ``KeyError`` naming it.
    """
    config = config_lib.from_flags(SoftQConfig, source, names=FLAG_NAMES)
    return dataclasses.replace(config, implicit="cg" if config.implicit else "identity")
