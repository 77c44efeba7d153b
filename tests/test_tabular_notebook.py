"""``tabular.ipynb`` executes headless at a small size and writes its figures."""

import json
import os
import pathlib
import sys

import pytest

papermill = pytest.importorskip("papermill")

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_notebook_runs_small_and_writes_figures(tmp_path, monkeypatch):
    # A kernelspec for *this* interpreter: the stock "python3" spec runs whatever
    # `python` is first on PATH, which need not be the environment under test.
    spec = tmp_path / "jupyter" / "kernels" / "omd-tabular-test"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "omd tabular test", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    figures = tmp_path / "figures"
    out = tmp_path / "executed.ipynb"
    papermill.execute_notebook(
        str(ROOT / "tabular.ipynb"), str(out), kernel_name="omd-tabular-test", cwd=str(ROOT),
        parameters={"NUM_SEEDS": 2, "NUM_KAPPAS": 3, "NUM_STDS": 2, "MAX_ITER": 20, "FIGURES_DIR": str(figures)},
        # papermill gives a kernel 60 s to start by default; importing JAX in a fresh clone (no bytecode
        # cache) on a core shared with a training job can take longer, which failed this test there.
        start_timeout=600, progress_bar=False)
    for name in ("return_vs_kappa", "q_error_bounds", "ift_sensitivity"):
        for ext in ("png", "pdf"):
            path = figures / f"{name}.{ext}"
            assert path.stat().st_size > 1000, path
    text = out.read_text()
    assert "J* = 1.0272727" in text and '"output_type": "error"' not in text
