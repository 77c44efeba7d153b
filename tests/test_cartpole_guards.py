"""CartPole refuses meaningless settings before computing, stops a run that goes non-finite,
and reports user errors in one line (no help dump, no traceback)."""

import os

import pytest

from omd.soft_q import SoftQConfig
from test_cartpole_cli import TINY, run

NAN, INF = float("nan"), float("inf")


@pytest.mark.parametrize("settings, named", [
    ({"model_lr": NAN}, ["--lr="]),
    ({"model_lr": 0.0}, ["--lr="]),
    ({"critic_lr": INF}, ["--inner_lr="]),
    ({"critic_lr": -1e-3}, ["--inner_lr="]),
    ({"eps": NAN}, ["--eps="]),
    ({"eps": 1.5}, ["--eps="]),
    ({"discount": NAN}, ["--discount="]),
    ({"discount": 1.5}, ["--discount="]),
    ({"tau": 0.0}, ["--tau="]),
    ({"tau": NAN}, ["--tau="]),
    ({"alpha": NAN}, ["--alpha="]),
    ({"alpha": NAN, "hard": True}, ["--alpha="]),
    ({"alpha": 0.0}, ["--alpha="]),
    ({"alpha": 0.0, "hard": True}, ["--alpha="]),
    ({"cg_damping": NAN}, ["--cg_damping="]),
    ({"cg_damping": -1.0}, ["--cg_damping="]),
    ({"max_steps": 0}, ["--num_train_steps="]),
    ({"max_steps": 500}, ["--init_steps", "--num_train_steps"]),  # start_training 1000: nothing would train
    ({"start_training": -1}, ["--init_steps="]),
    ({"hidden_dim": 0}, ["--hidden_dim="]),
    ({"model_hidden_dim": 0}, ["--model_hidden_dim="]),
    ({"batch_size": 0}, ["--batch_size="]),
    ({"eval_interval": 0}, ["--eval_frequency="]),
    ({"log_interval": 0}, ["--log_frequency="]),
    ({"eval_episodes": 0}, ["--num_eval_episodes="]),
    ({"inner_steps": 0}, ["--num_Q_steps="]),
    ({"outer_steps": 0}, ["--num_T_steps="]),
    ({"num_ensemble_vep": 0}, ["--num_ensemble_vep="]),
    ({"cg_maxiter": 0}, ["--cg_maxiter="]),
    ({"dim_distract": -1}, ["--dim_distract="]),
    ({"replay_capacity": -1}, ["--replay_capacity="]),
    ({"algo": "dqn"}, ["--agent_type='dqn'"]),
    ({"implicit": "gmres"}, ["implicit='gmres'", "--with_inv_jac"]),
])
def test_each_bad_setting_is_refused_naming_its_flag(settings, named):
    """Settings by library field; the messages name the CLI flag users type (``FLAG_NAMES``)."""
    with pytest.raises(ValueError) as err:
        SoftQConfig(**settings).validate()
    for name in named:
        assert name in str(err.value)
    if named[0].endswith("="):  # a range check: the message gives the range
        assert "must be finite and in" in str(err.value)


def test_good_settings_pass():
    SoftQConfig().validate()
    SoftQConfig(hard=True, alpha=1e-6, start_training=200_000, eps=0.0, discount=1.0, tau=1.0, cg_damping=0.0).validate()


