"""Typed configs of the MuJoCo suite: the agent (``SACConfig``) and the run (``RunConfig``)."""

from __future__ import annotations

import dataclasses
from typing import Optional

from omd.config import check_choice

ALGOS = ("omd", "mle", "vep", "sac")
IMPLICIT = ("identity", "cg")


@dataclasses.dataclass(frozen=True)
class SACConfig:
    """Agent hyper-parameters; field names are the original ``configs/omd_default.py`` keys."""

    algo: str = "omd"
    implicit: str = "identity"
    model_lr: float = 3e-4
    actor_lr: float = 3e-4
    critic_lr: float = 3e-4
    temp_lr: float = 3e-4
    hidden_dims: tuple[int, ...] = (256, 256)
    model_hidden_dim: int = 64
    discount: float = 0.99
    outer_steps: int = 1
    inner_steps: int = 1
    tau: float = 0.005
    target_update_period: int = 1
    init_temperature: float = 1.0
    target_entropy: Optional[float] = None  # None -> -action_dim / 2
    num_ensemble_vep: int = 5
    cg_damping: float = 1e-5
    cg_maxiter: int = 100
    batch_size: int = 256

    def __post_init__(self):
        check_choice("config.algo", self.algo, ALGOS)
        check_choice("config.implicit", self.implicit, IMPLICIT)
        object.__setattr__(self, "hidden_dims", tuple(int(h) for h in self.hidden_dims))
        for name in ("outer_steps", "inner_steps", "target_update_period", "model_hidden_dim", "batch_size",
                     "num_ensemble_vep"):
            if getattr(self, name) < 1:
                raise ValueError(f"config.{name} must be >= 1, got {getattr(self, name)}.")
        if self.init_temperature <= 0:
            raise ValueError(f"config.init_temperature must be > 0, got {self.init_temperature}.")

    def entropy_target(self, action_dim: int) -> float:
        return -action_dim / 2 if self.target_entropy is None else float(self.target_entropy)


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """The training loop's settings (the original absl flags plus resume)."""

    env_name: str = "HalfCheetah-v5"
    save_dir: str = "./tmp/"
    seed: int = 42
    eval_episodes: int = 10
    log_interval: int = 1000
    eval_interval: int = 5000
    dim_distract: int = 0
    max_steps: int = 1_000_000
    start_training: int = 10_000
    replay_buffer_size: Optional[int] = None  # None -> max_steps
    checkpoint_interval: int = 50_000
    tqdm: bool = True
    save_video: bool = False

    def __post_init__(self):
        for name in ("log_interval", "eval_interval", "checkpoint_interval", "max_steps", "eval_episodes"):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name} must be >= 1, got {getattr(self, name)}.")
        if self.replay_buffer_size is not None and self.replay_buffer_size < 1:
            raise ValueError(f"config.replay_buffer_size must be >= 1 or None, got {self.replay_buffer_size}.")

    @property
    def capacity(self) -> int:
        return int(self.replay_buffer_size or self.max_steps)


def check(agent: SACConfig, run: RunConfig) -> None:
    """Cross-checks that need both configs; messages name the fix."""
    if run.start_training < agent.batch_size:
        raise ValueError(
            f"--start_training={run.start_training} is smaller than --batch_size={agent.batch_size}: the first "
            f"update would sample a batch from fewer stored transitions. Raise --start_training to at least "
            f"{agent.batch_size} or lower --batch_size."
        )
