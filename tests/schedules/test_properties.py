"""Hypothesis properties that hold for every valid schedule, leaf or composite."""

from __future__ import annotations

import copy
import json
import math
import pickle

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import lrlab
from tests.strategies import leaves, schedules, steps_arrays

SPECIAL_STEPS = np.array([0, 1, 2, 10, 99, 100, 1000, 4999, 5000, 1e5, 1e7, 1e12, 1e15, 2.0**53])


@given(schedules(), steps_arrays)
def test_values_are_finite_and_non_negative(s: lrlab.Schedule, ts: list[float]) -> None:
    values = s(np.concatenate([np.asarray(ts), SPECIAL_STEPS]))
    assert values.dtype == np.float64
    assert np.isfinite(values).all()
    assert (values >= 0).all()


@given(schedules(), steps_arrays)
def test_scalar_equals_array_element(s: lrlab.Schedule, ts: list[float]) -> None:
    array = s(np.asarray(ts))
    for t, value in zip(ts, array, strict=True):
        scalar = s(t)
        assert type(scalar) is float
        assert scalar == value


@given(schedules())
def test_shape_is_kept_and_values_matches_call(s: lrlab.Schedule) -> None:
    grid = np.arange(12.0).reshape(3, 4)
    assert s(grid).shape == (3, 4)
    np.testing.assert_array_equal(s(grid).ravel(), s.values(12))
    np.testing.assert_array_equal(s.values(5, start=7), s(np.arange(7, 12)))


@given(schedules())
def test_dict_round_trip_through_json(s: lrlab.Schedule) -> None:
    data = json.loads(json.dumps(s.to_dict(), allow_nan=False))
    again = lrlab.from_dict(data)
    assert again == s
    assert hash(again) == hash(s)
    assert again.to_dict() == s.to_dict()


@given(schedules())
def test_pickle_and_copy_keep_equality(s: lrlab.Schedule) -> None:
    again = pickle.loads(pickle.dumps(s))
    assert again == s
    assert hash(again) == hash(s)
    assert copy.deepcopy(s) == s


@given(schedules())
def test_repr_is_a_spec_that_rebuilds_the_schedule(s: lrlab.Schedule) -> None:
    namespace = {name: getattr(lrlab, name) for name in lrlab.families()}
    assert eval(repr(s), {"__builtins__": {}}, namespace) == s


@given(leaves())
def test_schedules_are_immutable(s: lrlab.Schedule) -> None:
    name = next(iter(s.to_dict().keys() - {"family"}))
    try:
        setattr(s, name, 1)
    except AttributeError:
        return
    raise AssertionError(f"{s!r} accepted an assignment to {name}")


def _non_increasing(values: np.ndarray) -> bool:
    return bool(np.all(np.diff(values) <= 1e-12 * np.maximum(values[:-1], 1e-300)))


@given(
    st.one_of(
        st.builds(
            lrlab.step, init=st.floats(0, 10), period=st.integers(1, 50), gamma=st.floats(0, 1)
        ),
        st.builds(lrlab.exponential, init=st.floats(0, 10), gamma=st.floats(0.01, 1)),
        st.builds(
            lrlab.cosine, init=st.floats(1, 10), steps=st.integers(1, 500), end=st.floats(0, 1)
        ),
        st.builds(
            lrlab.polynomial,
            init=st.floats(1, 10),
            steps=st.integers(1, 500),
            end=st.floats(0, 1),
            power=st.floats(0.1, 4),
        ),
        st.builds(
            lrlab.linear, init=st.floats(1, 10), end=st.floats(0, 1), steps=st.integers(1, 500)
        ),
        st.builds(lrlab.inverse_sqrt, peak=st.floats(0, 10), timescale=st.integers(1, 500)),
        st.builds(
            lrlab.multistep,
            init=st.floats(0, 10),
            milestones=st.lists(st.integers(0, 800), min_size=1).map(sorted),
            gamma=st.floats(0, 1),
        ),
    )
)
def test_decaying_families_never_increase(s: lrlab.Schedule) -> None:
    assert _non_increasing(s.values(1000))


