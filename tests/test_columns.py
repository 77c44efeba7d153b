"""The shared vocabulary's reader (omd.columns) finds runs written before it and prefers the canonical name."""

import pandas as pd

from omd.columns import ALIASES, find, with_canonical


def test_legacy_columns_are_found_under_their_canonical_names(tmp_path):
    path = tmp_path / "train.csv"
    path.write_text("step,return,steps_per_sec,loss_T\n1,2.5,100.0,0.3\n")
    df = pd.read_csv(path)
    assert find(df.columns, "episode_return") == "return"
    assert find(df.columns, "steps_per_second") == "steps_per_sec"
    assert find(df.columns, "outer_loss") == find(df.columns, "model_loss") == "loss_T"
    assert find(["step", "outer_critic_loss"], "outer_loss") == "outer_critic_loss"
    assert find(df.columns, "vals_Q") is None  # neither canonical nor legacy: absent
    read = with_canonical(df, ["episode_return", "steps_per_second", "vals_Q"])
    assert read["episode_return"].tolist() == [2.5] and read["steps_per_second"].tolist() == [100.0]
    assert "vals_Q" not in read and "episode_return" not in df  # the caller's frame is left as it was


def test_the_canonical_name_wins_when_both_are_there():
    df = pd.DataFrame({"return": [1.0], "episode_return": [2.0], "loss_T": [3.0], "outer_loss": [4.0]})
    assert find(df.columns, "episode_return") == "episode_return"
    assert find(df.columns, "outer_loss") == "outer_loss"
    assert with_canonical(df, ["episode_return"]) is df
    assert all(name not in legacy for name in ALIASES for legacy in ALIASES.values())  # no chains
