"""Wall and CPU time of each tabular experiment at the original notebook's full size.

    python bench/tabular.py [--seeds 10] [--max-iter 10000]

Runs the same sweeps as ``tabular.ipynb`` and prints one line per experiment (compilation
included: that is what a notebook run pays), the total and the load average, since other
jobs on a shared machine inflate wall time but hardly CPU time. The original notebook
needed about 2.8 + 5.5 (Figure 1), 2.8 + 5.1 (Figure 3) and 13.6 (sensitivity) minutes of
single-seed Python loops.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from omd import tabular
from omd.tabular import experiments


class Clock:
    """Collects (wall, CPU) seconds per named block."""

    def __init__(self):
        self.rows = []

    def __call__(self, name, fn):
        wall, cpu = time.perf_counter(), time.process_time()
        out = fn()
        self.rows.append((name, time.perf_counter() - wall, time.process_time() - cpu))
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=experiments.NUM_SEEDS, help="seeds per grid point")
    parser.add_argument("--max-iter", type=int, default=10_000, help="outer iterations at most")
    args = parser.parse_args()
    kappas, stds, opts = np.asarray(experiments.KAPPAS), experiments.STDS, dict(max_iter=args.max_iter)
    print(f"load average before: {os.getloadavg()}")
    clock = Clock()

    fig1 = clock("1. return vs kappa: omd, mle, vep x leafwise, joint", lambda: {
        agent: tabular.misspecification(agent, kappas, args.seeds, ("leafwise", "joint"), **opts)
        for agent in ("omd", "mle", "vep")})
    bellman = clock("2+3. omd, Bellman objective, kappas + inf (leafwise)", lambda: tabular.misspecification(
        "omd", np.append(kappas, np.inf), args.seeds, ("leafwise",), objective="bellman", **opts))
    table = clock("2+3. model table and error bounds", lambda: (
        tabular.deterministic_model({k: v[:, -1] for k, v in bellman.items()}),
        tabular.error_bounds({k: v[0, :-1] for k, v in bellman.items()}, "omd"),
        tabular.error_bounds({k: v[0] for k, v in fig1["mle"].items()}, "mle"))[0])
    sens = clock("4. IFT sensitivity: exact, identity",
                 lambda: tabular.sensitivity(stds, args.seeds, ("exact", "identity"), **opts))

    print(f"{'experiment':55s} {'wall s':>8s} {'CPU s':>8s}")
    for name, wall, cpu in clock.rows:
        print(f"{name:55s} {wall:8.1f} {cpu:8.1f}")
    print(f"{'total (original notebook: about 30 minutes)':55s} {sum(r[1] for r in clock.rows):8.1f} "
          f"{sum(r[2] for r in clock.rows):8.1f}")
    print(f"load average after: {os.getloadavg()}")
    j = fig1["omd"]["return"][0].mean(-1)
    print(f"check: leafwise OMD J at kappa={kappas[6]:.2f}: {j[6]:.3f} (published 1.00); "
          f"max |Q* - Q*_model| of the table: {np.abs(table.model_q - table.true_q).max():.1e}; "
          f"sensitivity J at sigma={stds[0]:.0e}: {sens['exact']['return'][0].mean():.3f}")


if __name__ == "__main__":
    main()
