"""Composition as data: warmup, join (phases), product, scale and clip.

Composites hold their parts as fields, so they compare, hash, print and serialise like
any family. A tree may hold at most one metric-driven `plateau` node.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar, Literal, final

import numpy as np

from lrlab.schedules._base import MAX_DEPTH, FloatArray, Schedule, check_schedule, pieces, set_field
from lrlab.schedules.checks import (
    MAX_LR,
    ParameterError,
    check_choice,
    check_float,
    check_increasing,
    check_int,
    check_lr,
    check_sequence,
    fail,
)


def _check_parts(family: str, name: str, parts: object, minimum: int) -> tuple[Schedule, ...]:
    items = tuple(check_schedule(family, name, p) for p in check_sequence(family, name, parts))
    if len(items) < minimum:
        raise fail(family, name, items, f"needs at least {minimum} schedules, got {len(items)}")
    plateaus = sum(1 for p in items for _ in p._plateaus())
    if plateaus > 1:
        raise ValueError(
            f"{family}: at most one metric-driven plateau per schedule, got {plateaus}"
        )
    depth = 1 + max(p.depth for p in items)
    if depth > MAX_DEPTH:
        raise ValueError(
            f"{family}: schedules nested {depth} deep; at most {MAX_DEPTH} are allowed"
        )
    return items


def _check_bound(family: str, bound: float, what: str) -> None:
    """Composites promise finite values: refuse one that could pass `MAX_LR`."""
    if bound > MAX_LR:
        raise ValueError(
            f"{family}: {what} can reach {bound:.3g}, above the largest learning rate {MAX_LR:g}"
        )


@final
@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class warmup(Schedule):
    """Warm up for ``steps`` steps into ``inner``; ``mode`` says how the two meet.

    - ``mode='prefix'`` (default): the warmup comes first and ``inner`` starts after it,
      at its own step 0. The warmup ramps to ``inner(0)``. A 1000-step run with 100 warmup
      steps wants an ``inner`` of 900 steps. torch's ``SequentialLR`` of a ``LinearLR``
      and another scheduler, and Hugging Face's ``get_*_schedule_with_warmup``, do this.
    - ``mode='overlay'``: the warmup multiplies ``inner``'s first ``steps`` values;
      ``inner`` runs on the global step, as with torch's ``LinearLR`` chained with
      another scheduler in a ``ChainedScheduler``.

    The ramp factor starts at ``start_factor`` and reaches 1 at ``steps``; ``shape`` is
    ``'linear'``, ``'cosine'`` (a half cosine) or ``'exponential'`` (geometric, needs
    ``start_factor > 0``).

    >>> import lrlab
    >>> s = lrlab.warmup(lrlab.constant(value=1.0), steps=4)
    >>> s.values(6).tolist()
    [0.0, 0.25, 0.5, 0.75, 1.0, 1.0]
    >>> inner = lrlab.linear(init=1.0, end=0.0, steps=8)
    >>> lrlab.warmup(inner, steps=4, mode="prefix")(4)
    1.0
    >>> lrlab.warmup(inner, steps=4, mode="overlay")(4)
    0.5
    """

    family: ClassVar[str] = "warmup"
    _positional: ClassVar[str | None] = "inner"
    inner: Schedule
    steps: int
    start_factor: float = 0.0
    shape: Literal["linear", "cosine", "exponential"] = "linear"
    mode: Literal["prefix", "overlay"] = "prefix"

    def __init__(
        self,
        inner: Schedule,
        *,
        steps: int,
        start_factor: float = 0.0,
        shape: Literal["linear", "cosine", "exponential"] = "linear",
        mode: Literal["prefix", "overlay"] = "prefix",
    ) -> None:
        f = self.family
        set_field(self, "inner", _check_parts(f, "inner", [inner], 1)[0])
        set_field(self, "steps", check_int(f, "steps", steps))
        set_field(
            self,
            "start_factor",
            check_float(f, "start_factor", start_factor, minimum=0.0, maximum=1.0),
        )
        set_field(
            self, "shape", check_choice(f, "shape", shape, ("linear", "cosine", "exponential"))
        )
        set_field(self, "mode", check_choice(f, "mode", mode, ("prefix", "overlay")))
        if self.shape == "exponential" and self.start_factor == 0.0:
            raise ParameterError(
                f, "start_factor", 0.0, "shape='exponential' needs {start_factor} > 0, got 0.0"
            )

    def _children(self) -> tuple[Schedule, ...]:
        return (self.inner,)

    def factor(self, t: FloatArray) -> FloatArray:
        """The warmup multiplier at steps ``t`` (1 from ``steps`` on)."""
        x = np.minimum(t, self.steps) / self.steps
        f0 = self.start_factor
        if self.shape == "exponential":
            return np.power(f0, 1.0 - x)
        if self.shape == "cosine":
            x = (1.0 - np.cos(np.pi * x)) / 2.0
        return f0 + (1.0 - f0) * x

    def _eval(self, t: FloatArray, driven: float | None) -> FloatArray:
        during, after = pieces(t, [self.steps])
        if self.mode == "overlay":
            out = self.inner._eval(t, driven)
            out[during] *= self.factor(t[during])
            return out
        # one call of inner (step 0 first, then the steps after warmup) keeps nested
        # warmups linear in their depth
        inner = self.inner._eval(np.concatenate(([0.0], t[after] - self.steps)), driven)
        out = np.empty_like(t)
        out[after] = inner[1:]
        out[during] = inner[0] * self.factor(t[during])
        return out

    @property
    def length(self) -> int | None:
        """``steps`` plus the inner length (prefix), or the longer of the two (overlay)."""
        inner = self.inner.length
        if inner is None:
            return None
        return self.steps + inner if self.mode == "prefix" else max(self.steps, inner)

    def _bound(self) -> float:
        return self.inner._bound()

    def _mark_count(self, until: float) -> int:
        shift = 0 if self.mode == "overlay" else self.steps
        inner = self.inner._mark_count(until - shift) if until > shift else 0
        return int(0 < self.steps < until) + inner

    def _marks(self, until: float) -> list[float]:
        shift = 0 if self.mode == "overlay" else self.steps
        return [self.steps, *(m + shift for m in self.inner._marks(until - shift))]

    def _driven_at(self, t: float) -> bool:
        if self.mode == "overlay":
            return self.inner._driven_at(t)
        return t >= self.steps and self.inner._driven_at(t - self.steps)


@final
@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class join(Schedule):
    """Phases one after another: phase ``i`` runs from ``at[i-1]`` on, on its local step.

    torch's ``SequentialLR(schedulers, milestones=at)``. Each phase starts at its own
    step 0, so a phase's values do not depend on where it is placed.

    >>> import lrlab
    >>> s = lrlab.join(
    ...     [lrlab.linear(init=0.0, end=1.0, steps=2), lrlab.exponential(init=1.0, gamma=0.5)],
    ...     at=[2],
    ... )
    >>> s.values(5).tolist()
    [0.0, 0.5, 1.0, 0.5, 0.25]
    """

    family: ClassVar[str] = "join"
    _positional: ClassVar[str | None] = "phases"
    phases: tuple[Schedule, ...]
    at: tuple[int, ...]

    def __init__(self, phases: tuple[Schedule, ...] | list[Schedule], *, at: object) -> None:
        f = self.family
        set_field(self, "phases", _check_parts(f, "phases", phases, 1))
        bounds = tuple(check_int(f, "at", b) for b in check_sequence(f, "at", at))
        check_increasing(f, "at", bounds)
        if len(bounds) != len(self.phases) - 1:
            raise fail(
                f,
                "at",
                list(bounds),
                f"must have one boundary fewer than phases ({len(self.phases) - 1}), "
                f"got {len(bounds)}",
            )
        set_field(self, "at", bounds)

    def _children(self) -> tuple[Schedule, ...]:
        return self.phases

    def _eval(self, t: FloatArray, driven: float | None) -> FloatArray:
        if len(self.phases) == 1:
            return self.phases[0]._eval(t, driven)
        out = np.empty_like(t)
        starts = (0, *self.at)
        for phase, start, part in zip(self.phases, starts, pieces(t, self.at), strict=True):
            local = t[part]
            if local.size:  # a chunk usually overlaps one or two phases only
                out[part] = phase._eval(local - start, driven)
        return out

    def _marks(self, until: float) -> list[float]:
        ends = (*self.at, until)
        marks: list[float] = list(map(float, self.at))
        for phase, start, end in zip(self.phases, (0, *self.at), ends, strict=True):
            marks += [start + m for m in phase._marks(end - start) if m < end - start]
        return marks

    @property
    def length(self) -> int | None:
        """The last boundary plus the last phase's length (None if it has none)."""
        last = self.phases[-1].length
        if last is None:
            return None
        return (self.at[-1] if self.at else 0) + last

    def _bound(self) -> float:
        return max(phase._bound() for phase in self.phases)

    def _mark_count(self, until: float) -> int:
        count = sum(1 for b in self.at if b < until)
        for phase, start, end in zip(self.phases, (0, *self.at), (*self.at, until), strict=True):
            if start < until:
                count += phase._mark_count(min(end, until) - start)
        return count

    def _driven_at(self, t: float) -> bool:
        i = int(np.searchsorted(self.at, t, side="right"))
        start = self.at[i - 1] if i else 0
        return self.phases[i]._driven_at(t - start)