def _one_line_error(out, *needles):
    assert out.returncode != 0
    assert "Traceback" not in out.stderr, out.stderr[-3000:]
    lines = [line for line in out.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, out.stderr[-3000:]
    for needle in needles:
        assert needle in lines[0], out.stderr[-3000:]
    return lines[0]


@pytest.mark.parametrize("args, named", [
    (["--lr=nan"], ["--lr=nan"]),
    (["--num_train_steps=0"], ["--num_train_steps=0"]),
    (["--num_train_steps=500", "--init_steps=1000"], ["--init_steps 1000", "--num_train_steps 500"]),
    (["--checkpoint_interval=0"], ["--checkpoint_interval=0"]),
    (["unexpected"], ["unexpected arguments: unexpected"]),
])
def test_the_cli_refuses_bad_settings_in_one_line_with_a_hint(tmp_path, args, named):
    out = run(["--out_dir", str(tmp_path / "out"), *args])
    _one_line_error(out, *named)
    assert "--helpfull" in out.stderr and len(out.stderr.splitlines()) < 20  # not the ~145 lines of help
    assert not os.path.exists(tmp_path / "out")  # refused before anything was written


def test_unwritable_out_dir_and_missing_agent_are_one_line_errors(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("a file where a folder should be")
    _one_line_error(run(["--out_dir", str(blocker / "out"), *TINY]), "--out_dir", str(blocker / "out"))
    (tmp_path / "out" / "0").mkdir(parents=True)
    (tmp_path / "out" / "0" / "checkpoint.msgpack").write_bytes(b"\x85truncated")
    _one_line_error(run(["--out_dir", str(tmp_path / "out"), *TINY]), "checkpoint.msgpack is unreadable", "--overwrite")
    missing = tmp_path / "none.pkl"
    _one_line_error(run(["--eval_only", "--agent_path", str(missing)]), str(missing), "does not exist")


def test_a_checkpoint_of_an_earlier_layout_is_refused_naming_the_ways_out(tmp_path):
    """Format 1 held the soft-Q parameters, target and Adam state as separate fields of the agent state."""
    import json

    from omd import checkpoint

    path = tmp_path / "out" / "0" / "checkpoint.msgpack"
    path.parent.mkdir(parents=True)
    checkpoint.save(str(path), {"host": json.dumps({"format": "omd.soft_q.run/1", "step": 300})})
    before = path.read_bytes()
    _one_line_error(run(["--out_dir", str(tmp_path / "out"), *TINY]), str(path),
                    "written by an earlier version of this code (omd.soft_q.run/1",
                    "finish the run with that version", "--overwrite", "nothing is lost")
    assert path.read_bytes() == before and os.listdir(path.parent) == ["checkpoint.msgpack"]


def test_a_run_that_goes_nan_stops_naming_step_agent_seed_and_metric(tmp_path):
    from omd import checkpoint

    args = ["--num_train_steps", "600", "--init_steps", "100", "--batch_size", "32", "--hidden_dim", "8",
            "--model_hidden_dim", "4", "--eval_frequency", "100", "--log_frequency", "100", "--num_eval_episodes", "2",
            "--notqdm", "--notensorboard", "--checkpoint_interval", "100", "--lr", "1e30"]  # the model overflows
    (tmp_path / "0").mkdir()
    (tmp_path / "0" / "eval.csv").write_text("an earlier run's")
    out = run(["--out_dir", str(tmp_path), *args, "--overwrite"])
    assert (tmp_path / "0.old-1" / "eval.csv").read_text() == "an earlier run's"  # --overwrite moves, never deletes
    line = _one_line_error(out, "omd agent, seed 0: ", "is not finite (nan) at step 200", "checkpoint of step 100 is kept")
    assert out.returncode == 1 and "done:" not in out.stdout
    # Outputs so far are kept: the rows and the last good checkpoint from before the failure.
    with open(tmp_path / "0" / "train.csv") as f:
        assert [row.split(",")[1] for row in f.read().splitlines()[1:]] == ["100"]
    with open(tmp_path / "0" / "eval.csv") as f:
        assert [row.split(",")[1] for row in f.read().splitlines()[1:]] == ["0", "100"]
    assert '"step": 100' in checkpoint.load(str(tmp_path / "0" / "checkpoint.msgpack"))["host"]
    assert line.split(": ")[2].split()[0] in ("vals_Q", "loss_Q", "grad_norm_Q", "entropy_Q", "outer_loss")
