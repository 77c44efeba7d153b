"""The soft-Q agents' configuration: one frozen dataclass, fields named after the CLI flags."""

from __future__ import annotations

import dataclasses

from omd.config import check_choice

AGENT_TYPES = ("omd", "mle", "vep")


@dataclasses.dataclass(frozen=True)
class SoftQConfig:
    """Everything that changes what is computed. Defaults are the original CartPole defaults."""

    agent_type: str = "omd"
    env_name: str = "CartPole-v1"
    dim_distract: int = 0
    num_train_steps: int = 200_000
    hidden_dim: int = 32
    model_hidden_dim: int = 32
    batch_size: int = 256
    init_steps: int = 1000
    eval_frequency: int = 1000
    log_frequency: int = 1000
    num_eval_episodes: int = 10
    num_Q_steps: int = 1  # K, inner value steps per model update
    num_T_steps: int = 1  # model updates per environment step
    num_ensemble_vep: int = 5
    eps: float = 0.1
    discount: float = 0.99
    lr: float = 1e-3  # model (outer) Adam learning rate
    inner_lr: float = 3e-4  # value (inner) Adam learning rate
    alpha: float = 0.01
    tau: float = 0.01
    hard: bool = False
    no_learn_reward: bool = False
    prob_model: bool = False
    no_warm: bool = False
    warm_opt: bool = False
    no_double: bool = False
    with_inv_jac: bool = False
    cg_damping: float = 1e-5
    cg_maxiter: int = 100
    replay_capacity: int = 0  # 0: num_train_steps (the original), so nothing is ever overwritten

    @property
    def capacity(self) -> int:
        return self.replay_capacity or max(self.num_train_steps, 1)

    @property
    def num_q_heads(self) -> int:
        return 1 if self.no_double else 2

    @property
    def implicit_method(self) -> str:
        return "cg" if self.with_inv_jac else "identity"

    def validate(self) -> "SoftQConfig":
        """Raise ``ValueError`` naming the fix for impossible or meaningless settings."""
        check_choice("agent_type", self.agent_type, AGENT_TYPES)
        positive = {
            "hidden_dim": self.hidden_dim,
            "model_hidden_dim": self.model_hidden_dim,
            "batch_size": self.batch_size,
            "eval_frequency": self.eval_frequency,
            "log_frequency": self.log_frequency,
            "num_eval_episodes": self.num_eval_episodes,
            "num_Q_steps": self.num_Q_steps,
            "num_T_steps": self.num_T_steps,
            "num_ensemble_vep": self.num_ensemble_vep,
            "cg_maxiter": self.cg_maxiter,
        }
        for name, value in positive.items():
            if value < 1:
                raise ValueError(f"--{name} must be at least 1, got {value}.")
        for name in ("num_train_steps", "init_steps", "dim_distract", "replay_capacity"):
            if getattr(self, name) < 0:
                raise ValueError(f"--{name} must be >= 0, got {getattr(self, name)}.")
        if self.prob_model and self.agent_type == "vep":
            raise ValueError(
                "--prob_model cannot be combined with --agent_type vep: VEP matches random value functions on "
                "deterministic next-state predictions. Drop --prob_model, or use --agent_type omd or mle."
            )
        if self.batch_size > self.init_steps:
            raise ValueError(
                f"--batch_size {self.batch_size} is larger than --init_steps {self.init_steps}, the number of "
                "transitions collected before the first update. Raise --init_steps to at least --batch_size "
                "or lower --batch_size."
            )
        if self.capacity < self.batch_size:
            raise ValueError(
                f"The replay capacity ({self.capacity}) is smaller than --batch_size {self.batch_size}; "
                "raise --replay_capacity (0 means --num_train_steps) or lower --batch_size."
            )
        if not 0.0 <= self.eps <= 1.0:
            raise ValueError(f"--eps is a probability and must lie in [0, 1], got {self.eps}.")
        if not 0.0 <= self.discount <= 1.0:
            raise ValueError(f"--discount must lie in [0, 1], got {self.discount}.")
        if not 0.0 < self.tau <= 1.0:
            raise ValueError(f"--tau must lie in (0, 1], got {self.tau}.")
        if self.alpha <= 0.0 and not self.hard:
            raise ValueError(f"--alpha must be positive for soft Q-learning, got {self.alpha}; or pass --hard.")
        if self.lr <= 0.0 or self.inner_lr <= 0.0:
            raise ValueError(f"--lr and --inner_lr must be positive, got {self.lr} and {self.inner_lr}.")
        if self.cg_damping < 0.0:
            raise ValueError(f"--cg_damping must be >= 0, got {self.cg_damping}.")
        return self
