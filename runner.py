"""Runs a sweep: ``python runner.py sweeps/X.py --dry-run | --local | --slurm | --status | --plot``.

See ``omd/sweep`` for how grids become jobs, how flags are checked and how runs are tracked.
"""

import sys

from omd.sweep.cli import main

if __name__ == "__main__":
    sys.exit(main())
