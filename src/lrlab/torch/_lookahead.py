"""`Lookahead`: the values of several schedules at integer steps, served in blocks."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from lrlab.schedules import Schedule


class Lookahead:
    """The values of several schedules at integer steps, served from blocks computed ahead.

    A training loop asks for one step after another, for every param group. Each block
    evaluates ``block`` steps of every distinct schedule with the vectorised path, so a
    step costs one list lookup however many groups there are, and the values are
    exactly ``schedule(t)``.

    >>> import lrlab
    >>> from lrlab.torch._lookahead import Lookahead
    >>> ahead = Lookahead([lrlab.step(init=1.0, period=2, gamma=0.5), lrlab.constant(value=0.3)])
    >>> [ahead(t) for t in range(3)]
    [[1.0, 0.3], [1.0, 0.3], [0.5, 0.3]]
    """

    __slots__ = ("_columns", "_distinct", "_rows", "_start", "block")

    def __init__(self, schedules: Sequence[Schedule], block: int = 512) -> None:
        distinct: dict[Schedule, int] = {}
        self._columns = [distinct.setdefault(s, len(distinct)) for s in schedules]
        self._distinct = list(distinct)
        self.block = block
        self._start = 0
        self._rows: list[list[float]] = []

    def __eq__(self, other: object) -> bool:
        """Two lookaheads are equal when they serve the same schedules, group for group."""
        if not isinstance(other, Lookahead):
            return NotImplemented
        return self._distinct == other._distinct and self._columns == other._columns

    __hash__ = None  # type: ignore[assignment]

    def __call__(self, t: int) -> list[float]:
        """Every schedule's value at integer step ``t >= 0`` (a new list)."""
        if not self._distinct:
            return []
        index = t - self._start
        if not 0 <= index < len(self._rows):
            table = np.stack([s.values(self.block, start=t) for s in self._distinct], axis=1)
            self._rows = table[:, self._columns].tolist()
            self._start, index = t, 0
        return list(self._rows[index])
