"""``--plot`` on the committed results reproduces the committed tables byte for byte: the numbers the
README quotes and the missing / partial listings. A results/ commit that changes them must come with
the regenerated figures/ folder (the command is in the README's Reproduction section)."""

import os

import pytest

import runner

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.parametrize("basename", ["cartpole_hidden", "cartpole_distract", "halfcheetah_small_model_200k",
                                      "halfcheetah_paper_200k"])
def test_plot_reproduces_the_committed_tables(basename, tmp_path, monkeypatch, capfd):
    monkeypatch.chdir(REPO)  # the sweep files name their scripts from the repository root
    # an empty --root: only results/ is read, never a local runs/ folder
    rc = runner.main([f"sweeps/{basename}.py", "--plot", "--root", str(tmp_path / "runs"), "--out", str(tmp_path)])
    out, err = capfd.readouterr()
    assert rc == 0, err
    for ext in ("md", "csv"):
        with open(os.path.join(REPO, "figures", basename, f"{basename}.{ext}")) as f:
            committed = f.read()
        assert (tmp_path / f"{basename}.{ext}").read_text() == committed, ext
    assert "missing or partial" not in out and not err  # every run of these sweeps is complete
