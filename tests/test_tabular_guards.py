"""``python -m omd.tabular``: every number range-checked and ``--out`` checked before any computation."""

import json

import pytest

from omd.tabular import cli, experiments


@pytest.fixture
def no_compute(monkeypatch):
    """Any sweep started fails the test: refusals must come first."""
    def boom(*args, **kwargs):
        raise AssertionError("computation started")
    monkeypatch.setattr(experiments, "misspecification", boom)
    monkeypatch.setattr(experiments, "sensitivity", boom)


@pytest.mark.parametrize("argv, flag", [
    (["misspec", "--tol", "inf"], "--tol"),
    (["misspec", "--tol", "nan"], "--tol"),
    (["misspec", "--tol", "0"], "--tol"),
    (["sensitivity", "--tol", "-1e-3"], "--tol"),
    (["misspec", "--seeds", "0"], "--seeds"),
    (["misspec", "--max-iter", "-5"], "--max-iter"),
    (["misspec", "--norm-bounds", "nan"], "--norm-bounds"),
    (["misspec", "--norm-bounds", "-1"], "--norm-bounds"),
    (["sensitivity", "--stds", "inf"], "--stds"),
    (["sensitivity", "--stds", "-0.1"], "--stds"),
])
def test_bad_numbers_are_refused_naming_the_flag(argv, flag, capsys, no_compute):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv + ["--no-progress"])
    assert exit_info.value.code != 0
    assert flag in capsys.readouterr().err


def test_an_existing_out_file_is_kept_without_overwrite(tmp_path, capsys, no_compute):
    out = tmp_path / "r.json"
    out.write_text("earlier results")
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["misspec", "--seeds", "1", "--no-progress", "--out", str(out)])
    assert exit_info.value.code != 0
    err = capsys.readouterr().err
    assert str(out) in err and "--overwrite" in err
    assert out.read_text() == "earlier results"


@pytest.mark.parametrize("where", ["missing/r.json", "."])
def test_an_unusable_out_path_is_refused_before_computing(tmp_path, capsys, no_compute, where):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["sensitivity", "--seeds", "1", "--no-progress", "--out", str(tmp_path / where)])
    assert exit_info.value.code != 0
    assert "--out" in capsys.readouterr().err


def test_overwrite_replaces_the_out_file(tmp_path):
    out = tmp_path / "r.json"
    out.write_text("earlier results")
    assert cli.main(["sensitivity", "--methods", "identity", "--stds", "0.1", "--seeds", "1", "--max-iter", "5",
                     "--no-progress", "--out", str(out), "--overwrite"]) == 0
    assert list(json.loads(out.read_text())) == ["identity"]
