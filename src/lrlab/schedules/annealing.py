"""Annealing cycles: cosine, tanh or polynomial decays that restart (timm's cycle schedules)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar, Literal, final

import numpy as np

from lrlab.schedules._base import MAX_STEP, FloatArray, Schedule, int_power, set_field
from lrlab.schedules.checks import (
    ParameterError,
    check_choice,
    check_float,
    check_int,
    check_lr,
)

TANH_RANGE = (-7.0, 3.0)
"""The arguments of ``tanh`` at the start and the end of a cycle (timm's ``lb``, ``ub``)."""

SHAPES = ("cosine", "tanh", "polynomial")


@final
@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class annealing(Schedule):
    """Cycles that anneal from a peak down to ``end``, restarting after each cycle.

    Cycle ``i`` lasts ``period * mult**i`` steps and starts at its peak ``init * gamma**i``.
    At position ``p`` of a cycle of length ``L``, with ``x = p**k / L**k``, the value is
    ``end + (peak - end) * g`` where ``g`` is ``(1 + cos(pi * x)) / 2`` (``'cosine'``),
    ``(1 - x) ** power`` (``'polynomial'``) or ``(1 - tanh(-7 * (1 - p/L) + 3 * p/L)) / 2``
    (``'tanh'``). After ``cycles`` cycles (``None``: never) the value is ``end``.
    ``offset`` starts the schedule that many steps into its cycles: ``s(t)`` is the
    cycles at ``t + offset``. These are timm's ``CosineLRScheduler``,
    ``TanhLRScheduler`` and ``PolyLRScheduler`` (``t_initial=period``,
    ``cycle_mul=mult``, ``cycle_decay=gamma``, ``cycle_limit=cycles``,
    ``k_decay=k``, ``lr_min=end``); see `lrlab.from_timm`.

    >>> import lrlab
    >>> lrlab.annealing(init=1.0, period=4).values(6).round(6).tolist()
    [1.0, 0.853553, 0.5, 0.146447, 0.0, 0.0]
    >>> s = lrlab.annealing(init=1.0, period=2, mult=2.0, gamma=0.5, cycles=None,
    ...                     shape="polynomial", power=2.0)
    >>> s.values(7).tolist()
    [1.0, 0.25, 0.5, 0.28125, 0.125, 0.03125, 0.25]
    """

    family: ClassVar[str] = "annealing"
    init: float
    period: int
    end: float = 0.0
    shape: Literal["cosine", "tanh", "polynomial"] = "cosine"
    power: float = 1.0
    k: float = 1.0
    mult: float = 1.0
    gamma: float = 1.0
    cycles: int | None = 1
    offset: int = 0

    def __post_init__(self) -> None:
        f = self.family
        set_field(self, "init", check_lr(f, "init", self.init))
        set_field(self, "period", check_int(f, "period", self.period))
        set_field(self, "end", check_lr(f, "end", self.end))
        set_field(self, "shape", check_choice(f, "shape", self.shape, SHAPES))
        power = check_float(f, "power", self.power, minimum=0.0, maximum=64.0, strict_min=True)
        set_field(self, "power", power)
        # k <= 16 keeps p**k finite for every step up to 2**53
        set_field(
            self, "k", check_float(f, "k", self.k, minimum=0.0, maximum=16.0, strict_min=True)
        )
        set_field(self, "mult", check_float(f, "mult", self.mult, minimum=1.0, maximum=100.0))
        set_field(self, "gamma", check_float(f, "gamma", self.gamma, minimum=0.0, maximum=1.0))
        if self.cycles is not None:
            set_field(self, "cycles", check_int(f, "cycles", self.cycles))
        set_field(self, "offset", check_int(f, "offset", self.offset, minimum=0))
        if self.power != 1.0 and self.shape != "polynomial":
            raise ParameterError(
                f,
                "power",
                self.power,
                "{power} applies to shape='polynomial' only, got "
                f"{self.power!r} with shape={self.shape!r}",
            )
        if self.k != 1.0 and self.shape == "tanh":
            raise ParameterError(
                f, "k", self.k, f"{{k}} does not apply to shape='tanh', got {self.k!r}"
            )

    def _start(self, i: int) -> float:
        """The step (before ``offset``) where cycle ``i`` starts."""
        if self.mult == 1.0:
            return float(i * self.period)
        return (1 - self.mult**i) / (1 - self.mult) * self.period

    def _index(self, u: float) -> int:
        """The cycle that step ``u`` (before ``offset``) lies in."""
        return int(self._locate(np.array([u]))[0][0])

    def _locate(self, u: FloatArray) -> tuple[FloatArray, FloatArray, float | FloatArray]:
        """The cycle of each step ``u`` (before ``offset``), the position in it, its length.

        timm's arithmetic, with one correction: where float rounding puts a step at a
        restart into the cycle before or after it (``math.log(243, 3)`` is 4.999...), the
        step goes to the cycle that starts there.
        """
        period, m = float(self.period), self.mult
        if m == 1.0:
            i = np.floor(u / period)
            return i, u - period * i, period
        i = np.floor(np.log(1 - u / period * (1 - m)) / math.log(m))
        i = np.where(u < (1 - np.power(m, i)) / (1 - m) * period, i - 1, i)
        i = np.where(u >= (1 - np.power(m, i + 1)) / (1 - m) * period, i + 1, i)
        return i, u - (1 - np.power(m, i)) / (1 - m) * period, np.power(m, i) * period

    def _eval(self, t: FloatArray, driven: float | None) -> FloatArray:
        i, position, length = self._locate(t + self.offset)
        peak = self.init * int_power(self.gamma, i) if self.gamma != 1.0 else self.init
        out: FloatArray
        if self.shape == "tanh":
            low, high = TANH_RANGE
            x = position / length
            out = self.end + 0.5 * (peak - self.end) * (1 - np.tanh(low * (1.0 - x) + high * x))
        else:
            if self.k == 1.0:
                x = position / length
                angle = np.pi * position / length  # timm's operation order
            else:
                x = np.power(position, self.k) / np.power(length, self.k)
                angle = np.pi * np.power(position, self.k) / np.power(length, self.k)
            if self.shape == "cosine":
                out = self.end + 0.5 * (peak - self.end) * (1 + np.cos(angle))
            else:
                out = self.end + (peak - self.end) * np.power(1 - x, self.power)
        if self.cycles is None:
            return out
        return np.where(i < self.cycles, out, self.end)

    @property
    def length(self) -> int | None:
        """The steps until the last cycle ends (None when ``cycles`` is None or too many)."""
        if self.cycles is None:
            return None
        if self.mult != 1.0 and self.cycles * math.log(self.mult) > math.log(MAX_STEP):
            return None
        total = self._start(self.cycles)
        return None if total > MAX_STEP else max(math.ceil(total) - self.offset, 1)

    def _restarts(self, until: float) -> range:
        """The cycles ``i >= 1`` that start in ``(0, until)`` (after ``offset``)."""
        if until <= 0:  # a composite may ask about a phase that has not started
            return range(0)
        first = self._index(float(self.offset)) + 1
        top = self._index(self.offset + until)
        if self._start(top) >= self.offset + until:
            top -= 1
        if self.cycles is not None:
            top = min(top, self.cycles)
        return range(first, top + 1)

    def _marks(self, until: float) -> list[float]:
        cycles = self._restarts(until)
        if len(cycles) > 1000:
            return []
        return [self._start(i) - self.offset for i in cycles]

    def _mark_count(self, until: float) -> int:
        return len(self._restarts(until))