@final
@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class product(Schedule):
    """The pointwise product of schedules, e.g. a decay times a factor schedule.

    torch's ``ChainedScheduler`` of multiplicative schedulers (StepLR, MultiStepLR,
    ExponentialLR, ConstantLR, LinearLR, PolynomialLR) is the product of one of them with
    the others written as factors (``init=1``).

    >>> import lrlab
    >>> s = lrlab.product([
    ...     lrlab.step(init=1.0, period=2, gamma=0.5),
    ...     lrlab.exponential(init=1.0, gamma=0.9),
    ... ])
    >>> s.values(3).round(4).tolist()
    [1.0, 0.9, 0.405]
    """

    family: ClassVar[str] = "product"
    _positional: ClassVar[str | None] = "factors"
    factors: tuple[Schedule, ...]

    def __init__(self, factors: tuple[Schedule, ...] | list[Schedule]) -> None:
        set_field(self, "factors", _check_parts(self.family, "factors", factors, 2))
        _check_bound(self.family, self._bound(), "the product of the factors")

    @property
    def length(self) -> int | None:
        """The longest factor's length, if every factor has one."""
        lengths = [f.length for f in self.factors]
        known = [n for n in lengths if n is not None]
        return max(known) if len(known) == len(lengths) else None

    def _bound(self) -> float:
        return math.prod(f._bound() for f in self.factors)

    def _mark_count(self, until: float) -> int:
        return sum(f._mark_count(until) for f in self.factors)

    def _children(self) -> tuple[Schedule, ...]:
        return self.factors

    def _eval(self, t: FloatArray, driven: float | None) -> FloatArray:
        out = self.factors[0]._eval(t, driven)
        for factor in self.factors[1:]:
            out *= factor._eval(t, driven)
        return out

    def _marks(self, until: float) -> list[float]:
        return [m for f in self.factors for m in f._marks(until)]

    def _driven_at(self, t: float) -> bool:
        return any(f._driven_at(t) for f in self.factors)


