"""Where an entry script writes, and how its per-seed curves are read: CartPole's ``--out_dir`` holds
``<seed>/eval.csv`` (and ``train.csv``), MuJoCo's ``--save_dir`` holds ``<seed>.txt`` (steps, average
evaluation return). A script is of the layout its output flag names."""

from __future__ import annotations

import dataclasses
import glob
import os

import pandas as pd


@dataclasses.dataclass(frozen=True)
class Suite:
    out_flag: str               # flag the runner sets to the job's output folder
    budget_flag: str | None     # total environment steps (to spot partial runs)
    eval_flag: str | None       # steps between evaluations
    seed_dirs: bool             # out/<seed>/<source>.csv, else out/<seed>.txt

    def run_dir(self, job_dir: str, flags: dict) -> str:
        """Where the script writes for this job: both suites add ``--exp`` as a subfolder."""
        exp = flags.get("exp")
        return os.path.join(job_dir, str(exp)) if exp else job_dir

    def curve(self, job_dir: str, seed: int, source: str = "eval") -> pd.DataFrame | None:
        """One seed's logged rows (``step`` column plus metrics), or None when absent/empty."""
        path = os.path.join(job_dir, f"{seed}/{source}.csv" if self.seed_dirs else f"{seed}.txt")
        if not os.path.isfile(path) or (not self.seed_dirs and source != "eval"):
            return None
        try:
            if self.seed_dirs:
                df = pd.read_csv(path)
            else:  # rows of "timesteps return", space- or comma-separated
                df = pd.read_csv(path, sep=r"[\s,]+", header=None, engine="python",
                                 names=["step", "episode_return"], comment="#")
                df = df.apply(pd.to_numeric, errors="coerce").dropna()
        except (pd.errors.EmptyDataError, pd.errors.ParserError):
            return None
        return None if df.empty or "step" not in df.columns else df

    def seeds_found(self, job_dir: str) -> list[int]:
        if self.seed_dirs:
            names = [os.path.basename(p) for p in glob.glob(os.path.join(job_dir, "*")) if os.path.isdir(p)]
        else:
            names = [os.path.basename(p)[:-4] for p in glob.glob(os.path.join(job_dir, "*.txt"))]
        return sorted(int(n) for n in names if n.lstrip("-").isdigit())


CARTPOLE = Suite("out_dir", "num_train_steps", "eval_frequency", seed_dirs=True)
MUJOCO = Suite("save_dir", "max_steps", "eval_interval", seed_dirs=False)


def for_script(main: str, flag_names=None) -> Suite:
    """MuJoCo's layout for a script with ``--save_dir`` (and no ``--out_dir``), else CartPole's; without
    the script's flags (``--no_validate``), MuJoCo's for a script under ``mujoco/``."""
    names = set(flag_names or ())
    if not names:
        return MUJOCO if "mujoco" in os.path.normpath(main).split(os.sep) else CARTPOLE
    suite = MUJOCO if "save_dir" in names and "out_dir" not in names else CARTPOLE
    return dataclasses.replace(suite, budget_flag=suite.budget_flag if suite.budget_flag in names else None,
                               eval_flag=suite.eval_flag if suite.eval_flag in names else None)