@given(
    inner=st.builds(lrlab.constant, value=st.floats(0, 10)),
    steps=st.integers(1, 200),
    start=st.floats(0.01, 1),
    shape=st.sampled_from(["linear", "cosine", "exponential"]),
)
def test_warmup_ramp_never_decreases(
    inner: lrlab.Schedule, steps: int, start: float, shape: str
) -> None:
    s = lrlab.warmup(inner, steps=steps, start_factor=start, shape=shape)  # type: ignore[arg-type]
    values = s.values(steps + 5)
    assert np.all(np.diff(values) >= -1e-12 * values.max())
    assert values[steps] == inner(0)


CONTINUOUS = st.one_of(
    st.builds(lrlab.linear, init=st.floats(0, 1), end=st.floats(0, 1), steps=st.integers(1, 100)),
    st.builds(lrlab.cosine, init=st.floats(0, 1), steps=st.integers(1, 100), end=st.floats(0, 1)),
    st.builds(
        lrlab.polynomial, init=st.floats(0, 1), steps=st.integers(1, 100), power=st.floats(1, 3)
    ),
    st.builds(lrlab.inverse_sqrt, peak=st.floats(0, 1), warmup_steps=st.integers(1, 100)),
    st.builds(
        lrlab.piecewise_linear,
        boundaries=st.just([0, 10, 50]),
        lrs=st.lists(st.floats(0, 1), min_size=3, max_size=3),
    ),
)


@given(CONTINUOUS)
def test_continuous_families_have_no_jumps(s: lrlab.Schedule) -> None:
    # A fine grid: a continuous curve moves by a small amount per tiny step everywhere,
    # including at the family's boundaries (end of warmup, end of decay).
    grid = np.linspace(0.0, 200.0, 200_001)
    assert np.max(np.abs(np.diff(s(grid)))) < 1e-2


@given(
    peak=st.floats(0.1, 1),
    steps=st.integers(100, 2000),
    frac=st.floats(0.1, 0.3),
    shape=st.sampled_from(["linear", "cosine", "1-sqrt"]),
)
def test_wsd_is_continuous_and_ends_at_end(
    peak: float, steps: int, frac: float, shape: str
) -> None:
    decay = max(1, round(steps * frac))
    s = lrlab.wsd(
        peak=peak, steps=steps, decay_steps=decay, warmup_steps=decay, end=0.01, shape=shape
    )  # type: ignore[arg-type]
    grid = np.linspace(0.0, steps + 10.0, 50 * steps)
    jumps = np.abs(np.diff(s(grid)))
    assert jumps.max() < peak * 0.2
    assert s(steps) == 0.01
    assert s(steps - decay) == peak


@given(
    init=st.floats(0.1, 1),
    period=st.integers(2, 50),
    mult=st.integers(1, 3),
    decay=st.floats(0.1, 1),
)
def test_restarts_jump_back_to_the_cycle_peak(
    init: float, period: int, mult: int, decay: float
) -> None:
    s = lrlab.cosine_restarts(init=init, period=period, mult=mult, decay=decay)
    start, length = 0, period
    for k in range(4):
        assert math.isclose(s(start), init * decay**k, rel_tol=1e-12)
        # just before the restart the cycle is near its floor
        assert s(start + length - 1e-9) < 1e-6 * init
        start, length = start + length, length * mult


@given(schedules(), st.integers(0, 2**32 - 1))
def test_order_of_steps_does_not_change_values(s: lrlab.Schedule, seed: int) -> None:
    # Sorted input takes a fast path (slices); any other order takes masks.
    steps = np.concatenate([np.arange(0.0, 3000.0, 7.0), SPECIAL_STEPS])
    steps.sort()
    order = np.random.default_rng(seed).permutation(steps.size)
    np.testing.assert_array_equal(s(steps[order]), s(steps)[order])


@given(
    decay=st.floats(0.05, 0.99),
    mult=st.integers(1, 3),
    period=st.integers(1, 30),
)
def test_long_arrays_equal_scalar_calls_with_decay(decay: float, mult: int, period: int) -> None:
    # long arrays take the table and slice paths; scalars take the one-element path
    s = lrlab.cosine_restarts(init=1.0, period=period, mult=mult, decay=decay)
    steps = np.arange(0.0, 3000.0)
    array = s(steps)
    shuffled = np.random.default_rng(1).permutation(steps)
    np.testing.assert_array_equal(s(shuffled), s(steps)[shuffled.astype(int)])
    assert [s(float(t)) for t in steps[::7]] == array[::7].tolist()
