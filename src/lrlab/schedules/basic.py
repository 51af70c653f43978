"""Decay families: constant, step, multistep, exponential, inverse time, linear, polynomial,
piecewise."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, final

import numpy as np

from lrlab.schedules._base import (
    FloatArray,
    Schedule,
    count_multiples,
    int_power,
    multiples,
    set_field,
)
from lrlab.schedules.checks import (
    check_bool,
    check_float,
    check_increasing,
    check_int,
    check_lr,
    check_sequence,
    fail,
)


@final
@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class constant(Schedule):
    """The same learning rate at every step.

    >>> import lrlab
    >>> lrlab.constant(value=0.01)(12345)
    0.01
    """

    family: ClassVar[str] = "constant"
    value: float

    def __post_init__(self) -> None:
        set_field(self, "value", check_lr(self.family, "value", self.value))

    def _eval(self, t: FloatArray, driven: float | None) -> FloatArray:
        return np.full_like(t, self.value)


@final
@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class step(Schedule):
    """``init * gamma ** floor(t / period)``: multiply by ``gamma`` every ``period`` steps.

    torch's ``StepLR(step_size=period, gamma=gamma)``.

    >>> import lrlab
    >>> lrlab.step(init=0.1, period=30, gamma=0.5)([0, 29, 30, 60]).tolist()
    [0.1, 0.1, 0.05, 0.025]
    """

    family: ClassVar[str] = "step"
    init: float
    period: int
    gamma: float = 0.1

    def __post_init__(self) -> None:
        f = self.family
        set_field(self, "init", check_lr(f, "init", self.init))
        set_field(self, "period", check_int(f, "period", self.period))
        set_field(self, "gamma", check_float(f, "gamma", self.gamma, minimum=0.0, maximum=1.0))

    def _eval(self, t: FloatArray, driven: float | None) -> FloatArray:
        return self.init * int_power(self.gamma, np.floor(t / self.period))

    def _marks(self, until: float) -> list[float]:
        return multiples(self.period, until)

    def _mark_count(self, until: float) -> int:
        return count_multiples(self.period, until)


@final
@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class multistep(Schedule):
    """Multiply by ``gamma`` at each milestone: ``init * gamma ** #{m <= t}``.

    A milestone listed twice multiplies twice (torch's ``MultiStepLR`` does the same).

    >>> import lrlab
    >>> lrlab.multistep(init=1.0, milestones=[2, 4], gamma=0.1).values(5).round(6).tolist()
    [1.0, 1.0, 0.1, 0.1, 0.01]
    """

    family: ClassVar[str] = "multistep"
    init: float
    milestones: tuple[int, ...]
    gamma: float = 0.1

    def __post_init__(self) -> None:
        f = self.family
        set_field(self, "init", check_lr(f, "init", self.init))
        ms = tuple(
            check_int(f, "milestones", m, minimum=0)
            for m in check_sequence(f, "milestones", self.milestones)
        )
        if not ms:
            raise fail(f, "milestones", [], "must not be empty, got []")
        check_increasing(f, "milestones", ms, strict=False)
        set_field(self, "milestones", ms)
        set_field(self, "gamma", check_float(f, "gamma", self.gamma, minimum=0.0, maximum=1.0))

    def _eval(self, t: FloatArray, driven: float | None) -> FloatArray:
        count = np.searchsorted(np.asarray(self.milestones, dtype=np.float64), t, side="right")
        return self.init * int_power(self.gamma, count.astype(np.float64))

    def _marks(self, until: float) -> list[float]:
        return list(map(float, self.milestones))


@final
@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class exponential(Schedule):
    """``init * gamma ** t``: multiply by ``gamma`` every step.

    >>> import lrlab
    >>> lrlab.exponential(init=1.0, gamma=0.5).values(4).tolist()
    [1.0, 0.5, 0.25, 0.125]
    """

    family: ClassVar[str] = "exponential"
    init: float
    gamma: float

    def __post_init__(self) -> None:
        f = self.family
        set_field(self, "init", check_lr(f, "init", self.init))
        set_field(
            self,
            "gamma",
            check_float(f, "gamma", self.gamma, minimum=0.0, maximum=1.0, strict_min=True),
        )

    def _eval(self, t: FloatArray, driven: float | None) -> FloatArray:
        return self.init * np.power(self.gamma, t)


@final
@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class inverse_time(Schedule):
    """``init / (1 + rate * t / period)``: inverse-time decay (Keras's ``InverseTimeDecay``).

    With ``staircase=True`` the decay moves in steps: ``t / period`` is rounded down.

    >>> import lrlab
    >>> lrlab.inverse_time(init=1.0, period=2, rate=1.0).values(5).tolist()
    [1.0, 0.6666666666666666, 0.5, 0.4, 0.3333333333333333]
    >>> lrlab.inverse_time(init=1.0, period=2, rate=1.0, staircase=True).values(5).tolist()
    [1.0, 1.0, 0.5, 0.5, 0.3333333333333333]
    """

    family: ClassVar[str] = "inverse_time"
    init: float
    period: int
    rate: float
    staircase: bool = False

    def __post_init__(self) -> None:
        f = self.family
        set_field(self, "init", check_lr(f, "init", self.init))
        set_field(self, "period", check_int(f, "period", self.period))
        set_field(self, "rate", check_lr(f, "rate", self.rate))
        set_field(self, "staircase", check_bool(f, "staircase", self.staircase))

    def _eval(self, t: FloatArray, driven: float | None) -> FloatArray:
        p = t / self.period
        if self.staircase:
            p = np.floor(p)
        return self.init / (1 + self.rate * p)  # Keras's operation order

    def _marks(self, until: float) -> list[float]:
        return multiples(self.period, until) if self.staircase else []

    def _mark_count(self, until: float) -> int:
        return count_multiples(self.period, until) if self.staircase else 0


@final
@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class linear(Schedule):
    """A straight line from ``init`` to ``end`` over ``steps``, then ``end``.

    >>> import lrlab
    >>> lrlab.linear(init=1.0, end=0.0, steps=4).values(6).tolist()
    [1.0, 0.75, 0.5, 0.25, 0.0, 0.0]
    """

    family: ClassVar[str] = "linear"
    init: float
    end: float
    steps: int

    def __post_init__(self) -> None:
        f = self.family
        set_field(self, "init", check_lr(f, "init", self.init))
        set_field(self, "end", check_lr(f, "end", self.end))
        set_field(self, "steps", check_int(f, "steps", self.steps))

    def _eval(self, t: FloatArray, driven: float | None) -> FloatArray:
        x = np.minimum(t, self.steps) / self.steps
        # (1 - x) * init + x * end is exact at both ends (never a tiny negative end).
        return (1.0 - x) * self.init + x * self.end

    @property
    def length(self) -> int | None:
        """``steps``."""
        return self.steps

    def _marks(self, until: float) -> list[float]:
        return [self.steps]


@final
@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class polynomial(Schedule):
    """``end + (init - end) * (1 - t/steps) ** power`` over ``steps``, then ``end``.

    torch's ``PolynomialLR(total_iters=steps, power=power)`` is ``end=0``. With
    ``cycle=True`` the decay never ends: past each multiple of ``steps`` it restarts as
    the same decay stretched to the next multiple, ``(1 - t / (steps * ceil(t / steps)))``
    (Keras's ``PolynomialDecay(cycle=True)``).

    >>> import lrlab
    >>> lrlab.polynomial(init=1.0, steps=4, power=2.0).values(5).tolist()
    [1.0, 0.5625, 0.25, 0.0625, 0.0]
    >>> lrlab.polynomial(init=1.0, steps=2, cycle=True).values(5).tolist()
    [1.0, 0.5, 0.0, 0.25, 0.0]
    """

    family: ClassVar[str] = "polynomial"
    init: float
    steps: int
    end: float = 0.0
    power: float = 1.0
    cycle: bool = False

    def __post_init__(self) -> None:
        f = self.family
        set_field(self, "init", check_lr(f, "init", self.init))
        set_field(self, "steps", check_int(f, "steps", self.steps))
        set_field(self, "end", check_lr(f, "end", self.end))
        set_field(self, "power", check_float(f, "power", self.power, minimum=0.0, strict_min=True))
        set_field(self, "cycle", check_bool(f, "cycle", self.cycle))

    def _eval(self, t: FloatArray, driven: float | None) -> FloatArray:
        if self.cycle:  # Keras's operation order: t / (steps * ceil(t / steps))
            stretched: FloatArray = self.steps * np.maximum(np.ceil(t / self.steps), 1.0)
            remaining = 1.0 - t / stretched
        else:
            remaining = 1.0 - np.minimum(t, self.steps) / self.steps
        return self.end + (self.init - self.end) * np.power(remaining, self.power)

    @property
    def length(self) -> int | None:
        """``steps`` (None with ``cycle``: it never ends)."""
        return None if self.cycle else self.steps

    def _marks(self, until: float) -> list[float]:
        return multiples(self.steps, until) if self.cycle else [self.steps]

    def _mark_count(self, until: float) -> int:
        if self.cycle:
            return count_multiples(self.steps, until)
        return int(self.steps < until)


def _points(family: str, schedule: Schedule, boundaries: object, lrs: object) -> None:
    bs = tuple(
        check_int(family, "boundaries", b, minimum=0)
        for b in check_sequence(family, "boundaries", boundaries)
    )
    vs = tuple(check_lr(family, "lrs", v) for v in check_sequence(family, "lrs", lrs))
    check_increasing(family, "boundaries", bs)
    set_field(schedule, "boundaries", bs)
    set_field(schedule, "lrs", vs)


@final
@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class piecewise_constant(Schedule):
    """``lrs[i]`` on ``[boundaries[i-1], boundaries[i])``: one more lr than boundaries.

    >>> import lrlab
    >>> s = lrlab.piecewise_constant(boundaries=[2, 4], lrs=[0.1, 0.01, 0.001])
    >>> s.values(5).tolist()
    [0.1, 0.1, 0.01, 0.01, 0.001]
    """

    family: ClassVar[str] = "piecewise_constant"
    boundaries: tuple[int, ...]
    lrs: tuple[float, ...]

    def __post_init__(self) -> None:
        f = self.family
        _points(f, self, self.boundaries, self.lrs)
        if self.boundaries and self.boundaries[0] < 1:
            bounds = list(self.boundaries)
            raise fail(f, "boundaries", bounds, f"must be >= 1, got {bounds!r}")
        if len(self.lrs) != len(self.boundaries) + 1:
            raise fail(
                f,
                "lrs",
                list(self.lrs),
                f"must have one more entry than boundaries ({len(self.boundaries) + 1}), "
                f"got {len(self.lrs)}",
            )

    def _eval(self, t: FloatArray, driven: float | None) -> FloatArray:
        index = np.searchsorted(np.asarray(self.boundaries, dtype=np.float64), t, side="right")
        return np.asarray(self.lrs, dtype=np.float64)[index]

    def _marks(self, until: float) -> list[float]:
        return list(map(float, self.boundaries))


@final
@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class piecewise_linear(Schedule):
    """Straight lines through the points ``(boundaries[i], lrs[i])``, then the last lr.

    ``boundaries`` starts at 0 and increases strictly.

    >>> import lrlab
    >>> s = lrlab.piecewise_linear(boundaries=[0, 2, 4], lrs=[0.0, 1.0, 0.5])
    >>> s.values(6).tolist()
    [0.0, 0.5, 1.0, 0.75, 0.5, 0.5]
    """

    family: ClassVar[str] = "piecewise_linear"
    boundaries: tuple[int, ...]
    lrs: tuple[float, ...]

    def __post_init__(self) -> None:
        f = self.family
        _points(f, self, self.boundaries, self.lrs)
        if not self.boundaries or self.boundaries[0] != 0:
            bounds = list(self.boundaries)
            raise fail(f, "boundaries", bounds, f"must start at 0, got {bounds!r}")
        if len(self.lrs) != len(self.boundaries):
            raise fail(
                f,
                "lrs",
                list(self.lrs),
                f"must have one entry per boundary ({len(self.boundaries)}), got {len(self.lrs)}",
            )

    def _eval(self, t: FloatArray, driven: float | None) -> FloatArray:
        return np.interp(t, np.asarray(self.boundaries, dtype=np.float64), self.lrs)

    def _marks(self, until: float) -> list[float]:
        return list(map(float, self.boundaries))
