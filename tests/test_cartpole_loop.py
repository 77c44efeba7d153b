"""The CartPole host loop (``omd.soft_q.train``) alone: it writes no file, reports through callbacks, and a
snapshot it hands out resumes to what the uninterrupted loop computes, as ``omd.sac.train`` does for MuJoCo."""

import numpy as np

from omd.soft_q import SoftQConfig, make_loop
from omd.soft_q.train import current_names, train
from omd.soft_q.updates import METRIC_KEYS

CONFIG = SoftQConfig(algo="omd", max_steps=300, start_training=100, batch_size=16, hidden_dim=8, model_hidden_dim=4,
                     eval_interval=100, log_interval=50, eval_episodes=2)


def test_the_loop_reports_by_callback_writes_no_file_and_resumes_from_its_snapshot(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    loop, seeds = make_loop(CONFIG), [3, 4]
    events, snapshots, chunks = [], [], []
    _, whole = train(loop, seeds, progress_fn=lambda step, m: events.append((step, m)),
                     checkpoint_fn=lambda step, snap: snapshots.append((step, snap)), on_steps=chunks.append,
                     checkpoint_interval=120)
    assert list(tmp_path.iterdir()) == []
    assert sum(chunks) == 300 and whole["step"] == 300 and not whole["stopped"]
    evals = [(step, m) for step, m in events if "eval/episode_return" in m]
    assert [step for step, _ in evals] == [0, 100, 200, 300]
    assert set(evals[0][1]) == {"eval/episode", "eval/episode_return"}
    np.testing.assert_array_equal(np.stack([m["eval/episode_return"] for _, m in evals]), whole["eval_returns"])
    rows = [(step, m) for step, m in events if "train/episode" in m]
    # Rows start once updates have: the first at step 100 (learning from the 100th transition).
    assert [step for step, _ in rows] == [100, 150, 200, 250, 300]
    assert list(rows[0][1]) == ["train/episode", "train/episode_return", "train/duration",
                                *(f"train/{k}" for k in METRIC_KEYS["omd"]), "train/steps_per_second"]
    assert all(np.shape(rows[-1][1][f"train/{k}"]) == (2,) for k in METRIC_KEYS["omd"])
    # Snapshots at the first boundary on or after each multiple of 120, never at the last step.
    assert [step for step, _ in snapshots] == [150, 250]
    assert set(snapshots[0][1]) == {"state", "pending", "eval_returns", "counters"}

    resumed_events = []
    _, resumed = train(loop, seeds, progress_fn=lambda step, m: resumed_events.append((step, m)),
                       resume=snapshots[0][1])
    np.testing.assert_array_equal(resumed["eval_returns"], whole["eval_returns"])
    after = [(step, m) for step, m in events if step > 150]
    assert [step for step, _ in resumed_events] == [step for step, _ in after]
    for (_, got), (_, want) in zip(resumed_events, after):
        for key in want:
            if key not in ("train/duration", "train/steps_per_second"):
                np.testing.assert_array_equal(got[key], want[key], err_msg=key)


def test_a_stop_request_ends_the_loop_at_the_next_boundary_with_a_snapshot():
    snapshots = []
    _, summary = train(make_loop(CONFIG), [0], checkpoint_fn=lambda step, snap: snapshots.append(step),
                       should_stop=lambda: True)
    assert summary["stopped"] and summary["step"] == 50 and snapshots == [50]


def test_a_snapshot_taken_before_the_shared_vocabulary_resumes_its_model_loss_sums():
    # Its pending sums hold the model's loss as loss_T; resumed, they add to the agent's own name's.
    old = {"loss_T": np.array([1.0, 2.0]), "vals_Q": np.array([3.0, 4.0]), "num_updates": np.array([5.0, 5.0])}
    for algo, name in (("omd", "outer_loss"), ("mle", "model_loss"), ("vep", "model_loss")):
        new = current_names(old, algo)
        assert list(new) == [name, "vals_Q", "num_updates"] and new[name] is old["loss_T"]
        assert set(new) - {"num_updates"} <= set(METRIC_KEYS[algo])
    assert current_names({}, "omd") == {}
