"""``python -m omd.tabular``: documented JSON, printed table, bad input refused with the choices."""

import json
import math
import subprocess
import sys

import pytest

from omd.tabular import cli


def test_misspec_cli_writes_the_documented_json(tmp_path):
    out = tmp_path / "results.json"
    proc = subprocess.run(
        [sys.executable, "-m", "omd.tabular", "misspec", "--agents", "omd,mle,vep", "--norm-bounds", "0.95,1.89,inf",
         "--seeds", "2", "--projection", "joint", "--max-iter", "30", "--no-progress", "--out", str(out)],
        capture_output=True, text=True, check=True)
    results = json.loads(out.read_text())
    assert list(results) == ["omd", "mle", "vep"]
    for agent in results:
        assert list(results[agent]) == ["0.95", "1.89", "inf"]  # kappas keyed as given
        for js in results[agent].values():
            assert len(js) == 2 and all(math.isfinite(j) and -3 < j < 1.03 for j in js)
    assert "projection joint" in proc.stdout and "1.89" in proc.stdout and "vep" in proc.stdout


def test_sensitivity_cli_writes_the_documented_json(tmp_path, capsys):
    out = tmp_path / "s.json"
    assert cli.main(["sensitivity", "--methods", "exact,identity", "--stds", "0.01,0.3", "--seeds", "2",
                     "--max-iter", "20", "--no-progress", "--out", str(out)]) == 0
    results = json.loads(out.read_text())
    assert list(results) == ["exact", "identity"]
    assert all(list(r) == ["0.01", "0.3"] and all(len(v) == 2 for v in r.values()) for r in results.values())
    assert "sigma" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["misspec", "--norm-bounds", "1,-0.5"], ">= 0"),
    (["misspec", "--seeds", "0"], "at least 1"),
    (["misspec", "--agents", "omd,dyna"], "allowed: omd, mle, vep"),
    (["misspec", "--projection", "ball"], "allowed: leafwise, joint"),
    (["sensitivity", "--methods", "newton"], "allowed:"),
    (["sensitivity", "--stds", "inf"], "finite and >= 0"),
    (["misspec", "--norm-bounds", "abc"], "comma-separated numbers"),
])
def test_bad_arguments_exit_nonzero_with_the_allowed_values(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code != 0
    assert message in capsys.readouterr().err
