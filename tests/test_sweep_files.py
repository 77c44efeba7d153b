"""Every committed sweep file loads and every job's flags pass the entry scripts' checks.

A sweep is often run sessions after it is written; a typo in a flag name or a value the typed
config refuses would otherwise surface only then. ``--dry-run`` reads each script's flags in this
process (``runner.read_flags``) and runs nothing."""

import glob
import os

import pytest

import runner

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SWEEPS = sorted(os.path.relpath(p, REPO) for p in glob.glob(os.path.join(REPO, "sweeps", "*.py")))


def test_there_are_sweep_files():
    assert len(SWEEPS) >= 10, SWEEPS


@pytest.mark.parametrize("path", SWEEPS)
def test_sweep_file_checks(path, monkeypatch, capsys):
    monkeypatch.chdir(REPO)  # '_main' paths are relative to the repository root
    rc = runner.main([path, "--dry-run"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert "checked against the scripts' flags" in err
    jobs = [line for line in out.splitlines() if line.startswith("python ")]
    assert jobs and all("--out_dir=" in j or "--save_dir=" in j for j in jobs), out
