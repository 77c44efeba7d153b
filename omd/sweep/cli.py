"""``runner.py``: run a sweep file's jobs locally or on Slurm, report their status, plot them."""

from __future__ import annotations

import argparse
import collections
import dataclasses
import os
import re
import shlex
import sys
import time

from omd.sweep import checks, local, slurm, spec, state, suites
from omd.sweep.state import DONE, FAILED, MISSING, QUEUED, RUNNING


EPILOG = """examples:
  python runner.py sweeps/smoke.py --dry-run
  python runner.py sweeps/cartpole_hidden.py --local --workers 2
  python runner.py sweeps/halfcheetah_distract.py --slurm --time 48:00:00 --mem 16G --gpus 1 \\
      --partition long --jobs_per_task 2
  python runner.py sweeps/cartpole_hidden.py --status
  python runner.py sweeps/cartpole_hidden.py --plot

Jobs run in <root>/<job name>; runner bookkeeping (states, logs, kept failed attempts, sbatch
scripts) lives in <root>/_sweep. A rerun skips done jobs and runs failed or missing ones."""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="runner.py", description=__doc__, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("sweep", help="sweep file, e.g. sweeps/smoke.py")
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--dry-run", "--dry_run", dest="dry_run", action="store_true",
                      help="print every command (after checking flags) and run nothing")
    mode.add_argument("--local", action="store_true", help="run the jobs on this machine")
    mode.add_argument("--slurm", action="store_true", help="submit the jobs as one Slurm array")
    mode.add_argument("--status", action="store_true",
                      help="print done / running / queued / failed / missing per job")
    mode.add_argument("--plot", action="store_true",
                      help="learning curves, final return vs swept value, and tables")
    mode.add_argument("--collect", action="store_true",
                      help="copy the small outputs (CSV, TXT, state) of done jobs to --results, to commit")
    p.add_argument("--root", default=None, help="sweep output folder (default runs/<basename>)")
    p.add_argument("--results", default=None,
                   help="committed results of finished jobs (default results/<basename>); a job done "
                        "there counts as done; --local copies each job there when it finishes")
    p.add_argument("--only", default=None, help="regular expression: keep jobs whose name matches")
    p.add_argument("--group_seeds", action=argparse.BooleanOptionalAction, default=None,
                   help="merge jobs differing only in seed into one --num_seeds job "
                        "(default: the sweep file's group_seeds)")
    p.add_argument("--no_validate", action="store_true",
                   help="skip checking the commands against the scripts' flags")
    g = p.add_argument_group("local")
    g.add_argument("--workers", type=int, default=None,
                   help="parallel jobs (default: one per core, or GPUs x --jobs_per_gpu)")
    g.add_argument("--jobs_per_gpu", type=int, default=1, help="jobs sharing one GPU (default 1)")
    g = p.add_argument_group("slurm")
    g.add_argument("--time", default="24:00:00", help="--time per array task (default 24:00:00)")
    g.add_argument("--mem", default=None, help="--mem per array task, e.g. 16G")
    g.add_argument("--cpus", type=int, default=None, help="--cpus-per-task")
    g.add_argument("--gpus", type=int, default=None, help="--gpus-per-task")
    g.add_argument("--partition", default=None, help="--partition")
    g.add_argument("--jobs_per_task", type=int, default=1,
                   help="jobs run side by side in one array task (default 1)")
    g.add_argument("--max_parallel", type=int, default=None, help="array throttle (%%N)")
    g.add_argument("--no_requeue", action="store_true",
                   help="do not ask Slurm to requeue pre-empted tasks")
    g.add_argument("--sbatch_arg", action="append", default=[],
                   help="extra sbatch option, repeatable, e.g. --sbatch_arg=--account=abc")
    g.add_argument("--wait", action="store_true",
                   help="after submitting, wait until Slurm holds none of the jobs, then --status")
    g = p.add_argument_group("plot")
    g.add_argument("--out", default=None, help="figure/table folder (default <root>/figures)")
    return p


def statuses(layout: state.Layout, jobs, results: state.Layout) -> list[state.JobStatus]:
    ids = {(state.read_text(layout.slurm_id(j.name)) or "").split("_")[0] for j in jobs} - {""}
    queue = slurm.queue_states(ids) if ids else {}
    out = []
    for j in jobs:
        st, record = state.status(layout, j.name, queue), state.done_in(layout, results, j.name) or layout
        if st.state != DONE and record is results:
            st = state.JobStatus(j.name, DONE, f"committed in {results.out_dir(j.name)}")
        ran = (state.read_json(record.state(j.name)) or {}).get("command")
        # the job's flags as run, without the interpreter and the output folder
        if ran and ran[1:-1] != spec.command(j, "x", "x")[1:-1]:
            st = dataclasses.replace(st, detail=st.detail + "; NOTE: ran with other flags than "
                                     "the sweep file now gives (use a new --root to rerun)")
        out.append(st)
    return out


