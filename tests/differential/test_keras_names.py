"""`from_keras` against the documented formulas and against Keras 3 itself.

The golden tests compute each class's documented formula with ``math`` (fast, no Keras).
The differential tests (slow: importing Keras costs seconds) build the real
``keras.optimizers.schedules`` class on the torch backend in float64 and compare every
step; tolerance: relative 1e-12 (the largest error measured is 5e-14), except where a
test says otherwise and why.
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lrlab.schedules.checks import ParameterError
from lrlab.schedules.keras_names import CLASSES, from_keras

RTOL = 1e-12
STEPS = 400


def golden(name: str, t: int, **a: Any) -> float:
    """Keras's documented formula for ``name`` at step ``t``."""
    lr = a.get("initial_learning_rate", 0.0)
    if name == "CosineDecay":
        alpha, warm, target = a.get("alpha", 0.0), a.get("warmup_steps", 0), a.get("warmup_target")
        if target is not None and t < warm:
            return (target - lr) * (t / warm) + lr
        top, t = (lr, t) if target is None else (target, t - warm)
        x = min(t, a["decay_steps"]) / a["decay_steps"]
        return top * ((1 - alpha) * 0.5 * (1 + math.cos(math.pi * x)) + alpha)
    if name == "CosineDecayRestarts":
        mul, m, alpha = a.get("t_mul", 2.0), a.get("m_mul", 1.0), a.get("alpha", 0.0)
        x = t / a["first_decay_steps"]
        if mul == 1.0:
            i = math.floor(x)
            x -= i
        else:
            i = math.floor(math.log(1 - x * (1 - mul)) / math.log(mul))
            x = (x - (1 - mul**i) / (1 - mul)) / mul**i
        return lr * ((1 - alpha) * 0.5 * m**i * (1 + math.cos(math.pi * x)) + alpha)
    if name in ("ExponentialDecay", "InverseTimeDecay"):
        p = t / a["decay_steps"]
        p = math.floor(p) if a.get("staircase") else p
        if name == "ExponentialDecay":
            return lr * a["decay_rate"] ** p
        return lr / (1 + a["decay_rate"] * p)
    if name == "PiecewiseConstantDecay":
        for bound, value in zip(a["boundaries"], a["values"], strict=False):
            if t <= bound:
                return float(value)
        return float(a["values"][-1])
    end, power, steps = a.get("end_learning_rate", 0.0001), a.get("power", 1.0), a["decay_steps"]
    if a.get("cycle"):
        return (lr - end) * (1 - t / (steps * max(math.ceil(t / steps), 1))) ** power + end
    return (lr - end) * (1 - min(t, steps) / steps) ** power + end


