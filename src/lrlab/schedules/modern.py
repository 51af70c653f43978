"""Schedules of modern training: inverse square root and warmup-stable-decay (WSD)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal, final

import numpy as np

from lrlab.schedules._base import FloatArray, Schedule, set_field
from lrlab.schedules.checks import ParameterError, check_choice, check_int, check_lr
from lrlab.schedules.cyclical import half_cosine


def _ramp(init: float, peak: float, t: FloatArray, steps: int) -> FloatArray:
    """The linear warmup from ``init`` (t=0) towards ``peak`` (t=steps)."""
    x = t / steps
    return (1.0 - x) * init + x * peak


@final
@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class inverse_sqrt(Schedule):
    """Linear warmup to ``peak``, then decay as ``1 / sqrt(t)`` (the Transformer schedule).

    After warmup: ``peak * sqrt(timescale / (t - warmup_steps + timescale))``, so the
    value is ``peak`` at the end of warmup. ``timescale`` defaults to ``warmup_steps``,
    which gives the classic ``peak * min(t / warmup, sqrt(warmup / t))`` shape.

    >>> import lrlab
    >>> lrlab.inverse_sqrt(peak=1.0, warmup_steps=4).values(5).tolist()
    [0.0, 0.25, 0.5, 0.75, 1.0]
    >>> lrlab.inverse_sqrt(peak=1.0, warmup_steps=4)(16)
    0.5
    """

    family: ClassVar[str] = "inverse_sqrt"
    peak: float
    warmup_steps: int = 0
    init: float = 0.0
    timescale: int | None = None

    def __post_init__(self) -> None:
        f = self.family
        set_field(self, "peak", check_lr(f, "peak", self.peak))
        set_field(self, "warmup_steps", check_int(f, "warmup_steps", self.warmup_steps, minimum=0))
        set_field(self, "init", check_lr(f, "init", self.init))
        if self.timescale is None:
            if self.warmup_steps == 0:
                raise ParameterError(
                    f,
                    "timescale",
                    None,
                    "{timescale} must be given when {warmup_steps} is 0, got None",
                )
            set_field(self, "timescale", self.warmup_steps)
        else:
            set_field(self, "timescale", check_int(f, "timescale", self.timescale))

    def _eval(self, t: FloatArray, driven: float | None) -> FloatArray:
        w = self.warmup_steps
        scale = float(self.timescale)  # type: ignore[arg-type]
        decay = self.peak * np.sqrt(scale / (np.maximum(t - w, 0.0) + scale))
        if w == 0:
            return decay
        return np.where(t < w, _ramp(self.init, self.peak, t, w), decay)

    def _marks(self, until: float) -> list[float]:
        return [self.warmup_steps]


@final
@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class wsd(Schedule):
    """Warmup-stable-decay: warm up to ``peak``, hold it, decay to ``end`` at ``steps``.

    Linear warmup from ``init`` over ``warmup_steps``; ``peak`` until
    ``steps - decay_steps``; then a decay to ``end`` over the last ``decay_steps`` whose
    ``shape`` is ``'linear'``, ``'cosine'`` or ``'1-sqrt'`` (``1 - sqrt(x)``); then ``end``.

    >>> import lrlab
    >>> s = lrlab.wsd(peak=1.0, steps=8, warmup_steps=2, decay_steps=4)
    >>> s.values(9).tolist()
    [0.0, 0.5, 1.0, 1.0, 1.0, 0.75, 0.5, 0.25, 0.0]
    """

    family: ClassVar[str] = "wsd"
    peak: float
    steps: int
    decay_steps: int
    warmup_steps: int = 0
    init: float = 0.0
    end: float = 0.0
    shape: Literal["linear", "cosine", "1-sqrt"] = "linear"

    def __post_init__(self) -> None:
        f = self.family
        set_field(self, "peak", check_lr(f, "peak", self.peak))
        set_field(self, "steps", check_int(f, "steps", self.steps))
        set_field(self, "decay_steps", check_int(f, "decay_steps", self.decay_steps))
        set_field(self, "warmup_steps", check_int(f, "warmup_steps", self.warmup_steps, minimum=0))
        set_field(self, "init", check_lr(f, "init", self.init))
        set_field(self, "end", check_lr(f, "end", self.end))
        check_choice(f, "shape", self.shape, ("linear", "cosine", "1-sqrt"))
        if self.warmup_steps + self.decay_steps > self.steps:
            raise ParameterError(
                f,
                "decay_steps",
                self.decay_steps,
                f"{{warmup_steps}} + {{decay_steps}} must be <= {{steps}} ({self.steps}), got "
                f"{self.warmup_steps} + {self.decay_steps}",
            )

    def _eval(self, t: FloatArray, driven: float | None) -> FloatArray:
        decay_start = self.steps - self.decay_steps
        position = np.clip(t - decay_start, 0.0, self.decay_steps)
        if self.shape == "cosine":
            out = half_cosine(self.peak, self.end, position, self.decay_steps)
        elif self.shape == "1-sqrt":
            x = np.sqrt(position / self.decay_steps)
            out = self.end + (self.peak - self.end) * (1.0 - x)
        else:
            out = self.end + (self.peak - self.end) * (1.0 - position / self.decay_steps)
        if self.warmup_steps:
            w = self.warmup_steps
            out = np.where(t < w, _ramp(self.init, self.peak, t, w), out)
        return out

    @property
    def length(self) -> int | None:
        """``steps``."""
        return self.steps

    def _marks(self, until: float) -> list[float]:
        return [self.warmup_steps, self.steps - self.decay_steps, self.steps]
