"""The soft-Q agents' configuration: one frozen dataclass, fields named after the CLI flags."""

from __future__ import annotations

import dataclasses

from omd.config import check_choice
from omd.guard import check_range

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
        """Raise ``ValueError`` naming the flag and its allowed range for impossible or meaningless settings.

        Every numeric setting must be finite and in range before anything is computed.
        """
        check_choice("agent_type", self.agent_type, AGENT_TYPES)
        at_least = {  # name: smallest allowed value
            "num_train_steps": 1, "hidden_dim": 1, "model_hidden_dim": 1, "batch_size": 1, "eval_frequency": 1,
            "log_frequency": 1, "num_eval_episodes": 1, "num_Q_steps": 1, "num_T_steps": 1, "num_ensemble_vep": 1,
            "cg_maxiter": 1, "init_steps": 0, "dim_distract": 0, "replay_capacity": 0,
        }
        for name, low in at_least.items():
            check_range(f"--{name}", getattr(self, name), low)
        try:
            check_range("--eps", self.eps, 0.0, 1.0)
        except ValueError as err:
            raise ValueError(f"--eps is a probability: {err}") from None
        check_range("--discount", self.discount, 0.0, 1.0)
        check_range("--tau", self.tau, 0.0, 1.0, low_open=True)
        check_range("--alpha", self.alpha, 0.0, low_open=True)  # also with --hard: the entropy_Q metric divides by it
        check_range("--lr", self.lr, 0.0, low_open=True)
        check_range("--inner_lr", self.inner_lr, 0.0, low_open=True)
        check_range("--cg_damping", self.cg_damping, 0.0)
        if self.prob_model and self.agent_type == "vep":
            raise ValueError(
                "--prob_model cannot be combined with --agent_type vep: VEP matches random value functions on "
                "deterministic next-state predictions. Drop --prob_model, or use --agent_type omd or mle."
            )
        if self.init_steps > self.num_train_steps:
            raise ValueError(
                f"--init_steps {self.init_steps} is larger than --num_train_steps {self.num_train_steps}: the run "
                "would end before its first update. Lower --init_steps or raise --num_train_steps."
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
        return self
