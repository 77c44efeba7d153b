"""``bench/mujoco.py`` runs end to end and its repeat summary agrees with its rounds;
``bench/sbx_sac.py`` says how to install SBX where it is missing."""

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _bench(*args, script="bench/mujoco.py"):
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run([sys.executable, script, *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)


@pytest.mark.slow  # checks the benchmark's print format only (issue 33): kept out of the default run
def test_repeats_print_each_round_and_their_median():
    proc = _bench("--algos=sac", "--steps=20", "--repeats=3", "--capacity=20000", "--eval_episodes=1",
                  "--env_name=InvertedPendulum-v5")
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    rows = re.findall(r"^\s+sac\s+device\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+(\d+)%$", out, re.M)
    assert len(rows) == 3, out
    rounds = [float(r[0]) for r in rows]
    assert all(r > 0 for r in rounds), out
    # GFLOP/s is updates/s times GFLOP/step; on CPU each row also gives its share of XLA's peak.
    assert all(abs(float(g) - float(u) * float(f)) <= 0.1 + 1e-3 * float(g) for u, f, g, _ in rows), out
    assert all(int(share) > 0 for *_, share in rows), out
    assert float(re.search(r"256-wide float32 products, (\d+) GFLOP/s just now", out).group(1)) > 0
    assert "round 3 of 3" in out
    median, low, high = map(float, re.search(r"sac\s+device\s+([\d.]+) \(([\d.]+)-([\d.]+)\)\s+[\d.]+\s+\d+%$", out,
                                             re.M).groups())
    assert (median, low, high) == tuple(round(x, 1) for x in (sorted(rounds)[1], min(rounds), max(rounds)))
    assert re.search(r"evaluation of 1 episodes: [\d.]+ s", out)


def test_a_capacity_below_the_prefill_is_refused_with_the_minimum():
    proc = _bench("--capacity=100")
    assert proc.returncode == 2
    assert "--capacity must be at least 20000" in proc.stderr


@pytest.mark.skipif(importlib.util.find_spec("sbx") is not None, reason="SBX is installed here")
def test_the_sbx_reference_without_sbx_names_the_install_command():
    proc = _bench(script="bench/sbx_sac.py")
    assert proc.returncode == 1
    assert "pip install sbx-rl==0.28.0" in proc.stderr and "No module named 'sbx'" in proc.stderr
