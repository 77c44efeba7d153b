"""Both entry scripts share one exit-status contract: 2 for a flag or setting refused before any
compute (absl's own parse errors included, which absl alone would exit 1 for), in one line."""

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.parametrize("script", ["cartpole/train.py", "mujoco/train.py"])
@pytest.mark.parametrize("args, says", [
    (["--seed=abc"], "flag --seed=abc: invalid literal for int()"),
    (["--sed=1"], "Unknown command line flag 'sed'. Did you mean: seed"),
    (["extra"], "unexpected arguments: extra"),
])
def test_refused_flags_exit_2_in_one_line(tmp_path, script, args, says):
    proc = subprocess.run([sys.executable, os.path.join(ROOT, script), *args], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert proc.stderr.startswith(f"error: {says}") and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert not os.listdir(tmp_path)  # nothing written
