"""Stable-Baselines-JAX (SBX) SAC on the same machine: the reference for this project's SAC speed.

The MuJoCo suite's SAC target is a ratio to SBX's SAC (1.5 times), and on a shared VM a
figure from another day is a poor reference, so this times SBX's ``SAC.learn`` with the same
shapes as ``bench/mujoco.py --algos sac`` (HalfCheetah-v5, two 256-wide hidden layers, batch
256, 1M-transition replay, one gradient step per environment step, environment steps
included), as the median of 100-step windows, then the update alone (``SAC.train``, one
gradient step: host replay sampling, copy and the compiled update).

SBX pulls in PyTorch (through Stable-Baselines3), so it is not among this project's
requirements; install it into an environment of its own::

    python3.11 -m venv .venv-sbx && . .venv-sbx/bin/activate && \\
        pip install sbx-rl==0.28.0 "jax==0.10.2" "gymnasium[mujoco]==1.3.0"
    python bench/sbx_sac.py

Alternate it with ``python bench/mujoco.py --algos sac`` a few times (the README gives the
loop) so that both see the same spells of the machine.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

# Like bench/mujoco.py: keep this folder off sys.path so `import mujoco` finds the real bindings.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]

import numpy as np  # noqa: E402

WINDOW = 100  # environment steps per timed window, as in bench/mujoco.py

try:
    import gymnasium as gym
    import jax
    import sbx
    from stable_baselines3.common.callbacks import BaseCallback
except ImportError as err:
    sys.exit(f"bench/sbx_sac.py needs SBX ({err}); install it into an environment of its own: "
             'pip install sbx-rl==0.28.0 "jax==0.10.2" "gymnasium[mujoco]==1.3.0" (it pulls in PyTorch)')


class _WindowClock(BaseCallback):
    """Records the time at every ``WINDOW``-th environment step."""

    def __init__(self):
        super().__init__()
        self.times: list[float] = []

    def _on_step(self) -> bool:
        if self.num_timesteps % WINDOW == 0:
            self.times.append(time.perf_counter())
        return True


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="HalfCheetah-v5", help="gymnasium MuJoCo id")
    parser.add_argument("--steps", type=int, default=1000, help=f"timed environment steps, in windows of {WINDOW}")
    parser.add_argument("--updates", type=int, default=300, help="timed SAC.train calls (one gradient step each)")
    args = parser.parse_args()
    if args.steps < 2 * WINDOW:
        parser.error(f"--steps must be at least {2 * WINDOW} (two windows)")

    env = gym.make(args.env)
    model = sbx.SAC("MlpPolicy", env, buffer_size=1_000_000, batch_size=256, learning_starts=1000, seed=0)
    model.learn(1500)  # 1,000 random steps, then 500 learning ones: compiles and warms up
    clock = _WindowClock()
    model.learn(args.steps, callback=clock, reset_num_timesteps=False)
    rates = WINDOW / np.diff(clock.times)

    durations = []
    for _ in range(args.updates):
        start = time.perf_counter()
        model.train(gradient_steps=1, batch_size=256)
        jax.block_until_ready(model.policy.actor_state.params)
        durations.append(time.perf_counter() - start)

    print(f"sbx {sbx.__version__}, jax {jax.__version__} on {jax.devices()[0].platform}, {args.env}")
    print(f"SAC updates/s (environment included): {np.median(rates):.1f} "
          f"(windows {rates.min():.1f}-{rates.max():.1f})")
    print(f"one update alone (SAC.train): {np.median(durations) * 1e3:.2f} ms")


if __name__ == "__main__":
    main()
