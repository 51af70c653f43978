"""Bad input: every invalid parameter raises ValueError/TypeError naming family, parameter, value."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import lrlab
from lrlab.schedules import torch_names as tn

C = lrlab.constant(value=0.1)

CASES: list[tuple[Callable[..., Any], dict[str, Any], type[Exception], str]] = [
    (
        lrlab.cosine,
        {"init": 0.1, "steps": 0},
        ValueError,
        "cosine: steps must be a positive int, got 0",
    ),
    (
        lrlab.cosine,
        {"init": 0.1, "steps": -5},
        ValueError,
        "cosine: steps must be a positive int, got -5",
    ),
    (
        lrlab.cosine,
        {"init": 0.1, "steps": 10.5},
        TypeError,
        "cosine: steps must be a positive int, got 10.5",
    ),
    (
        lrlab.cosine,
        {"init": 0.1, "steps": 10.0},
        TypeError,
        "cosine: steps must be a positive int, got 10.0",
    ),
    (
        lrlab.cosine,
        {"init": 0.1, "steps": True},
        TypeError,
        "cosine: steps must be a positive int, got True",
    ),
    (
        lrlab.cosine,
        {"init": math.nan, "steps": 10},
        ValueError,
        "cosine: init must be finite, got nan",
    ),
    (
        lrlab.cosine,
        {"init": math.inf, "steps": 10},
        ValueError,
        "cosine: init must be finite, got inf",
    ),
    (lrlab.cosine, {"init": -0.1, "steps": 10}, ValueError, "cosine: init must be >= 0, got -0.1"),
    (
        lrlab.cosine,
        {"init": "0.1", "steps": 10},
        TypeError,
        "cosine: init must be a number, got '0.1'",
    ),
    (
        lrlab.cosine,
        {"init": 0.1, "steps": 10, "periodic": 1},
        TypeError,
        "cosine: periodic must be True or False, got 1",
    ),
    (lrlab.constant, {"value": None}, TypeError, "constant: value must be a number, got None"),
    (
        lrlab.step,
        {"init": 0.1, "period": 0},
        ValueError,
        "step: period must be a positive int, got 0",
    ),
    (
        lrlab.step,
        {"init": 0.1, "period": 3, "gamma": 1.5},
        ValueError,
        "step: gamma must be >= 0 and <= 1, got 1.5",
    ),
    (
        lrlab.multistep,
        {"init": 0.1, "milestones": []},
        ValueError,
        "multistep: milestones must not be empty, got []",
    ),
    (
        lrlab.multistep,
        {"init": 0.1, "milestones": [80, 30]},
        ValueError,
        "multistep: milestones must be sorted (non-decreasing), got [80, 30]",
    ),
    (
        lrlab.multistep,
        {"init": 0.1, "milestones": [-1]},
        ValueError,
        "multistep: milestones must be an int >= 0, got -1",
    ),
    (
        lrlab.multistep,
        {"init": 0.1, "milestones": 30},
        TypeError,
        "multistep: milestones must be a list, got 30",
    ),
    (
        lrlab.exponential,
        {"init": 0.1, "gamma": 0.0},
        ValueError,
        "exponential: gamma must be > 0 and <= 1, got 0.0",
    ),
    (
        lrlab.exponential,
        {"init": 0.1, "gamma": 1.01},
        ValueError,
        "exponential: gamma must be > 0 and <= 1, got 1.01",
    ),
    (
        lrlab.polynomial,
        {"init": 0.1, "steps": 5, "power": 0},
        ValueError,
        "polynomial: power must be > 0, got 0",
    ),
    (
        lrlab.cosine_restarts,
        {"init": 0.1, "period": 10, "mult": 0},
        ValueError,
        "cosine_restarts: mult must be a positive int, got 0",
    ),
    (
        lrlab.cosine_restarts,
        {"init": 0.1, "period": 10, "mult": 1.5},
        TypeError,
        "cosine_restarts: mult must be a positive int, got 1.5",
    ),
    (
        lrlab.cosine_restarts,
        {"init": 0.1, "period": 10, "decay": 0.0},
        ValueError,
        "cosine_restarts: decay must be > 0 and <= 1, got 0.0",
    ),
    (
        lrlab.cyclic,
        {"init": 0.1, "peak": 1.0, "up_steps": 10, "mode": "tri"},
        ValueError,
        "cyclic: mode must be one of 'triangular', 'triangular2', 'exp_range', got 'tri'",
    ),
    (
        lrlab.cyclic,
        {"init": 0.1, "peak": 1.0, "up_steps": 10, "down_steps": 0},
        ValueError,
        "cyclic: down_steps must be a positive int, got 0",
    ),
    (
        lrlab.one_cycle,
        {"peak": 0.1, "steps": 3},
        ValueError,
        "one_cycle: warmup_frac=0.3 with steps=3 gives a phase of no length; use more steps or a warmup_frac further from 0 and 1",
    ),
    (
        lrlab.one_cycle,
        {"peak": 0.1, "steps": 100, "warmup_frac": 1.5},
        ValueError,
        "one_cycle: warmup_frac must be >= 0 and <= 1, got 1.5",
    ),
    (
        lrlab.one_cycle,
        {"peak": 0.1, "steps": 100, "shape": "cosine"},
        ValueError,
        "one_cycle: shape must be one of 'cos', 'linear', got 'cosine'",
    ),
    (
        lrlab.inverse_sqrt,
        {"peak": 0.1},
        ValueError,
        "inverse_sqrt: timescale must be given when warmup_steps is 0, got None",
    ),
    (
        lrlab.wsd,
        {"peak": 0.1, "steps": 10, "decay_steps": 8, "warmup_steps": 3},
        ValueError,
        "wsd: warmup_steps + decay_steps must be <= steps (10), got 3 + 8",
    ),
    (
        lrlab.wsd,
        {"peak": 0.1, "steps": 10, "decay_steps": 2, "shape": "sqrt"},
        ValueError,
        "wsd: shape must be one of 'linear', 'cosine', '1-sqrt', got 'sqrt'",
    ),
    (
        lrlab.piecewise_constant,
        {"boundaries": [10, 5], "lrs": [1, 2, 3]},
        ValueError,
        "piecewise_constant: boundaries must be strictly increasing, got [10, 5]",
    ),
    (
        lrlab.piecewise_constant,
        {"boundaries": [5], "lrs": [1]},
        ValueError,
        "piecewise_constant: lrs must have one more entry than boundaries (2), got 1",
    ),
    (
        lrlab.piecewise_constant,
        {"boundaries": [0], "lrs": [1, 2]},
        ValueError,
        "piecewise_constant: boundaries must be >= 1, got [0]",
    ),
    (
        lrlab.piecewise_linear,
        {"boundaries": [1, 5], "lrs": [1, 2]},
        ValueError,
        "piecewise_linear: boundaries must start at 0, got [1, 5]",
    ),
    (
        lrlab.piecewise_linear,
        {"boundaries": [0, 5], "lrs": [1, math.nan]},
        ValueError,
        "piecewise_linear: lrs must be finite, got nan",
    ),
    (
        lrlab.warmup,
        {"inner": 0.1, "steps": 5},
        TypeError,
        "warmup: inner must be a schedule, got 0.1",
    ),
    (
        lrlab.warmup,
        {"inner": C, "steps": 0},
        ValueError,
        "warmup: steps must be a positive int, got 0",
    ),
    (
        lrlab.warmup,
        {"inner": C, "steps": 5, "mode": "before"},
        ValueError,
        "warmup: mode must be one of 'prefix', 'overlay', got 'before'",
    ),
    (
        lrlab.warmup,
        {"inner": C, "steps": 5, "shape": "exponential"},
        ValueError,
        "warmup: shape='exponential' needs start_factor > 0, got 0.0",
    ),
    (
        lrlab.join,
        {"phases": [C, C], "at": []},
        ValueError,
        "join: at must have one boundary fewer than phases (1), got 0",
    ),
    (
        lrlab.join,
        {"phases": [C, C, C], "at": [10, 10]},
        ValueError,
        "join: at must be strictly increasing, got [10, 10]",
    ),
    (
        lrlab.join,
        {"phases": [], "at": []},
        ValueError,
        "join: phases needs at least 1 schedules, got 0",
    ),
    (
        lrlab.join,
        {"phases": [C, C], "at": [0]},
        ValueError,
        "join: at must be a positive int, got 0",
    ),
    (
        lrlab.product,
        {"factors": [C]},
        ValueError,
        "product: factors needs at least 2 schedules, got 1",
    ),
    (lrlab.scale, {"inner": C, "factor": -1.0}, ValueError, "scale: factor must be >= 0, got -1.0"),
    (lrlab.clip, {"inner": C}, ValueError, "clip: give low, high or both, got neither"),
    (
        lrlab.clip,
        {"inner": C, "low": 0.5, "high": 0.1},
        ValueError,
        "clip: low must be <= high (0.1), got 0.5",
    ),
    (
        lrlab.plateau,
        {"init": 0.1, "factor": 1.0},
        ValueError,
        "plateau: factor must be >= 0 and < 1, got 1.0",
    ),
    (
        lrlab.plateau,
        {"init": 0.1, "mode": "minimum"},
        ValueError,
        "plateau: mode must be one of 'min', 'max', got 'minimum'",
    ),
    (
        lrlab.plateau,
        {"init": 0.1, "patience": -1},
        ValueError,
        "plateau: patience must be an int >= 0, got -1",
    ),
    (
        tn.StepLR,
        {"lr": 0.1, "step_size": 0},
        ValueError,
        "StepLR: step_size must be a positive int, got 0",
    ),
    (
        tn.CosineAnnealingLR,
        {"lr": 0.1, "T_max": 0},
        ValueError,
        "CosineAnnealingLR: T_max must be a positive int, got 0",
    ),
    (
        tn.OneCycleLR,
        {"max_lr": 0.1},
        ValueError,
        "OneCycleLR: give total_steps, or epochs and steps_per_epoch, got total_steps=None, epochs=None, steps_per_epoch=None",
    ),
    (
        tn.LinearLR,
        {"lr": 0.1, "start_factor": 0.0},
        ValueError,
        "LinearLR: start_factor must be > 0 and <= 1, got 0.0",
    ),
]


@pytest.mark.parametrize(
    ("factory", "kwargs", "error", "message"), CASES, ids=lambda v: str(v)[:40]
)
def test_bad_parameter_names_family_parameter_and_value(
    factory: Callable[..., Any], kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    if factory in (lrlab.warmup, lrlab.scale, lrlab.clip):
        kwargs = dict(kwargs)
        args: tuple[Any, ...] = (kwargs.pop("inner"),)
    elif factory in (lrlab.join,):
        kwargs = dict(kwargs)
        args = (kwargs.pop("phases"),)
    elif factory in (lrlab.product,):
        args, kwargs = (kwargs["factors"],), {}
    else:
        args = ()
    with pytest.raises(error) as info:
        factory(*args, **kwargs)
    assert str(info.value) == message


def test_two_plateaus_in_one_schedule_are_rejected() -> None:
    p = lrlab.plateau(init=0.1)
    with pytest.raises(
        ValueError, match="join: at most one metric-driven plateau per schedule, got 2"
    ):
        lrlab.join([p, p], at=[5])


@pytest.mark.parametrize("bad", [-1, -0.5, math.nan, math.inf, 2.0**53 + 2, 1e300])
def test_bad_steps_at_evaluation(bad: float) -> None:
    s = lrlab.cosine(init=0.1, steps=10)
    message = re.escape(f"t must be a step between 0 and 2**53, got {bad!r}")
    with pytest.raises(ValueError, match=message):
        s(bad)
    with pytest.raises(ValueError, match=message):
        s(np.array([0.0, bad]))


@pytest.mark.parametrize("bad", ["3", None, [True], np.array(["a"])])
def test_non_numeric_steps_are_a_type_error(bad: object) -> None:
    with pytest.raises(TypeError, match="t must be a number or an array of numbers"):
        lrlab.constant(value=1.0)(bad)  # type: ignore[call-overload]


def test_values_validates_its_arguments() -> None:
    with pytest.raises(ValueError, match="values: n must be an int >= 0, got -1"):
        lrlab.constant(value=1.0).values(-1)
    assert lrlab.constant(value=1.0).values(0).shape == (0,)


def test_from_dict_errors() -> None:
    with pytest.raises(
        ValueError, match="from_dict: unknown family 'cosin'; known: annealing, clip, constant"
    ):
        lrlab.from_dict({"family": "cosin", "init": 0.1})
    with pytest.raises(
        ValueError,
        match="from_dict: cosine has no parameter 'T_max'; parameters: end, init, periodic, steps",
    ):
        lrlab.from_dict({"family": "cosine", "init": 0.1, "T_max": 10})
    with pytest.raises(ValueError, match="from_dict: 'family' must be a string, got None"):
        lrlab.from_dict({"init": 0.1})
    with pytest.raises(TypeError, match="from_dict: expected a dict, got list"):
        lrlab.from_dict([])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="cosine: steps must be a positive int, got 0"):
        lrlab.from_dict({"family": "cosine", "init": 0.1, "steps": 0})


ANYTHING = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**6), max_value=10**6),
    st.floats(),
    st.text(max_size=5),
    st.lists(st.integers(min_value=-5, max_value=100), max_size=4),
    st.lists(st.floats(), max_size=3),
    st.sampled_from(
        [
            "linear",
            "cosine",
            "cos",
            "1-sqrt",
            "triangular2",
            "exp_range",
            "min",
            "max",
            "rel",
            "abs",
            "prefix",
            "overlay",
        ]
    ),
)


@given(
    data=st.data(),
    name=st.sampled_from(
        sorted(set(lrlab.families()) - {"warmup", "join", "product", "scale", "clip"})
    ),
)
def test_random_parameters_either_build_a_finite_schedule_or_raise_cleanly(
    data: st.DataObject, name: str
) -> None:
    cls = lrlab.families()[name]
    fields = [f for f in cls.__dataclass_fields__ if f != "family"]
    kwargs = {f: data.draw(ANYTHING, label=f) for f in fields if data.draw(st.booleans())}
    try:
        s = cls(**kwargs)
    except (ValueError, TypeError):
        return
    if s.metric_driven:
        state = s.initial_state()
        for metric in (1.0, math.nan, 0.5):
            state = s.update(state, metric)
            assert math.isfinite(s.lr(state))
        return
    values = s(np.array([0, 1, 7, 100, 1e4, 1e9, 1e15]))
    assert np.isfinite(values).all()


@pytest.mark.parametrize(
    ("factory", "kwargs", "message"),
    [
        (
            lrlab.cosine,
            {"init": 0.1, "steps": 2**53},
            "cosine: steps must be at most 2**52, got 9007199254740992",
        ),
        (
            lrlab.multistep,
            {"init": 0.1, "milestones": [10**400]},
            "multistep: milestones must be at most 2**52, got 10000000000000000000...0000000000 (401 digits)",
        ),
        (
            lrlab.cosine_restarts,
            {"init": 0.1, "period": 1, "mult": 10**200},
            "cosine_restarts: mult must be at most 1048576, got 10000000000000000000...0000000000 (201 digits)",
        ),
        (
            lrlab.cyclic,
            {"init": 1.0, "peak": 0.0, "up_steps": 2**52, "down_steps": 1},
            "cyclic: up_steps + down_steps must be at most 2**52, got 4503599627370497",
        ),
        (lrlab.constant, {"value": 1e308}, "constant: value must be at most 1e+10, got 1e+308"),
        (
            lrlab.scale,
            {"inner": C, "factor": 1e11},
            "scale: factor must be at most 1e+10, got 100000000000.0",
        ),
    ],
)
def test_upper_bounds_keep_every_value_finite(
    factory: Callable[..., Any], kwargs: dict[str, Any], message: str
) -> None:
    kwargs = dict(kwargs)
    args = (kwargs.pop("inner"),) if "inner" in kwargs else ()
    with pytest.raises(ValueError, match=re.escape(message)):
        factory(*args, **kwargs)


def test_steps_beyond_2_53_and_complex_steps_are_rejected() -> None:
    s = lrlab.constant(value=1.0)
    with pytest.raises(
        ValueError, match=re.escape("t must be a step between 0 and 2**53, got 9007199254740993")
    ):
        s(2**53 + 1)
    with pytest.raises(
        ValueError,
        match=re.escape("values: start must be at most 2**52, got 9007199254740991"),
    ):
        s.values(3, start=2**53 - 1)
    with pytest.raises(TypeError, match="t must be a number or an array of numbers"):
        s(np.array([1 + 0j]))
    with pytest.raises(ValueError, match="marks: until must be finite, got inf"):
        s.marks(math.inf)


def test_marks_before_a_phase_starts() -> None:
    s = lrlab.join(
        [lrlab.constant(value=1.0), lrlab.cosine_restarts(init=1.0, period=2, mult=2)], at=[100]
    )
    assert s.marks(10) == []
    assert s.marks(104) == [100.0, 102.0]
    assert lrlab.constant(value=1.0).marks(0) == []


def test_step_at_the_largest_step() -> None:
    values = lrlab.step(init=1.0, period=1, gamma=0.5)(np.full(64, 2.0**53))
    assert values.tolist() == [0.0] * 64
    mixed = lrlab.step(init=1.0, period=1, gamma=1.0)(np.array([2.0**53 - 1] * 99 + [2.0**53]))
    assert mixed.tolist() == [1.0] * 100
