"""The metric-driven plateau: state, pure update, composition with scheduled phases."""

from __future__ import annotations

import json
import math

import pytest

import lrlab


def drive(s: lrlab.Schedule, metrics: list[float | None]) -> list[float]:
    """The lr in effect after each step, as a training loop would read it."""
    state = s.initial_state()
    out = []
    for metric in metrics:
        state = s.update(state, metric)
        out.append(s.lr(state))
    return out


def test_patience_factor_min_lr_and_cooldown() -> None:
    s = lrlab.plateau(init=1.0, factor=0.5, patience=1, cooldown=2, min_lr=0.2)
    lrs = drive(s, [1.0] * 12)
    # best=1.0 at step 1; 2 bad -> reduce at 3; cooldown 2 steps; then 2 more bad ...
    assert lrs == [1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25, 0.2, 0.2]


def test_max_mode_and_absolute_threshold() -> None:
    s = lrlab.plateau(
        init=1.0, mode="max", factor=0.1, patience=0, threshold=0.1, threshold_mode="abs"
    )
    # 0.5 improves on -inf; 0.55 is not > 0.5 + 0.1 -> bad -> reduce; 0.7 improves.
    assert drive(s, [0.5, 0.55, 0.7]) == pytest.approx([1.0, 0.1, 0.1])


def test_eps_skips_tiny_reductions() -> None:
    s = lrlab.plateau(init=1e-9, factor=0.5, patience=0, eps=1e-8)
    assert drive(s, [1.0, 1.0, 1.0]) == [1e-9, 1e-9, 1e-9]


def test_nan_metric_counts_as_no_improvement() -> None:
    s = lrlab.plateau(init=1.0, factor=0.5, patience=1)
    assert drive(s, [1.0, math.nan, math.nan, math.nan]) == [1.0, 1.0, 0.5, 0.5]


def test_minus_infinity_is_an_improvement_once() -> None:
    s = lrlab.plateau(init=1.0, factor=0.5, patience=0)
    assert drive(s, [-math.inf, 0.0, -math.inf]) == [1.0, 0.5, 0.25]


def test_missing_metric_advances_the_step_only() -> None:
    s = lrlab.plateau(init=1.0, factor=0.5, patience=0)
    state = s.update(s.update(s.initial_state(), 1.0), None)
    assert (state.step, state.num_bad_epochs, state.best) == (2, 0, 1.0)


def test_warmup_then_plateau_ignores_metrics_during_warmup() -> None:
    s = lrlab.join(
        [lrlab.linear(init=0.0, end=1.0, steps=4), lrlab.plateau(init=1.0, factor=0.5, patience=0)],
        at=[4],
    )
    assert s.metric_driven
    # the bad metrics during warmup (steps 0-3) do not count
    lrs = drive(s, [5.0, 6.0, 7.0, 8.0, 1.0, 1.0, 0.5, 0.6])
    assert lrs == [0.25, 0.5, 0.75, 1.0, 1.0, 0.5, 0.5, 0.25]


def test_prefix_warmup_of_a_plateau_ramps_to_its_init() -> None:
    s = lrlab.warmup(lrlab.plateau(init=0.1, factor=0.5, patience=0), steps=2)
    state = s.initial_state()
    assert s.lr(state) == 0.0
    lrs = drive(s, [3.0, 2.0, 1.0, 1.0])
    assert lrs == pytest.approx([0.05, 0.1, 0.1, 0.05])


def test_overlay_warmup_multiplies_the_plateau_lr() -> None:
    s = lrlab.warmup(lrlab.plateau(init=0.1, factor=0.5, patience=0), steps=4, mode="overlay")
    lrs = drive(s, [1.0, 1.0, 1.0])
    assert lrs == pytest.approx([0.1 * 0.25, 0.05 * 0.5, 0.025 * 0.75])


def test_metric_driven_schedule_cannot_be_called_by_step() -> None:
    s = lrlab.join([lrlab.constant(value=0.1), lrlab.plateau(init=0.1)], at=[5])
    with pytest.raises(TypeError, match="metric-driven plateau phase"):
        s(3)
    with pytest.raises(TypeError, match="metric-driven plateau phase"):
        s.values(3)


def test_pure_schedules_work_with_the_state_api_too() -> None:
    s = lrlab.step(init=1.0, period=2, gamma=0.5)
    assert not s.metric_driven
    assert drive(s, [None, 3.0, None, None]) == [s(1), s(2), s(3), s(4)]


def test_state_round_trips_through_json_with_infinite_best() -> None:
    s = lrlab.plateau(init=0.1, mode="max")
    state = s.initial_state()
    assert state.best == -math.inf
    data = json.loads(json.dumps(state.to_dict(), allow_nan=False))
    assert lrlab.PlateauState.from_dict(data) == state
    resumed = s.update(lrlab.PlateauState.from_dict(data), 0.3)
    assert resumed == s.update(state, 0.3)


def test_resume_from_a_saved_state_continues_identically() -> None:
    s = lrlab.join(
        [lrlab.linear(init=0.0, end=1.0, steps=3), lrlab.plateau(init=1.0, patience=1)], at=[3]
    )
    metrics = [3.0, 2.0, 1.0, 1.0, 1.0, 0.9, 0.9, 0.9, 0.9, 0.9]
    full = drive(s, metrics)
    state = s.initial_state()
    for m in metrics[:5]:
        state = s.update(state, m)
    saved = json.dumps(state.to_dict())
    state = lrlab.PlateauState.from_dict(json.loads(saved))
    rest = []
    for m in metrics[5:]:
        state = s.update(state, m)
        rest.append(s.lr(state))
    assert rest == full[5:]


def test_bad_metric_and_bad_state() -> None:
    s = lrlab.plateau(init=0.1)
    with pytest.raises(TypeError, match="update: metric must be a number, got 'low'"):
        s.update(s.initial_state(), "low")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="PlateauState: best must be a number, got 'worst'"):
        lrlab.PlateauState.from_dict(
            {"step": 0, "lr": 0.1, "best": "worst", "num_bad_epochs": 0, "cooldown_counter": 0}
        )


def test_state_from_dict_and_metric_types_are_checked() -> None:
    with pytest.raises(
        ValueError, match="PlateauState: missing cooldown_counter, num_bad_epochs in"
    ):
        lrlab.PlateauState.from_dict({"step": 0, "lr": 0.1, "best": 1.0})
    with pytest.raises(ValueError, match="PlateauState: best must be a number, got True"):
        lrlab.PlateauState.from_dict(
            {"step": 0, "lr": 0.1, "best": True, "num_bad_epochs": 0, "cooldown_counter": 0}
        )
    s = lrlab.plateau(init=0.1)
    with pytest.raises(TypeError, match=r"update: metric must be a number, got '0\.5'"):
        s.update(s.initial_state(), "0.5")  # type: ignore[arg-type]
