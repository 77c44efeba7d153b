"""What the runner knows about each entry script: its output flag, whether it resumes, where
its per-seed evaluation curves live. Unknown scripts work if they have --out_dir or --save_dir."""

from __future__ import annotations

import dataclasses
import glob
import os

import pandas as pd


@dataclasses.dataclass(frozen=True)
class Suite:
    out_flag: str               # flag the runner sets to the job's output folder
    resumable: bool             # re-running in the same folder continues from a checkpoint
    budget_flag: str | None     # total environment steps (to spot partial runs)
    eval_flag: str | None       # steps between evaluations
    layout: str                 # "seed_dirs": out/<seed>/eval.csv; "seed_txt": out/<seed>.txt

    def run_dir(self, job_dir: str, flags: dict) -> str:
        """Where the script writes for this job: both suites add ``--exp`` as a subfolder."""
        exp = flags.get("exp")
        return os.path.join(job_dir, str(exp)) if exp else job_dir

    def curve(self, job_dir: str, seed: int, source: str = "eval") -> pd.DataFrame | None:
        """One seed's logged rows (``step`` column plus metrics), or None when absent/empty."""
        if self.layout == "seed_dirs":
            path = os.path.join(job_dir, str(seed), f"{source}.csv")
            if not os.path.isfile(path):
                return None
            try:
                df = pd.read_csv(path)
            except (pd.errors.EmptyDataError, pd.errors.ParserError):
                return None
        else:  # save_dir/<seed>.txt rows: timesteps, average evaluation return
            path = os.path.join(job_dir, f"{seed}.txt")
            if source != "eval" or not os.path.isfile(path):
                return None
            try:
                df = pd.read_csv(path, sep=r"[\s,]+", header=None, engine="python",
                                 names=["step", "episode_return"], comment="#")
            except (pd.errors.EmptyDataError, pd.errors.ParserError):
                return None
            df = df.apply(pd.to_numeric, errors="coerce").dropna()
        if df.empty or "step" not in df.columns:
            return None
        return df

    def seeds_found(self, job_dir: str) -> list[int]:
        if self.layout == "seed_dirs":
            names = [os.path.basename(p) for p in glob.glob(os.path.join(job_dir, "*"))
                     if os.path.isdir(p)]
        else:
            names = [os.path.basename(p)[:-4] for p in glob.glob(os.path.join(job_dir, "*.txt"))]
        return sorted(int(n) for n in names if n.lstrip("-").isdigit())


CARTPOLE = Suite("out_dir", False, "num_train_steps", "eval_frequency", "seed_dirs")
MUJOCO = Suite("save_dir", True, "max_steps", "eval_interval", "seed_txt")

_KNOWN = {"cartpole/train.py": CARTPOLE, "mujoco/train.py": MUJOCO}


def for_script(main: str, flag_names=None) -> Suite:
    """The suite of an entry script: by its path, else by which output flag it defines."""
    norm = os.path.normpath(main).replace(os.sep, "/")
    for key, suite in _KNOWN.items():
        if norm.endswith(key):
            return suite
    names = set(flag_names or ())
    base = MUJOCO if "save_dir" in names and "out_dir" not in names else CARTPOLE
    return dataclasses.replace(
        base,
        resumable=False,
        budget_flag=base.budget_flag if base.budget_flag in names else None,
        eval_flag=base.eval_flag if base.eval_flag in names else None)
