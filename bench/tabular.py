"""Wall time of each tabular experiment at the original notebook's full size.

    python bench/tabular.py [--seeds 10] [--max-iter 10000]

Prints one line per experiment (seconds, compile included: that is what a notebook
run pays) and the total. The original notebook needed about 2.8 + 5.5 (Figure 1),
2.8 + 5.1 (Figure 3) and 13.6 (sensitivity) minutes of single-seed Python loops.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from omd import tabular
from omd.tabular import experiments


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=experiments.NUM_SEEDS, help="seeds per grid point")
    parser.add_argument("--max-iter", type=int, default=10_000, help="outer iterations at most")
    args = parser.parse_args()
    kappas, stds = experiments.KAPPAS, experiments.STDS
    opts = dict(max_iter=args.max_iter)
    print(f"load average before: {os.getloadavg()}")
    times = {}

    start = time.perf_counter()
    fig1 = {agent: tabular.misspecification(agent, kappas, args.seeds, ("leafwise", "joint"), **opts)
            for agent in ("omd", "mle", "vep")}
    times["1. return vs kappa (omd, mle, vep x leafwise, joint)"] = time.perf_counter() - start

    start = time.perf_counter()
    omd_bellman = tabular.misspecification("omd", kappas, args.seeds, ("leafwise",), objective="bellman", **opts)
    times["3. Q* error and bounds (omd Bellman objective; mle reused)"] = time.perf_counter() - start

    start = time.perf_counter()
    table = tabular.deterministic_model(omd_bellman)
    tabular.error_bounds(omd_bellman, "omd"), tabular.error_bounds(fig1["mle"], "mle")
    times["2. deterministic model table + bounds"] = time.perf_counter() - start

    start = time.perf_counter()
    sens = tabular.sensitivity(stds, args.seeds, ("exact", "identity"), **opts)
    times["4. IFT sensitivity (exact, identity)"] = time.perf_counter() - start

    for name, t in times.items():
        print(f"{name:62s} {t:7.1f} s")
    print(f"{'total':62s} {sum(times.values()):7.1f} s   (original notebook: about 30 minutes)")
    print(f"load average after: {os.getloadavg()}")
    j = fig1["omd"]["return"][0].mean(-1)
    print(f"check: leafwise OMD J at kappa={kappas[6]:.2f}: {j[6]:.3f}; max |Q* - Q_model| of the table "
          f"{np.abs(table.model_q - table.true_q).max():.1e}; sensitivity J at sigma={stds[0]:.0e}: "
          f"{sens['exact']['return'][0].mean():.3f}")


if __name__ == "__main__":
    main()
