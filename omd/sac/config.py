"""Typed configs of the MuJoCo suite: the agent (``SACConfig``) and the run (``RunConfig``)."""

from __future__ import annotations

import dataclasses
from typing import Optional

from omd.config import check_choice
from omd.guard import check_range

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
        # Every number is checked here, before any compute; messages name the flag and the allowed range.
        for name in ("model_lr", "actor_lr", "critic_lr", "temp_lr", "init_temperature"):
            check_range(f"--config.{name}", getattr(self, name), 0, None, low_open=True)
        for name in ("outer_steps", "inner_steps", "target_update_period", "model_hidden_dim", "num_ensemble_vep",
                     "cg_maxiter"):
            check_range(f"--config.{name}", getattr(self, name), 1)
        if not all(h >= 1 for h in self.hidden_dims):
            raise ValueError(f"--config.hidden_dims={self.hidden_dims} is out of range; every layer width must be "
                             "a whole number in [1, inf).")
        check_range("--config.discount", self.discount, 0, 1)
        check_range("--config.tau", self.tau, 0, 1, low_open=True)
        check_range("--config.cg_damping", self.cg_damping, 0)
        if self.target_entropy is not None:
            check_range("--config.target_entropy", self.target_entropy)
        check_range("--batch_size", self.batch_size, 1)

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
    overwrite: bool = False  # move this seed's outputs aside and start from step 0 instead of resuming or refusing

    def __post_init__(self):
        for name in ("log_interval", "eval_interval", "checkpoint_interval", "max_steps", "eval_episodes"):
            check_range(f"--{name}", getattr(self, name), 1)
        for name in ("seed", "dim_distract", "start_training"):
            check_range(f"--{name}", getattr(self, name), 0)
        if self.replay_buffer_size is not None:
            check_range("--config.replay_buffer_size", self.replay_buffer_size, 1)

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
    if run.replay_buffer_size is not None and run.replay_buffer_size < agent.batch_size:
        raise ValueError(
            f"--config.replay_buffer_size={run.replay_buffer_size} is smaller than --batch_size={agent.batch_size}; "
            f"it must be >= {agent.batch_size} (every batch is sampled from the stored transitions)."
        )
