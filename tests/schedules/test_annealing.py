"""`annealing`, `inverse_time` and `polynomial(cycle=True)`: formulas, relatives, checks."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import lrlab
from lrlab.schedules.checks import ParameterError

lrs = st.floats(min_value=1e-6, max_value=10.0)
periods = st.integers(min_value=1, max_value=500)


@given(init=lrs, end=lrs, period=periods)
def test_one_cosine_cycle_is_cosine(init: float, end: float, period: int) -> None:
    t = np.arange(3 * period, dtype=float)
    ours = lrlab.annealing(init=init, period=period, end=end)(t)
    theirs = lrlab.cosine(init=init, steps=period, end=end)(t)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-15 * max(init, end))


@given(init=lrs, period=periods, mult=st.integers(1, 4), gamma=st.floats(0.1, 1.0))
def test_cosine_cycles_to_zero_are_cosine_restarts(
    init: float, period: int, mult: int, gamma: float
) -> None:
    # with end = 0 both shrink the peaks the same way: init * gamma**i
    t = np.arange(0, 40 * period, 0.5)
    ours = lrlab.annealing(init=init, period=period, mult=float(mult), gamma=gamma, cycles=None)
    theirs = lrlab.cosine_restarts(init=init, period=period, mult=mult, decay=gamma)
    np.testing.assert_allclose(ours(t), theirs(t), rtol=1e-9, atol=1e-12 * init)


@given(init=lrs, end=lrs, period=periods, power=st.floats(0.1, 5.0))
def test_one_polynomial_cycle_is_polynomial(
    init: float, end: float, period: int, power: float
) -> None:
    t = np.arange(2 * period, dtype=float)
    ours = lrlab.annealing(init=init, period=period, end=end, shape="polynomial", power=power)
    theirs = lrlab.polynomial(init=init, steps=period, end=end, power=power)
    np.testing.assert_allclose(ours(t), theirs(t), rtol=1e-12, atol=1e-15 * max(init, end))


@given(
    period=periods,
    offset=st.integers(0, 2000),
    mult=st.sampled_from([1.0, 1.5, 2.0, 3.0]),
    shape=st.sampled_from(["cosine", "tanh", "polynomial"]),
)
def test_offset_shifts_the_cycles(period: int, offset: int, mult: float, shape: str) -> None:
    base = lrlab.annealing(init=1.0, period=period, mult=mult, shape=shape, cycles=6)
    shifted = lrlab.annealing(
        init=1.0, period=period, mult=mult, shape=shape, cycles=6, offset=offset
    )
    t = np.arange(500, dtype=float)
    np.testing.assert_allclose(shifted(t), base(t + offset), rtol=1e-12, atol=1e-15)


@given(
    period=periods,
    mult=st.sampled_from([1.0, 1.25, 2.0, 3.0]),
    cycles=st.none() | st.integers(1, 8),
    offset=st.integers(0, 300),
    until=st.floats(1.0, 5000.0),
)
def test_marks_are_the_restarts_and_the_count_agrees(
    period: int, mult: float, cycles: int | None, offset: int, until: float
) -> None:
    s = lrlab.annealing(init=1.0, period=period, mult=mult, cycles=cycles, offset=offset)
    marks, count = s.marks(until), s._mark_count(until)
    assert len(marks) == count if count <= 1000 else marks == []  # at most 1000 are listed
    for mark in marks:  # a restart: the value jumps back up (or the cycles end)
        before, at = s(mark - 1e-6), s(mark)
        assert at > before or at == 0.0


def test_cycle_starts_and_length() -> None:
    s = lrlab.annealing(init=1.0, period=10, mult=2.0, cycles=3)
    assert s.marks(1000) == [10.0, 30.0, 70.0]
    assert s.length == 70
    assert s(70) == 0.0
    assert s(30) == 1.0
    assert lrlab.annealing(init=1.0, period=10, cycles=None).length is None
    assert lrlab.annealing(init=1.0, period=10, cycles=3, offset=25).length == 5
    assert lrlab.annealing(init=1.0, period=10, mult=100.0, cycles=2**40).length is None


def test_k_decay_and_tanh_formulas() -> None:
    s = lrlab.annealing(init=1.0, period=10, k=2.0)
    assert s(5) == pytest.approx(0.5 * (1 + math.cos(math.pi * 25 / 100)), rel=1e-15)
    tanh = lrlab.annealing(init=1.0, period=10, shape="tanh")
    assert tanh(0) == pytest.approx(0.5 * (1 - math.tanh(-7.0)), rel=1e-15)
    assert tanh(4) == pytest.approx(0.5 * (1 - math.tanh(-7.0 * 0.6 + 3.0 * 0.4)), rel=1e-15)


def test_values_are_finite_up_to_the_last_step() -> None:
    s = lrlab.annealing(init=1.0, period=3, mult=100.0, k=16.0, cycles=None, offset=2**52)
    assert np.isfinite(s(np.array([0.0, 1.0, 2.0**53]))).all()


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"power": 2.0}, "power"),
        ({"shape": "tanh", "k": 2.0}, "k"),
        ({"mult": 0.5}, "mult"),
        ({"gamma": 1.5}, "gamma"),
        ({"cycles": 0}, "cycles"),
        ({"offset": -1}, "offset"),
        ({"k": 17.0}, "k"),
        ({"shape": "cos"}, "shape"),
    ],
)
def test_bad_annealing_parameters_are_named(kwargs: dict[str, object], parameter: str) -> None:
    with pytest.raises(ParameterError) as caught:
        lrlab.annealing(init=1.0, period=10, **kwargs)  # type: ignore[arg-type]
    assert caught.value.parameter == parameter
    assert str(caught.value).startswith("annealing: ")


@given(init=lrs, period=periods, rate=st.floats(0.0, 100.0), staircase=st.booleans())
def test_inverse_time_formula(init: float, period: int, rate: float, staircase: bool) -> None:
    s = lrlab.inverse_time(init=init, period=period, rate=rate, staircase=staircase)
    for t in (0, 1, period - 1, period, 7 * period + 3):
        p = math.floor(t / period) if staircase else t / period
        assert s(t) == pytest.approx(init / (1 + rate * p), rel=1e-15)
    assert s.marks(3 * period + 1) == ([period, 2 * period, 3 * period] if staircase else [])


@given(init=lrs, end=lrs, period=periods, power=st.floats(0.1, 5.0))
def test_polynomial_cycles_restart_stretched(
    init: float, end: float, period: int, power: float
) -> None:
    s = lrlab.polynomial(init=init, steps=period, end=end, power=power, cycle=True)
    plain = lrlab.polynomial(init=init, steps=period, end=end, power=power)
    t = np.arange(period + 1, dtype=float)
    np.testing.assert_allclose(s(t), plain(t), rtol=1e-12)  # the first cycle is the decay
    for k in (1, 2, 5):  # cycle k + 1 is the last period of the decay over (k + 1) * period
        stretched = lrlab.polynomial(init=init, steps=(k + 1) * period, end=end, power=power)
        u = np.arange(k * period + 1, (k + 1) * period + 1, dtype=float)
        np.testing.assert_allclose(s(u), stretched(u), rtol=1e-12, atol=1e-15 * max(init, end))
    assert s.length is None
    assert s.marks(3 * period + 1) == [period, 2 * period, 3 * period]
