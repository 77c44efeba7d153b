"""Environments: JAX classic control (classic.py) and gymnasium MuJoCo (mujoco.py); import the submodule you need."""
