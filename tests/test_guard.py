import math

import numpy as np
import pytest

from omd import guard


def test_first_nonfinite_names_the_first_bad_metric_in_order():
    assert guard.first_nonfinite({"a": 1.0, "b": np.array([1.0, 2.0])}) is None
    assert guard.first_nonfinite({"a": 1.0, "b": np.array([1.0, np.nan]), "c": math.inf}) == "b"
    assert guard.first_nonfinite({"steps": np.int32(3), "loss": -math.inf}) == "loss"


def test_check_finite_message_names_where_step_and_metric():
    guard.check_finite({"loss": 0.5}, 10, "omd seed 0")
    with pytest.raises(guard.NonFiniteError, match=r"omd seed 0: loss_Q is not finite \(nan\) at step 2000"):
        guard.check_finite({"vals_Q": 1.0, "loss_Q": math.nan}, 2000, "omd seed 0")


@pytest.mark.parametrize("value, kwargs, shown", [
    (1.5, dict(low=0, high=1), r"\[0, 1\]"),
    (0.0, dict(low=0, low_open=True), r"\(0, inf\)"),
    (math.nan, dict(low=0), r"\[0, inf\)"),
    (math.inf, dict(), r"\(-inf, inf\)"),
])
def test_check_range_refuses_with_the_interval(value, kwargs, shown):
    with pytest.raises(ValueError, match=r"--discount=.* must be finite and in " + shown):
        guard.check_range("--discount", value, **kwargs)


def test_check_range_passes_values_inside():
    assert guard.check_range("--tau", 1.0, low=0, high=1, low_open=True) == 1.0
    assert guard.check_range("--lr", 3e-4, low=0, low_open=True) == 3e-4


def test_one_diverged_seed_of_several_warns_and_the_last_one_stops_the_run():
    from omd.guard import NonFiniteError, check_seeds

    nan = float("nan")
    diverged = {}
    assert check_seeds({"loss": np.array([1.0, 2.0, 3.0])}, [4, 5, 6], 100, "omd agent", diverged) == []
    warned = check_seeds({"loss": np.array([1.0, nan, 3.0])}, [4, 5, 6], 200, "omd agent", diverged)
    assert diverged == {5: 200} and len(warned) == 1 and "seed 5: loss is not finite at step 200" in warned[0]
    assert check_seeds({"loss": np.array([nan, nan, 3.0])}, [4, 5, 6], 300, "omd agent", diverged)[0].startswith("[seed 4]")
    assert diverged == {5: 200, 4: 300}  # seed 5 is not warned about again
    with pytest.raises(NonFiniteError, match="omd agent, seed 6: loss is not finite"):
        check_seeds({"loss": np.array([nan, nan, np.inf])}, [4, 5, 6], 400, "omd agent", diverged)
    with pytest.raises(NonFiniteError, match="seed 0"):  # a single seed stops at once, as before
        check_seeds({"loss": np.array([nan])}, [0], 100, "mle agent", {})
