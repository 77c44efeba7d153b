"""Sweep runner: grids of flags -> checked commands -> local pool or Slurm array -> figures."""

from omd.sweep.spec import Job, Sweep, SweepError, load

__all__ = ["Job", "Sweep", "SweepError", "load"]
