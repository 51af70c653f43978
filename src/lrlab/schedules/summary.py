"""Summary numbers of a schedule over a number of steps, exact or from samples.

Up to `EXACT_STEPS` steps every step is evaluated (in blocks, so memory stays flat);
beyond, the numbers come from both ends, the marks and their neighbours and
`SAMPLES` evenly spread steps, so ``steps=2**52`` takes milliseconds. Then ``first``
and ``last`` are still exact and the extremes are true values at the steps they name,
but the extremes between samples may be missed and the mean is an estimate:
`Summary.exact` says which case it is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import final

import numpy as np

from lrlab.schedules._base import FloatArray, Schedule, check_schedule
from lrlab.schedules.checks import check_int

EXACT_STEPS = 1 << 22
"""Up to this many steps every step is evaluated and every number is exact."""

SAMPLES = 1 << 18
"""Evenly spread steps evaluated beyond `EXACT_STEPS` (plus both ends and the marks)."""

ENDS = 4096
"""Steps evaluated one by one at each end beyond `EXACT_STEPS`."""

MARKS = 1000
"""The most marks a summary lists (it counts them all)."""

DEFAULT_STEPS = 1000
"""The steps summarised for a schedule without a `Schedule.length`."""

_BLOCK = 1 << 16


@final
@dataclass(frozen=True, slots=True, kw_only=True)
class Summary:
    """What `summarize` found: the values at both ends, the extremes, the mean, the marks.

    ``argmin``/``argmax`` are the first steps where ``min``/``max`` occur; ``marks`` are
    the first (at most `MARKS`) steps where the schedule changes course and
    ``mark_count`` how many there are in ``(0, steps)`` in all. ``exact`` is False when
    ``steps`` is above `EXACT_STEPS`: then ``min``, ``max`` (and their steps) are the
    extremes of the sampled steps and ``mean`` is estimated from evenly spread samples.

    >>> import lrlab
    >>> s = lrlab.summarize(lrlab.step(init=0.1, period=30, gamma=0.5), 100)
    >>> s.first, s.last, s.min, s.argmin, round(s.mean, 6), s.marks, s.exact
    (0.1, 0.0125, 0.0125, 90, 0.05375, (30.0, 60.0, 90.0), True)
    """

    spec: str
    steps: int
    first: float
    last: float
    min: float
    argmin: int
    max: float
    argmax: int
    mean: float
    marks: tuple[float, ...]
    mark_count: int
    exact: bool


def summarize(schedule: Schedule, steps: int | None = None) -> Summary:
    """Summary numbers of ``schedule`` over steps ``0 .. steps - 1``.

    ``steps`` defaults to the schedule's `Schedule.length`, else `DEFAULT_STEPS`. The
    numbers are exact up to `EXACT_STEPS` steps and sampled beyond (see `Summary`).

    >>> import lrlab
    >>> big = lrlab.summarize(lrlab.cosine(init=0.1, steps=10**12, end=0.001))
    >>> big.steps, big.first, big.last, big.min, big.exact
    (1000000000000, 0.1, 0.001, 0.001, False)
    >>> round(big.mean, 6)
    0.0505
    """
    check_schedule("summarize", "schedule", schedule)
    if steps is None:
        steps = schedule.length or DEFAULT_STEPS
    steps = check_int("summarize", "steps", steps)
    if schedule.metric_driven:
        raise TypeError(
            f"summarize: {schedule!r} has a metric-driven plateau phase: its values depend "
            "on the metric, so there is no curve to summarise"
        )
    exact = steps <= EXACT_STEPS
    numbers = _every_step(schedule, steps) if exact else _sampled(schedule, steps)
    marks, count = _first_marks(schedule, steps)
    return Summary(
        spec=repr(schedule),
        steps=steps,
        first=schedule(0),
        last=schedule(steps - 1),
        min=numbers[0],
        argmin=int(numbers[1]),
        max=numbers[2],
        argmax=int(numbers[3]),
        mean=numbers[4],
        marks=marks,
        mark_count=count,
        exact=exact,
    )


def _every_step(schedule: Schedule, steps: int) -> tuple[float, int, float, int, float]:
    low, high = (math.inf, 0), (-math.inf, 0)
    total = 0.0
    for start in range(0, steps, _BLOCK):
        lrs = schedule.values(min(_BLOCK, steps - start), start=start)
        total += float(lrs.sum())
        i, j = int(lrs.argmin()), int(lrs.argmax())
        low = min(low, (float(lrs[i]), start + i))
        high = max(high, (float(lrs[j]), -(start + j)))
    return low[0], low[1], high[0], -high[1], total / steps


def _sampled(schedule: Schedule, steps: int) -> tuple[float, int, float, int, float]:
    last = float(steps - 1)
    spread = np.floor((np.arange(SAMPLES) + 0.5) * (steps / SAMPLES))
    ends = np.arange(float(ENDS))
    near = np.array(schedule.marks(steps), dtype=np.float64)
    near = np.concatenate([np.floor(near) + d for d in (-1.0, 0.0, 1.0)] + [np.ceil(near)])
    candidates: FloatArray = np.unique(
        np.clip(np.concatenate([ends, last - ends, spread, near]), 0.0, last)
    )
    lrs = schedule(candidates)
    i, j = int(lrs.argmin()), int(lrs.argmax())
    mean = float(schedule(spread).mean())
    return float(lrs[i]), int(candidates[i]), float(lrs[j]), int(candidates[j]), mean


def _first_marks(schedule: Schedule, steps: int) -> tuple[tuple[float, ...], int]:
    """The first marks (at most `MARKS`, every one below some step) and the count of all."""
    until = float(steps)
    while True:
        count = schedule._mark_count(until)
        listed = schedule.marks(until)
        if count <= MARKS and (listed or count == 0):
            whole = until == steps
            return tuple(listed[:MARKS]), len(listed) if whole else schedule._mark_count(steps)
        until /= 2
