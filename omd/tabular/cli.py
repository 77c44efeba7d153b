"""``python -m omd.tabular misspec|sensitivity``: run a sweep, print a table, write JSON.

JSON layout: ``{"<agent or method>": {"<kappa or sigma as given>": [J for each seed]}}``
with seeds 1..N in order.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

from omd.guard import check_range
from omd.tabular import agents as agents_lib
from omd.tabular import experiments
from omd.tabular import mdp as mdp_lib
from omd.tabular import model as model_lib


def _floats(flag: str, allow_inf: bool = False):
    def parse(text: str) -> list[tuple[str, float]]:
        items = [t.strip() for t in text.split(",") if t.strip()]
        try:
            values = [(t, float(t)) for t in items]
        except ValueError:
            raise argparse.ArgumentTypeError(f"{flag} takes comma-separated numbers, got {text!r}") from None
        if not values:
            raise argparse.ArgumentTypeError(f"{flag} needs at least one number")
        bad = [t for t, v in values if not v >= 0 or (v == np.inf and not allow_inf)]
        if bad:
            allowed = ">= 0 (inf = no bound)" if allow_inf else "finite and >= 0"
            raise argparse.ArgumentTypeError(f"{flag} values must be {allowed}, got {', '.join(bad)}")
        return values
    return parse


def _names(flag: str, allowed):
    def parse(text: str) -> list[str]:
        names = [t.strip() for t in text.split(",") if t.strip()]
        bad = [n for n in names if n not in allowed]
        if bad or not names:
            raise argparse.ArgumentTypeError(
                f"{flag}: unknown {', '.join(bad) or 'empty list'}; allowed: {', '.join(allowed)}")
        return names
    return parse


def _positive_int(flag: str):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{flag} takes a whole number, got {text!r}") from None
        if value < 1:
            raise argparse.ArgumentTypeError(f"{flag} must be at least 1, got {value}")
        return value
    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m omd.tabular",
        description="Tabular OMD sweeps: run one, print a mean ± s.e. table and write JSON "
                    '{"<agent or method>": {"<kappa or sigma as given>": [J for seeds 1..N]}}.')
    sub = parser.add_subparsers(dest="command", required=True)

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--seeds", type=_positive_int("--seeds"), default=experiments.NUM_SEEDS,
                        help="number of seeds, run as seeds 1..N (default %(default)s)")
    common.add_argument("--max-iter", type=_positive_int("--max-iter"), default=10_000,
                        help="outer projected-Adam iterations at most (default %(default)s)")
    common.add_argument("--tol", type=float, default=1e-10,
                        help="convergence test: stop when model and Q change by less than tol (abs + rel)")
    common.add_argument("--out", default=None, help="write the JSON results to this path (checked before computing)")
    common.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    common.add_argument("--no-progress", action="store_true", help="hide the progress bars")

    m = sub.add_parser("misspec", parents=[common], help="expected return vs norm bound kappa (Figure 1)")
    m.add_argument("--agents", type=_names("--agents", agents_lib.AGENTS), default=list(agents_lib.AGENTS),
                   help=f"comma-separated agents from {', '.join(agents_lib.AGENTS)} (default all)")
    m.add_argument("--norm-bounds", type=_floats("--norm-bounds", allow_inf=True),
                   default=[(f"{k:g}", k) for k in experiments.KAPPAS],
                   help="comma-separated norm bounds kappa >= 0, inf = unbounded (default linspace(0, 6, 20))")
    m.add_argument("--projection", type=_names("--projection", model_lib.PROJECTIONS[:2]),
                   default=[model_lib.DEFAULT_PROJECTION],
                   help="norm ball: leafwise (per-leaf, reproduces the published figure; default) or joint "
                        "(one ball over (logits/alpha, rewards), the paper's text)")
    m.add_argument("--objective", choices=agents_lib.OBJECTIVES, default="return",
                   help="OMD outer objective: expected return J or true Bellman error (default %(default)s)")
    m.add_argument("--method", choices=agents_lib.IMPLICIT_METHODS, default=agents_lib.DEFAULT_METHOD,
                   help="OMD implicit gradient: exact solve (dense, gmres, bicgstab) or identity approximation")

    s = sub.add_parser("sensitivity", parents=[common], help="expected return vs noise on the inner solution")
    s.add_argument("--methods", type=_names("--methods", sorted(experiments.SENSITIVITY_METHODS)),
                   default=["exact", "identity"],
                   help="comma-separated implicit methods; exact = dense inverse Jacobian (default exact,identity)")
    s.add_argument("--stds", type=_floats("--stds"), default=[(f"{v:g}", v) for v in experiments.STDS],
                   help="comma-separated noise stds sigma >= 0 (default logspace(-3, 0.5, 30))")
    return parser


def _table(results: dict, label: str) -> str:
    keys = list(next(iter(results.values())))
    width = max(12, *(len(k) for k in results))
    lines = [f"{label:>10} " + " ".join(f"{name:>{width}}" for name in results)]
    for key in keys:
        cells = []
        for name in results:
            js = np.asarray(results[name][key])
            cells.append(f"{js.mean():+.3f}±{js.std() / np.sqrt(js.size):.3f}".rjust(width))
        lines.append(f"{key:>10} " + " ".join(cells))
    return "\n".join(lines)


def _out_problem(path: str, overwrite: bool) -> str | None:
    """Why the results could not be written to ``path``, or ``None``."""
    if os.path.isdir(path):
        return f"--out {path} is a directory; give a file path"
    if os.path.exists(path) and not overwrite:
        return f"--out {path} exists; pass --overwrite to replace it, or give another path"
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        return f"--out {path}: folder {folder} does not exist"
    if not os.access(folder, os.W_OK) or (os.path.exists(path) and not os.access(path, os.W_OK)):
        return f"--out {path} is not writable"
    return None


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        check_range("--tol", args.tol, 0, None, low_open=True)
    except ValueError as err:
        parser.error(str(err))
    if args.out:  # checked before the sweep, so a bad path costs no computation
        problem = _out_problem(args.out, args.overwrite)
        if problem:
            parser.error(problem)
    progress = not args.no_progress
    common = dict(max_iter=args.max_iter, tol=args.tol, progress=progress)
    results: dict = {}
    if args.command == "misspec":
        labels, kappas = zip(*args.norm_bounds)
        projection = args.projection[0]
        if len(args.projection) > 1:
            parser.error("--projection takes one of: leafwise, joint")
        for agent in args.agents:
            out = experiments.misspecification(agent, kappas, args.seeds, (projection,), args.objective,
                                               args.method, **common)
            results[agent] = {lab: out["return"][0, i].tolist() for i, lab in enumerate(labels)}
        print(f"Expected return (mean ± s.e. over {args.seeds} seeds), projection {projection}, "
              f"optimum {mdp_lib.J_STAR_REFERENCE}")
        print(_table(results, "kappa"))
    else:
        labels, stds = zip(*args.stds)
        out = experiments.sensitivity(stds, args.seeds, args.methods, **common)
        results = {m: {lab: out[m]["return"][i].tolist() for i, lab in enumerate(labels)} for m in args.methods}
        print(f"Expected return (mean ± s.e. over {args.seeds} seeds) with noise on the inner solution")
        print(_table(results, "sigma"))
    if args.out:
        with open(args.out, "w") as f:
            json.dump(results, f, indent=1)
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