@final
@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class scale(Schedule):
    """``inner`` multiplied by a constant ``factor`` (e.g. per-group LR multipliers).

    >>> import lrlab
    >>> lrlab.scale(lrlab.constant(value=0.1), factor=10.0)(0)
    1.0
    """

    family: ClassVar[str] = "scale"
    _positional: ClassVar[str | None] = "inner"
    inner: Schedule
    factor: float

    def __init__(self, inner: Schedule, *, factor: float) -> None:
        set_field(self, "inner", _check_parts(self.family, "inner", [inner], 1)[0])
        set_field(self, "factor", check_lr(self.family, "factor", factor))
        _check_bound(self.family, self._bound(), f"inner times factor={self.factor!r}")

    @property
    def length(self) -> int | None:
        """``inner``'s length."""
        return self.inner.length

    def _bound(self) -> float:
        return self.inner._bound() * self.factor

    def _mark_count(self, until: float) -> int:
        return self.inner._mark_count(until)

    def _children(self) -> tuple[Schedule, ...]:
        return (self.inner,)

    def _eval(self, t: FloatArray, driven: float | None) -> FloatArray:
        return self.inner._eval(t, driven) * self.factor

    def _marks(self, until: float) -> list[float]:
        return self.inner._marks(until)

    def _driven_at(self, t: float) -> bool:
        return self.inner._driven_at(t)


@final
@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class clip(Schedule):
    """``inner`` kept within ``[low, high]`` (either bound may be left out).

    >>> import lrlab
    >>> lrlab.clip(lrlab.exponential(init=1.0, gamma=0.5), low=0.2).values(4).tolist()
    [1.0, 0.5, 0.25, 0.2]
    """

    family: ClassVar[str] = "clip"
    _positional: ClassVar[str | None] = "inner"
    inner: Schedule
    low: float | None = None
    high: float | None = None

    def __init__(
        self, inner: Schedule, *, low: float | None = None, high: float | None = None
    ) -> None:
        f = self.family
        set_field(self, "inner", _check_parts(f, "inner", [inner], 1)[0])
        set_field(self, "low", None if low is None else check_lr(f, "low", low))
        set_field(self, "high", None if high is None else check_lr(f, "high", high))
        if self.low is None and self.high is None:
            raise ParameterError(f, "low", None, "give {low}, {high} or both, got neither")
        if self.low is not None and self.high is not None and self.low > self.high:
            raise fail(f, "low", self.low, f"must be <= high ({self.high!r}), got {self.low!r}")

    @property
    def length(self) -> int | None:
        """``inner``'s length."""
        return self.inner.length

    def _bound(self) -> float:
        inner = self.inner._bound()
        top = inner if self.high is None else min(inner, self.high)
        return top if self.low is None else max(top, self.low)

    def _mark_count(self, until: float) -> int:
        return self.inner._mark_count(until)

    def _children(self) -> tuple[Schedule, ...]:
        return (self.inner,)

    def _eval(self, t: FloatArray, driven: float | None) -> FloatArray:
        return np.clip(self.inner._eval(t, driven), self.low, self.high)

    def _marks(self, until: float) -> list[float]:
        return self.inner._marks(until)

    def _driven_at(self, t: float) -> bool:
        return self.inner._driven_at(t)
