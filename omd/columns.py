"""One metric vocabulary for both deep suites, and the names runs written before it used.

CartPole (``cartpole/train.py``) and MuJoCo (``mujoco/train.py``) write one name per concept
(docs/cartpole.md, "Outputs: one vocabulary"). ``results/`` holds runs written before that vocabulary, so every reader of
these columns looks them up through ``find``: the canonical name when a file has it, else the
first legacy name it has.

``loss_T`` was CartPole's one name for the model's loss of every agent: OMD's outer loss, MLE's
and VEP's model-fit loss. It is a legacy name of both, so a legacy file answers for either; which
one it holds is the agent's (a job's ``agent_type``).
"""

from __future__ import annotations

from typing import Iterable

import pandas as pd

# canonical name -> names runs before the shared vocabulary wrote, in the order they are tried
ALIASES: dict[str, tuple[str, ...]] = {
    "episode_return": ("return",),  # MuJoCo eval.csv, eval/return
    "steps_per_second": ("steps_per_sec",),  # MuJoCo train.csv, train/steps_per_sec
    "outer_loss": ("outer_critic_loss", "loss_T"),  # OMD's outer loss: MuJoCo, CartPole
    "model_loss": ("loss_T",),  # MLE/VEP's model-fit loss: CartPole (MuJoCo's was model_loss already)
}


def find(columns: Iterable[str], wanted: str) -> str | None:
    """The column of ``columns`` (a header, or a DataFrame's columns) that holds ``wanted``: ``wanted``
    itself, else its first legacy name present; ``None`` when neither is there."""
    present = set(columns)
    return next((name for name in (wanted, *ALIASES.get(wanted, ())) if name in present), None)


def with_canonical(df: pd.DataFrame, wanted: Iterable[str]) -> pd.DataFrame:
    """``df`` with each of ``wanted`` that only a legacy column holds added under its canonical name
    (a copy; ``df`` itself when nothing is added), so readers index one name whatever wrote the file."""
    added = {name: df[column] for name in wanted
             if name not in df.columns and (column := find(df.columns, name)) is not None}
    return df.assign(**added) if added else df