CASES: list[tuple[str, dict[str, Any]]] = [
    ("CosineDecay", {"initial_learning_rate": 0.1, "decay_steps": 300}),
    ("CosineDecay", {"initial_learning_rate": 0.1, "decay_steps": 200, "alpha": 0.05}),
    (
        "CosineDecay",
        {
            "initial_learning_rate": 0.0,
            "decay_steps": 200,
            "warmup_target": 0.3,
            "warmup_steps": 50,
        },
    ),
    (
        "CosineDecay",
        {
            "initial_learning_rate": 0.5,
            "decay_steps": 100,
            "warmup_target": 0.2,
            "warmup_steps": 30,
            "alpha": 0.1,
        },
    ),
    ("CosineDecay", {"initial_learning_rate": 0.1, "decay_steps": 50, "warmup_target": 0.2}),
    ("CosineDecayRestarts", {"initial_learning_rate": 0.1, "first_decay_steps": 20}),
    (
        "CosineDecayRestarts",
        {
            "initial_learning_rate": 0.1,
            "first_decay_steps": 15,
            "t_mul": 1.0,
            "m_mul": 0.7,
            "alpha": 0.1,
        },
    ),
    (
        "CosineDecayRestarts",
        {
            "initial_learning_rate": 0.1,
            "first_decay_steps": 7,
            "t_mul": 3.0,
            "m_mul": 0.5,
            "alpha": 0.05,
        },
    ),
    (
        "CosineDecayRestarts",
        {"initial_learning_rate": 0.1, "first_decay_steps": 10, "t_mul": 1.5, "m_mul": 0.5},
    ),
    (
        "CosineDecayRestarts",
        {"initial_learning_rate": 0.1, "first_decay_steps": 10, "t_mul": 2.5, "alpha": 0.2},
    ),
    ("ExponentialDecay", {"initial_learning_rate": 0.1, "decay_steps": 30, "decay_rate": 0.5}),
    (
        "ExponentialDecay",
        {"initial_learning_rate": 0.1, "decay_steps": 30, "decay_rate": 0.9, "staircase": True},
    ),
    ("InverseTimeDecay", {"initial_learning_rate": 0.1, "decay_steps": 10, "decay_rate": 0.5}),
    (
        "InverseTimeDecay",
        {"initial_learning_rate": 0.1, "decay_steps": 7, "decay_rate": 2.0, "staircase": True},
    ),
    ("PiecewiseConstantDecay", {"boundaries": [0, 50, 200], "values": [1.0, 0.5, 0.1, 0.01]}),
    ("PiecewiseConstantDecay", {"boundaries": [100], "values": [0.1, 0.01]}),
    ("PolynomialDecay", {"initial_learning_rate": 0.1, "decay_steps": 300}),
    (
        "PolynomialDecay",
        {"initial_learning_rate": 0.1, "decay_steps": 120, "end_learning_rate": 0.0, "power": 2.0},
    ),
    (
        "PolynomialDecay",
        {"initial_learning_rate": 0.1, "decay_steps": 70, "power": 0.5, "cycle": True},
    ),
]


def misplaced(name: str, arguments: dict[str, Any]) -> np.ndarray:
    """Steps where Keras's ``floor(log(...) / log(t_mul))`` rounds down at a restart.

    There Keras's position in the cycle is 1 (the cycle's end); lrlab gives the restart.
    """
    out = np.zeros(STEPS, dtype=bool)
    mul = arguments.get("t_mul", 2.0)
    if name != "CosineDecayRestarts" or mul == 1.0:
        return out
    for t in range(STEPS):
        x = t / arguments["first_decay_steps"]
        i = math.floor(math.log(1 - x * (1 - mul)) / math.log(mul))
        out[t] = not 0 <= (x - (1 - mul**i) / (1 - mul)) / mul**i < 1
    return out


def compare(name: str, arguments: dict[str, Any], theirs: np.ndarray) -> float:
    ours = from_keras(name, **arguments).values(STEPS)
    skip = misplaced(name, arguments)
    if name == "ExponentialDecay" and not arguments.get("staircase"):
        # gamma = decay_rate ** (1 / decay_steps) is rounded once and raised to t: the
        # error grows as t * 2**-53 (see keras_names.ExponentialDecay)
        rtol = STEPS * 2.0**-52
    else:
        rtol = RTOL
    # and an absolute 1e-15 of the peak where the values reach 0 (as for Hugging Face)
    allowed = rtol * np.abs(theirs) + 1e-15 * float(np.max(np.abs(theirs)))
    off = (np.abs(ours - theirs) > allowed) & ~skip
    assert not off.any(), (name, arguments, np.flatnonzero(off)[:5])
    return float((np.abs(ours - theirs) / np.maximum(np.abs(theirs), 1e-300))[~skip].max())


@pytest.mark.parametrize(("name", "arguments"), CASES, ids=str)
def test_from_keras_equals_the_documented_formula(name: str, arguments: dict[str, Any]) -> None:
    theirs = np.array([golden(name, t, **arguments) for t in range(STEPS)])
    compare(name, arguments, theirs)


def test_every_class_is_covered() -> None:
    assert {name for name, _ in CASES} == set(CLASSES)


@pytest.fixture(scope="module")
def keras() -> Any:
    os.environ.setdefault("KERAS_BACKEND", "torch")
    module = pytest.importorskip("keras")
    module.config.set_floatx("float64")
    return module


def keras_lrs(keras: Any, name: str, arguments: dict[str, Any]) -> np.ndarray:
    schedule = getattr(keras.optimizers.schedules, name)(**arguments)
    return np.array([float(schedule(t)) for t in range(STEPS)])


