"""Cosine, cosine with warm restarts, cyclic (CLR) and one-cycle."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import ClassVar, Literal, final

import numpy as np

from lrlab.schedules._base import (
    FloatArray,
    Schedule,
    count_multiples,
    int_power,
    is_sorted,
    multiples,
    pieces,
    set_field,
)
from lrlab.schedules.checks import (
    ParameterError,
    check_bool,
    check_choice,
    check_float,
    check_int,
    check_lr,
)


def half_cosine(
    start: float | FloatArray, end: float, position: FloatArray, length: float | FloatArray
) -> FloatArray:
    """``start`` at ``position = 0`` down a half cosine to ``end`` at ``position = length``.

    The operation order is torch's (``pi * position / length``), for bit-level agreement.
    """
    return end + (start - end) * (1 + np.cos(np.pi * position / length)) / 2


@final
@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class cosine(Schedule):
    """Half a cosine from ``init`` down to ``end`` over ``steps``, then ``end``.

    ``end + (init - end) * (1 + cos(pi * t / steps)) / 2``. With ``periodic=True`` the
    cosine goes on past ``steps`` and climbs back to ``init`` at ``2 * steps``, as torch's
    ``CosineAnnealingLR(T_max=steps, eta_min=end)`` does.

    >>> import lrlab
    >>> lrlab.cosine(init=1.0, steps=2).values(5).tolist()
    [1.0, 0.5, 0.0, 0.0, 0.0]
    >>> lrlab.cosine(init=1.0, steps=2, periodic=True).values(5).round(6).tolist()
    [1.0, 0.5, 0.0, 0.5, 1.0]
    """

    family: ClassVar[str] = "cosine"
    init: float
    steps: int
    end: float = 0.0
    periodic: bool = False

    def __post_init__(self) -> None:
        f = self.family
        set_field(self, "init", check_lr(f, "init", self.init))
        set_field(self, "steps", check_int(f, "steps", self.steps))
        set_field(self, "end", check_lr(f, "end", self.end))
        set_field(self, "periodic", check_bool(f, "periodic", self.periodic))

    def _eval(self, t: FloatArray, driven: float | None) -> FloatArray:
        if not self.periodic:
            t = np.minimum(t, self.steps)
        return half_cosine(self.init, self.end, t, self.steps)

    @property
    def length(self) -> int | None:
        """``steps``."""
        return self.steps

    def _marks(self, until: float) -> list[float]:
        return multiples(self.steps, until) if self.periodic else [self.steps]

    def _mark_count(self, until: float) -> int:
        return count_multiples(self.steps, until) if self.periodic else int(self.steps < until)


@final
@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class cosine_restarts(Schedule):
    """Cosine cycles from ``init`` to ``end`` that restart (SGDR).

    Cycle ``k`` lasts ``period * mult**k`` steps; its peak is
    ``end + (init - end) * decay**k`` (``decay`` shrinks the height above ``end``).
    torch's ``CosineAnnealingWarmRestarts(T_0=period, T_mult=mult, eta_min=end)`` is
    ``decay=1``; fractional steps are allowed, as torch's ``step(epoch)`` allows.

    >>> import lrlab
    >>> s = lrlab.cosine_restarts(init=1.0, period=2, mult=2)
    >>> s.values(7).tolist()
    [1.0, 0.5, 1.0, 0.8535533905932737, 0.5, 0.14644660940672627, 1.0]
    """

    family: ClassVar[str] = "cosine_restarts"
    init: float
    period: int
    mult: int = 1
    end: float = 0.0
    decay: float = 1.0

    def __post_init__(self) -> None:
        f = self.family
        set_field(self, "init", check_lr(f, "init", self.init))
        set_field(self, "period", check_int(f, "period", self.period))
        set_field(self, "mult", check_int(f, "mult", self.mult, maximum=2**20))
        set_field(self, "end", check_lr(f, "end", self.end))
        set_field(
            self,
            "decay",
            check_float(f, "decay", self.decay, minimum=0.0, maximum=1.0, strict_min=True),
        )

    def _starts(self, top: float) -> tuple[FloatArray, FloatArray]:
        """Start and length of cycles 0, 1, ... past step ``top`` (for ``mult > 1``).

        Starts are ``period * (mult**k - 1) / (mult - 1)``: exact in float64 below 2**53.
        """
        period, mult = float(self.period), float(self.mult)
        count = 2 + int(math.log1p(max(top, 0.0) / period * (mult - 1)) / math.log(mult))
        powers = np.power(mult, np.arange(count + 1.0))
        return period * (powers - 1) / (mult - 1), period * powers

    def _eval(self, t: FloatArray, driven: float | None) -> FloatArray:
        if self.mult == 1:
            k = np.floor(t / self.period)
            return self._cosine(k, t - k * self.period, float(self.period))
        starts, lengths = self._starts(float(t.max()) if t.size else 0.0)
        if t.size == 0 or not is_sorted(t):
            k_int = np.searchsorted(starts, t, side="right") - 1
            return self._cosine(k_int.astype(np.float64), t - starts[k_int], lengths[k_int])
        # Sorted steps (a range) span few cycles: one slice per cycle, scalar start/length.
        out = np.empty_like(t)
        first, last = (np.searchsorted(starts, [t[0], t[-1]], side="right") - 1).tolist()
        cuts = [0, *np.searchsorted(t, starts[first + 1 : last + 1]).tolist(), t.size]
        for cycle, (lo, hi) in zip(range(first, last + 1), itertools.pairwise(cuts), strict=True):
            k = np.array([float(cycle)])
            out[lo:hi] = self._cosine(k, t[lo:hi] - starts[cycle], lengths[cycle])
        return out

    def _marks(self, until: float) -> list[float]:
        if self.mult == 1:
            return multiples(self.period, until)
        starts, _ = self._starts(until)
        return [float(start) for start in starts]

    def _mark_count(self, until: float) -> int:
        if self.mult == 1:
            return count_multiples(self.period, until)
        return len(self.marks(until))

    def _cosine(
        self, k: FloatArray, position: FloatArray, length: float | FloatArray
    ) -> FloatArray:
        if self.decay == 1.0:
            return half_cosine(self.init, self.end, position, length)
        # int_power: the same powers whether k is one cycle or one per step
        peak = self.end + (self.init - self.end) * int_power(self.decay, k)
        return half_cosine(peak, self.end, position, length)


@final
@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class cyclic(Schedule):
    """Cyclical learning rates (CLR): triangles between ``init`` and ``peak``.

    Each cycle rises for ``up_steps`` and falls for ``down_steps`` (default: the same).
    ``mode='triangular2'`` halves the height every cycle; ``'exp_range'`` multiplies it
    by ``gamma ** t``. torch's ``CyclicLR(base_lr=init, max_lr=peak, step_size_up=...)``.

    >>> import lrlab
    >>> lrlab.cyclic(init=0.0, peak=1.0, up_steps=2).values(6).tolist()
    [0.0, 0.5, 1.0, 0.5, 0.0, 0.5]
    """

    family: ClassVar[str] = "cyclic"
    init: float
    peak: float
    up_steps: int
    down_steps: int | None = None
    mode: Literal["triangular", "triangular2", "exp_range"] = "triangular"
    gamma: float = 1.0

    def __post_init__(self) -> None:
        f = self.family
        set_field(self, "init", check_lr(f, "init", self.init))
        set_field(self, "peak", check_lr(f, "peak", self.peak))
        set_field(self, "up_steps", check_int(f, "up_steps", self.up_steps))
        if self.down_steps is not None:
            set_field(self, "down_steps", check_int(f, "down_steps", self.down_steps))
        total = self.up_steps + (self.down_steps or self.up_steps)
        if total > 2**52:
            raise ParameterError(
                f,
                "up_steps",
                total,
                f"{{up_steps}} + {{down_steps}} must be at most 2**52, got {total}",
            )
        check_choice(f, "mode", self.mode, ("triangular", "triangular2", "exp_range"))
        set_field(
            self,
            "gamma",
            check_float(f, "gamma", self.gamma, minimum=0.0, maximum=1.0, strict_min=True),
        )

    def _eval(self, t: FloatArray, driven: float | None) -> FloatArray:
        up = float(self.up_steps)
        down = float(self.down_steps) if self.down_steps is not None else up
        total = up + down
        ratio = up / total
        # Same operation order as torch's CyclicLR.get_lr, for bit-level agreement.
        cycle = np.floor(1 + t / total)
        x = 1.0 + t / total - cycle
        scale = np.where(x <= ratio, x / ratio, (x - 1) / (ratio - 1))
        height = (self.peak - self.init) * scale
        if self.mode == "triangular2":
            height = height * int_power(0.5, cycle - 1)  # = torch's 1 / 2 ** (cycle - 1)
        elif self.mode == "exp_range":
            height = height * np.power(self.gamma, t)
        else:
            height = height * 1.0
        return self.init + height

    def _marks(self, until: float) -> list[float]:
        up = self.up_steps
        total = up + (self.down_steps if self.down_steps is not None else up)
        count = math.ceil(until / total)
        return [] if count > 500 else [x for k in range(count) for x in (k * total, k * total + up)]

    def _mark_count(self, until: float) -> int:
        up = self.up_steps
        total = up + (self.down_steps if self.down_steps is not None else up)
        return count_multiples(total, until) + count_multiples(total, until, offset=up)


@final
@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class one_cycle(Schedule):
    """The one-cycle policy: ``init`` up to ``peak``, then down to ``end``, in ``steps``.

    The rise takes ``warmup_frac * steps`` steps. ``three_phase=True`` comes back down to
    ``init`` symmetrically before the final anneal to ``end``. ``shape`` is ``'cos'`` or
    ``'linear'``. After ``steps - 1`` the schedule holds ``end``. torch's
    ``OneCycleLR(max_lr=peak, total_steps=steps, pct_start=warmup_frac)`` has
    ``init = peak / div_factor`` and ``end = init / final_div_factor`` (defaults 25, 1e4,
    which are the defaults here too).

    >>> import lrlab
    >>> s = lrlab.one_cycle(peak=1.0, steps=10, init=0.1, end=0.0, shape="linear")
    >>> s.values(11).round(3).tolist()
    [0.1, 0.55, 1.0, 0.857, 0.714, 0.571, 0.429, 0.286, 0.143, 0.0, 0.0]
    """

    family: ClassVar[str] = "one_cycle"
    peak: float
    steps: int
    init: float | None = None
    end: float | None = None
    warmup_frac: float = 0.3
    shape: Literal["cos", "linear"] = "cos"
    three_phase: bool = False

    def __post_init__(self) -> None:
        f = self.family
        set_field(self, "peak", check_lr(f, "peak", self.peak))
        set_field(self, "steps", check_int(f, "steps", self.steps))
        init = self.peak / 25.0 if self.init is None else check_lr(f, "init", self.init)
        set_field(self, "init", init)
        set_field(self, "end", init / 1e4 if self.end is None else check_lr(f, "end", self.end))
        set_field(
            self,
            "warmup_frac",
            check_float(f, "warmup_frac", self.warmup_frac, minimum=0.0, maximum=1.0),
        )
        check_choice(f, "shape", self.shape, ("cos", "linear"))
        set_field(self, "three_phase", check_bool(f, "three_phase", self.three_phase))
        start = 0.0
        for end_step, _, _ in self.phases():
            if not end_step > start:
                raise ParameterError(
                    f,
                    "warmup_frac",
                    self.warmup_frac,
                    f"{{warmup_frac}}={self.warmup_frac!r} with {{steps}}={self.steps} gives a "
                    "phase of no length; use more {steps} or a {warmup_frac} further from 0 "
                    "and 1",
                )
            start = end_step

    def phases(self) -> list[tuple[float, float, float]]:
        """``(last step, start lr, end lr)`` of each phase, as torch's OneCycleLR has them."""
        init, end = float(self.init), float(self.end)  # type: ignore[arg-type]
        rise_end = float(self.warmup_frac * self.steps) - 1
        if self.three_phase:
            return [
                (rise_end, init, self.peak),
                (float(2 * self.warmup_frac * self.steps) - 2, self.peak, init),
                (self.steps - 1, init, end),
            ]
        return [(rise_end, init, self.peak), (self.steps - 1, self.peak, end)]

    @property
    def length(self) -> int | None:
        """``steps``."""
        return self.steps

    def _marks(self, until: float) -> list[float]:
        return [end for end, _, _ in self.phases()]

    def _eval(self, t: FloatArray, driven: float | None) -> FloatArray:
        return self.extrapolate(np.minimum(t, self.steps - 1))

    def extrapolate(self, t: FloatArray) -> FloatArray:
        """The phase formulas without holding ``end``: torch's value at ``t = steps``.

        torch's OneCycleLR gives one more value after its last step by running the final
        anneal past its end; the torch drop-in uses this to match it.
        """
        out = np.empty_like(t)
        phases = self.phases()
        # torch picks the first phase with t <= its last step (the last phase otherwise).
        parts = pieces(t, [end for end, _, _ in phases[:-1]], closed_right=True)
        start = 0.0
        for (end_step, lo, hi), part in zip(phases, parts, strict=True):
            pct = (t[part] - start) / (end_step - start)
            if self.shape == "cos":
                out[part] = hi + (lo - hi) / 2.0 * (np.cos(np.pi * pct) + 1)
            else:
                out[part] = (hi - lo) * pct + lo
            start = end_step
        return out