def tally(sts, kinds=(DONE, RUNNING, QUEUED, FAILED, MISSING)) -> str:
    """'4 done, 0 running, ...': how many of ``sts`` are in each of ``kinds``."""
    counts = collections.Counter(s.state for s in sts)
    return ", ".join(f"{counts[k]} {k}" for k in kinds)


def print_status(sts) -> int:
    """Prints one line per job and the totals; returns how many failed."""
    width = max([len(s.name) for s in sts] + [4])
    for s in sts:
        print(f"{s.state:8s} {s.name:{width}s} {s.detail}")
    print(f"{len(sts)} jobs: " + tally(sts))
    return sum(s.state == FAILED for s in sts)


def main(argv, read_flags) -> int:
    """``read_flags(script) -> checks.Script`` reads an entry script's flags (``runner.read_flags``)."""
    args = build_parser().parse_args(argv)
    try:
        return _main(args, read_flags)
    except (spec.SweepError, slurm.SlurmError) as e:  # the sweep file, its flags, the submission
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: the running jobs were stopped and count as failed; "
              "run the same command again to rerun them", file=sys.stderr)
        return 130


def _main(args, read_flags) -> int:
    sw = spec.load(args.sweep, group_seeds=args.group_seeds)
    jobs = [j for j in sw.jobs if not args.only or re.search(args.only, j.name)]
    if not jobs:
        raise spec.SweepError(f"--only {args.only!r} matches no job of {sw.path}")
    root = args.root or os.path.join("runs", sw.basename)
    layout = state.Layout(root)
    kept = state.Layout(args.results or os.path.join("results", sw.basename))
    if args.status:
        print_status(statuses(layout, jobs, kept))
        return 0
    if args.collect:
        copied = [j.name for j in jobs if state.collect(layout, kept, j.name)]
        print(f"copied {len(copied)} done jobs of {len(jobs)} to {kept.root}/ (commit it)")
        return 0
    scripts = {}
    try:  # for --plot, flag defaults tell the budget a complete run reaches
        scripts = {} if args.no_validate else checks.check(sw.path, jobs, read_flags)
    except checks.FlagError as e:
        if not args.plot:
            raise
        print(f"warning: {e}\n(partial runs are then judged against their siblings)", file=sys.stderr)
    suite_of = {j.main: suites.for_script(j.main, scripts[j.main].flags if j.main in scripts else None) for j in jobs}
    if args.plot:
        from omd.sweep import report  # pylint: disable=import-outside-toplevel  (matplotlib only here)
        return report.main(sw, jobs, layout, suite_of, scripts, args.out, kept)
    if args.dry_run:
        for j in jobs:
            print(shlex.join(spec.command(j, suite_of[j.main].out_flag, layout.out_dir(j.name))))
        checked = "checked against the scripts' flags" if scripts else "flags NOT checked"
        print(f"# {len(jobs)} jobs of {sw.path} ({checked}); outputs under {root}/", file=sys.stderr)
        return 0
    return _run(args, sw, jobs, layout, kept, suite_of)


def _run(args, sw, jobs, layout, kept, suite_of) -> int:
    """Runs the jobs not done yet (--local) or submits them (--slurm); the exit status says if any failed."""
    sts = statuses(layout, jobs, kept)
    todo = [j for j, s in zip(jobs, sts) if s.state in (FAILED, MISSING)]
    print(f"{sw.path}: {len(jobs)} jobs; {len(todo)} to run; skipping " + tally(sts, (DONE, RUNNING, QUEUED)))
    if not todo:
        return 0
    paths = {}  # one spec per job, what its wrapper runs
    for j in todo:
        out_dir = os.path.abspath(layout.out_dir(j.name))
        state.write_json(layout.spec(j.name), {
            "name": j.name, "root": os.path.abspath(layout.root), "out_dir": out_dir, "cwd": os.getcwd(),
            "command": spec.command(j, suite_of[j.main].out_flag, out_dir, python=sys.executable)})
        paths[j.name] = os.path.abspath(layout.spec(j.name))

    if args.local:
        codes = local.run(paths, workers=args.workers, jobs_per_gpu=args.jobs_per_gpu,
                          on_exit=lambda name: state.collect(layout, kept, name))
        failed = print_status(statuses(layout, jobs, kept))
        return 0 if all(rc == 0 for rc in codes.values()) and not failed else 1

    array_id, n_tasks = slurm.submit(layout, sw.basename, paths, os.getcwd(), limit=args.time, mem=args.mem,
                                     cpus=args.cpus, gpus=args.gpus, partition=args.partition,
                                     jobs_per_task=args.jobs_per_task, max_parallel=args.max_parallel,
                                     requeue=not args.no_requeue, extra=args.sbatch_arg)
    print(f"submitted array {array_id}: {n_tasks} tasks for {len(todo)} jobs; logs in {layout.slurm_dir} "
          f"and {os.path.dirname(layout.log('x'))}")
    if not args.wait:
        return 0
    while slurm.queue_states({array_id}) != {}:  # None (squeue not answering) keeps waiting too
        time.sleep(1.0)
    return 1 if print_status(statuses(layout, jobs, kept)) else 0