@pytest.mark.slow
@pytest.mark.parametrize(("name", "arguments"), CASES, ids=str)
def test_from_keras_equals_keras(keras: Any, name: str, arguments: dict[str, Any]) -> None:
    compare(name, arguments, keras_lrs(keras, name, arguments))


@pytest.mark.slow
def test_keras_signatures_are_ours(keras: Any) -> None:
    import inspect

    for name, build in CLASSES.items():
        theirs = inspect.signature(getattr(keras.optimizers.schedules, name)).parameters
        ours = inspect.signature(build).parameters
        assert list(ours) == list(theirs), name
        for key, parameter in theirs.items():
            assert ours[key].default == parameter.default, (name, key)


@pytest.mark.slow
@given(
    first=st.integers(1, 40),
    mul=st.sampled_from([1.0, 2.0, 3.0, 1.5]),
    m=st.floats(0.1, 1.0),
    alpha=st.sampled_from([0.0, 0.01, 0.3]),
)
def test_drawn_restarts_equal_keras(
    keras: Any, first: int, mul: float, m: float, alpha: float
) -> None:
    arguments = {
        "initial_learning_rate": 0.2,
        "first_decay_steps": first,
        "t_mul": mul,
        "m_mul": m,
        "alpha": alpha,
    }
    if mul != round(mul) and alpha and m != 1.0:
        with pytest.raises(ParameterError, match="whole number"):
            from_keras("CosineDecayRestarts", **arguments)
        return
    compare("CosineDecayRestarts", arguments, keras_lrs(keras, "CosineDecayRestarts", arguments))


def test_keras_misplaces_some_restarts_and_lrlab_does_not() -> None:
    arguments = {"initial_learning_rate": 1.0, "first_decay_steps": 1, "t_mul": 3.0, "m_mul": 0.5}
    assert np.flatnonzero(misplaced("CosineDecayRestarts", arguments)).tolist() == [121]
    assert golden("CosineDecayRestarts", 121, **arguments) == 0.0  # the end of cycle 4
    assert from_keras("CosineDecayRestarts", **arguments)(121) == 0.5**5  # the start of cycle 5


@pytest.mark.parametrize(
    ("name", "arguments", "parameter", "message"),
    [
        ("CosineDecay", {"initial_learning_rate": 0.1}, "decay_steps", "decay_steps is required"),
        (
            "CosineDecay",
            {"initial_learning_rate": 0.1, "decay_steps": 0},
            "decay_steps",
            "positive int",
        ),
        (
            "CosineDecay",
            {"initial_learning_rate": 0.1, "decay_steps": 9, "steps": 2},
            "steps",
            "takes no steps",
        ),
        (
            "CosineDecay",
            {"initial_learning_rate": 0.1, "decay_steps": 9, "alpha": 2.0},
            "alpha",
            "alpha must be",
        ),
        ("Cosine", {}, "name", "unknown name 'Cosine'"),
        (
            "CosineDecayRestarts",
            {
                "initial_learning_rate": 0.1,
                "first_decay_steps": 9,
                "t_mul": 1.5,
                "m_mul": 0.5,
                "alpha": 0.1,
            },
            "t_mul",
            "whole number",
        ),
        (
            "ExponentialDecay",
            {"initial_learning_rate": 0.1, "decay_steps": 9, "decay_rate": 1.5},
            "decay_rate",
            "<= 1",
        ),
        (
            "PiecewiseConstantDecay",
            {"boundaries": [5, 5], "values": [1.0, 0.5, 0.1]},
            "boundaries",
            "strictly increasing",
        ),
        (
            "PiecewiseConstantDecay",
            {"boundaries": [5], "values": [1.0]},
            "values",
            "one more entry",
        ),
        (
            "PolynomialDecay",
            {"initial_learning_rate": 0.1, "decay_steps": 9, "cycle": 1},
            "cycle",
            "cycle must be True or False",
        ),
    ],
)
def test_bad_arguments_name_keras_parameter(
    name: str, arguments: dict[str, Any], parameter: str, message: str
) -> None:
    with pytest.raises(ParameterError, match=message) as caught:
        from_keras(name, **arguments)
    assert caught.value.parameter == parameter
