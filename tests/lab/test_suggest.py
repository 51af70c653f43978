"""The suggestion methods (numpy only): each on its own, together, and on bad curves."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from lrlab.lab.suggest import (
    METHODS,
    MIN_POINTS,
    Suggestion,
    minimum_tenth,
    steepest,
    suggest,
    valley,
)


def _curve() -> tuple[np.ndarray, np.ndarray]:
    """A textbook range-test curve: flat, a smooth fall, a minimum, a blow-up."""
    lrs = np.logspace(-6, 1, 71)
    x = np.log10(lrs)
    loss = 2.3 - 2.0 / (1 + np.exp(-(x + 2.5) * 3)) + np.where(x > -0.5, (x + 0.5) ** 2 * 4, 0)
    return lrs, loss


def test_the_suggestions_on_a_textbook_curve() -> None:
    lrs, loss = _curve()
    found = suggest(lrs, loss)
    assert list(found) == list(METHODS)
    steepest = found["steepest"]
    assert steepest.index is not None
    assert steepest.lr == pytest.approx(10**-2.5)
    assert "falls fastest" in steepest.reason
    low = int(np.argmin(loss))
    assert found["minimum/10"].index == low
    assert found["minimum/10"].lr == pytest.approx(lrs[low] / 10)
    valley = found["valley"]
    assert valley.index is not None
    assert valley.lr is not None
    assert 0 < valley.index < low
    # two thirds down the descent: between the steepest point and the minimum
    assert steepest.lr is not None
    assert steepest.lr < valley.lr < lrs[low]


def test_no_suggestion_when_the_loss_never_falls() -> None:
    lrs = np.logspace(-5, 0, 30)
    found = suggest(lrs, np.linspace(1.0, 3.0, 30))
    assert {m: s.lr for m, s in found.items()} == dict.fromkeys(METHODS)
    assert (
        found["steepest"].reason
        == "the smoothed loss never falls (away from the edges of the curve)"
    )
    assert found["minimum/10"].reason.startswith(
        "the smoothed loss is lowest at the first lr (1e-05)"
    )
    assert found["valley"].reason == "the smoothed loss has no descent"


def test_too_few_points_and_bad_curves() -> None:
    found = suggest([1e-3, 1e-2, 1e-1], [1.0, 0.5, 0.2])
    assert all(s.lr is None and "too few points (3)" in s.reason for s in found.values())
    with pytest.raises(ValueError, match="suggest: lrs and smoothed must be 1-d and of one length"):
        suggest([1e-3, 1e-2], [1.0])
    with pytest.raises(ValueError, match="suggest: lrs must be finite and > 0 and smoothed finite"):
        suggest(np.logspace(-3, 0, 6), [1.0, 0.9, np.nan, 0.5, 0.4, 0.3])


def test_each_method_on_its_own_gives_what_suggest_gives() -> None:
    lrs, loss = _curve()
    found = suggest(lrs, loss)
    assert dict(METHODS) == {"steepest": steepest, "minimum/10": minimum_tenth, "valley": valley}
    for name, method in METHODS.items():
        alone = method(lrs, loss)
        assert alone == found[name]
        assert alone.method == name
    assert found["minimum/10"].to_dict() == {
        "method": "minimum/10",
        "lr": found["minimum/10"].lr,
        "index": int(np.argmin(loss)),
        "reason": found["minimum/10"].reason,
    }


@pytest.mark.parametrize("method", list(METHODS.values()), ids=list(METHODS))
def test_each_method_needs_min_points_and_finite_values(method: object) -> None:
    assert callable(method)
    few = method(np.logspace(-3, 0, MIN_POINTS - 1), np.ones(MIN_POINTS - 1))
    assert isinstance(few, Suggestion)
    assert few.lr is None
    assert few.reason == "too few points (4) to suggest an lr; at least 5 are needed"
    name = few.method
    with pytest.raises(ValueError, match=f"^{name}: lrs must be finite and > 0"):
        method([1e-3, 1e-2, 0.0, 1e-1, 1.0], [1.0] * 5)
    with pytest.raises(ValueError, match=f"^{name}: lrs and smoothed must be 1-d"):
        method([[1e-3]], [[1.0]])


def test_valley_is_two_thirds_down_the_longest_descent_over_bumps() -> None:
    # the descent 5, 4, 3, 2, 1 at indices 0, 1, 3, 4, 5 steps over the bump at 2
    chosen = valley([1, 2, 3, 4, 5, 6, 7], [5.0, 4.0, 4.5, 3.0, 2.0, 1.0, 6.0])
    assert (chosen.index, chosen.lr) == (3, 4.0)
    assert "(5 falling points)" in chosen.reason


def test_importing_the_suggestions_loads_no_torch() -> None:
    code = (
        "import sys, lrlab.lab.suggest as s; s.suggest([1, 2, 3, 4, 5], [5, 4, 3, 2, 3]); "
        "print('torch' in sys.modules, 'numpy' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == ["False", "True"]
