"""`summarize`: exact numbers up to EXACT_STEPS, sampled (and fast) beyond."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lrlab
from lrlab.schedules import summary
from tests.strategies import schedules


@settings(max_examples=60)
@given(schedules(), st.integers(1, 3000))
def test_exact_summary_equals_every_step(s: lrlab.Schedule, steps: int) -> None:
    if s.metric_driven:
        return
    got = lrlab.summarize(s, steps)
    lrs = s.values(steps)
    assert got.exact
    assert (got.first, got.last) == (lrs[0], lrs[-1])
    assert (got.min, got.argmin) == (lrs.min(), int(lrs.argmin()))
    assert (got.max, got.argmax) == (lrs.max(), int(lrs.argmax()))
    assert got.mean == pytest.approx(lrs.mean(), rel=1e-12, abs=1e-300)
    listed = s.marks(steps)
    if listed or not got.marks:
        assert got.marks == tuple(listed)[: summary.MARKS]
    else:  # too many to list up to ``steps``: the summary lists the first ones
        assert got.marks == tuple(s.marks(math.nextafter(got.marks[-1], math.inf)))


def test_summary_counts_marks_it_does_not_list() -> None:
    got = lrlab.summarize(lrlab.step(init=1.0, period=1, gamma=0.9), 10**6)
    assert got.mark_count == 10**6 - 1
    assert got.marks[:3] == (1.0, 2.0, 3.0)
    assert 0 < len(got.marks) <= summary.MARKS
    joined = lrlab.join(
        [lrlab.constant(value=1.0), lrlab.cyclic(init=0.0, peak=1.0, up_steps=1)], at=[10]
    )
    got = lrlab.summarize(joined, 10_010)
    assert got.mark_count == 1 + 9999
    assert got.marks[:3] == (10.0, 11.0, 12.0)


def test_sampled_summary_of_a_huge_schedule() -> None:
    s = lrlab.warmup(lrlab.cosine(init=0.1, steps=10**12, end=0.001), steps=10**9)
    got = lrlab.summarize(s)
    assert got.steps == 10**12 + 10**9
    assert not got.exact
    assert (got.first, got.last) == (0.0, s(got.steps - 1))
    assert (got.max, got.argmax) == (0.1, 10**9)
    assert got.min == 0.0
    assert got.mean == pytest.approx(0.0505, rel=1e-3)  # the cosine's mean, warmup aside
    assert got.marks == (1e9,)
    top = lrlab.summarize(lrlab.constant(value=0.5), 2**52)
    assert (top.min, top.max, top.mean, top.exact) == (0.5, 0.5, 0.5, False)


def test_sampling_finds_extremes_next_to_marks() -> None:
    s = lrlab.piecewise_constant(boundaries=[123_456_789, 123_456_790], lrs=[0.1, 5.0, 0.1])
    got = lrlab.summarize(s, 10**10)
    assert (got.max, got.argmax) == (5.0, 123_456_789)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match=r"^summarize: steps must be a positive int, got 0$"):
        lrlab.summarize(lrlab.constant(value=1.0), 0)
    with pytest.raises(TypeError, match=r"^summarize: schedule must be a schedule, got 3$"):
        lrlab.summarize(3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"summarize: plateau.* has a metric-driven plateau"):
        lrlab.summarize(lrlab.plateau(init=0.1))
    assert lrlab.summarize(lrlab.exponential(init=1.0, gamma=0.5)).steps == 1000
    assert np.isfinite(lrlab.summarize(lrlab.exponential(init=1.0, gamma=0.5), 2**52).mean)
