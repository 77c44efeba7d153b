"""``python -m omd.sac.plot``: learning curves from ``save_dir/<seed>.txt``, read as the sweep runner reads them."""

import numpy as np
import pytest

from omd.sac import plot


def test_curves_per_seed_file_and_a_figure(tmp_path):
    (tmp_path / "42.txt").write_text("5000 10.5\n10000 20.0\n")
    (tmp_path / "43.txt").write_text("5000 12\n10000 25\n")
    (tmp_path / "notes.txt").write_text("not a seed file\n")
    curves = plot.load_curves(str(tmp_path))
    assert len(curves) == 2
    np.testing.assert_array_equal(curves[0], [[5000, 10.5], [10000, 20.0]])
    plot.plot({"omd": str(tmp_path)}, str(tmp_path / "fig" / "c.png"))
    assert (tmp_path / "fig" / "c.png").stat().st_size > 1000
    with pytest.raises(FileNotFoundError, match="No <seed>.txt evaluation file in .*empty"):
        plot.plot({"sac": str(tmp_path / "empty")}, str(tmp_path / "d.png"))
