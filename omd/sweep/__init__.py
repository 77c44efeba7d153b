"""Sweep runner: grids of flags -> checked commands -> local pool or Slurm array -> figures."""
