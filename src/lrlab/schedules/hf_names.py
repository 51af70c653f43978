"""Hugging Face's scheduler names as lrlab schedules: ``from_hf(name, lr=..., ...)``.

``transformers.get_scheduler(name, optimizer, num_warmup_steps, num_training_steps,
scheduler_specific_kwargs)`` wraps a ``LambdaLR`` whose factor multiplies the optimizer's
lr. `from_hf` takes the same name and arguments (the specific ones as keywords) and
returns the lrlab schedule of the same values: at step ``t`` (``t`` calls of
``scheduler.step()``) it equals ``lr * factor(t)`` to float64 rounding (a relative 1e-12,
checked against transformers itself in the tests) on ``0 <= t <= num_training_steps``,
and past it where transformers is defined there.

>>> from lrlab.schedules.hf_names import from_hf
>>> s = from_hf("linear", lr=1.0, num_warmup_steps=2, num_training_steps=6)
>>> [round(v, 12) for v in s.values(7).tolist()]
[0.0, 0.5, 1.0, 0.75, 0.5, 0.25, 0.0]
>>> from_hf("cosine", lr=0.1, num_warmup_steps=0, num_training_steps=100)
cosine(init=0.1, steps=100, periodic=True)

``cosine_warmup_with_min_lr`` runs one step ahead of the others: its warmup starts at
``lr / num_warmup_steps`` (or ``warmup_lr_rate * lr``) and reaches ``lr`` at step
``num_warmup_steps - 1``, where its cosine starts; it needs ``num_warmup_steps >= 1``.

Not here yet: ``greedy`` (an adaptive controller), and the ``cosine``/``1-sqrt`` warmups
of ``warmup_stable_decay``: each raises ``ValueError`` saying so.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from lrlab.schedules._base import Schedule
from lrlab.schedules.basic import constant, linear, polynomial
from lrlab.schedules.checks import check_float, check_int
from lrlab.schedules.compose import join, warmup
from lrlab.schedules.cyclical import cosine, cosine_restarts
from lrlab.schedules.modern import inverse_sqrt, wsd

NAMES = (
    "linear",
    "cosine",
    "cosine_with_restarts",
    "polynomial",
    "constant",
    "constant_with_warmup",
    "inverse_sqrt",
    "reduce_lr_on_plateau",
    "cosine_with_min_lr",
    "cosine_warmup_with_min_lr",
    "warmup_stable_decay",
)
"""The ``transformers.SchedulerType`` names `from_hf` reads."""
_LATER = ("greedy",)


def from_hf(
    name: str,
    *,
    lr: float,
    num_warmup_steps: int | None = None,
    num_training_steps: int | None = None,
    **kwargs: Any,
) -> Schedule:
    """The lrlab schedule of ``transformers.get_scheduler(name, ...)`` for an optimizer at
    ``lr``; ``kwargs`` are the name's ``scheduler_specific_kwargs``.

    Raises ``ValueError`` naming the parameter (a missing step count, an unknown name or
    keyword, a value transformers would refuse or lrlab cannot give exactly).

    >>> from_hf("constant_with_warmup", lr=0.5, num_warmup_steps=4).values(6).tolist()
    [0.0, 0.125, 0.25, 0.375, 0.5, 0.5]
    """
    if name in _LATER:
        raise ValueError(f"from_hf: {name!r} is not supported yet; supported: {', '.join(NAMES)}")
    if name not in NAMES:
        raise ValueError(f"from_hf: unknown name {name!r}; supported: {', '.join(NAMES)}")
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not 0 < lr <= 1e10:
        raise ValueError(f"from_hf: lr must be a number in (0, 1e10], got {lr!r}")
    if name == "reduce_lr_on_plateau":
        from lrlab.schedules.torch_names import ReduceLROnPlateau

        return ReduceLROnPlateau(lr=float(lr), **kwargs)
    if name == "constant":
        _no_extra(name, kwargs)
        return constant(value=float(lr))
    warm = _count("num_warmup_steps", num_warmup_steps, name, minimum=0)
    if name == "constant_with_warmup":
        _no_extra(name, kwargs)
        return _warm(constant(value=float(lr)), warm)
    if name == "inverse_sqrt":
        timescale = kwargs.pop("timescale", None)
        _no_extra(name, kwargs)
        scale = (warm or 10_000) if timescale is None else timescale
        check_int("from_hf", "timescale", scale)
        return inverse_sqrt(peak=float(lr), warmup_steps=warm, timescale=scale)
    if name == "warmup_stable_decay":
        return _wsd(float(lr), warm, num_training_steps, kwargs)
    total = _count("num_training_steps", num_training_steps, name, minimum=1)
    if total <= warm:
        raise ValueError(
            f"from_hf: {name!r} needs num_training_steps > num_warmup_steps, got {total} and {warm}"
        )
    if name == "cosine_warmup_with_min_lr":
        return _cosine_warmup_with_min_lr(float(lr), warm, total, kwargs)
    build = _DECAYS[name]
    return _warm(build(float(lr), total - warm, kwargs), warm)


def _cosine_warmup_with_min_lr(
    lr: float, warm: int, total: int, kwargs: dict[str, Any]
) -> Schedule:
    """Its warmup ends at ``lr`` on step ``warm - 1``, where the cosine's first step is:
    the decay (``cosine_with_min_lr``'s) joined there, after a line up to ``lr``."""
    name = "cosine_warmup_with_min_lr"
    start = kwargs.pop("warmup_lr_rate", None)
    if warm < 1:
        raise ValueError(
            f"from_hf: {name!r} needs num_warmup_steps >= 1 (its cosine starts one step "
            f"ahead, at the last warmup step), got {warm}; without warmup use "
            "'cosine_with_min_lr'"
        )
    decay = _cosine_with_min_lr(lr, total - warm, kwargs, name)
    if warm == 1:
        if start is not None and float(start) != 1.0:
            raise ValueError(
                f"from_hf: {name!r} with num_warmup_steps 1 starts at lr, whatever "
                f"warmup_lr_rate; it must be 1 or left out, got {start!r}"
            )
        return decay
    rate = 1.0 / warm if start is None else check_float("from_hf", "warmup_lr_rate", start)
    return join([linear(init=lr * rate, end=lr, steps=warm - 1), decay], at=[warm - 1])


def _no_extra(name: str, kwargs: dict[str, Any]) -> None:
    if kwargs:
        raise ValueError(f"from_hf: {name!r} takes no {sorted(kwargs)[0]!r}")


def _count(key: str, value: object, name: str, *, minimum: int) -> int:
    if value is None:
        raise ValueError(f"from_hf: {name!r} requires {key}")
    return check_int("from_hf", key, value, minimum=minimum)


def _warm(inner: Schedule, steps: int) -> Schedule:
    """Hugging Face's linear warmup from 0: ``lr * t / steps`` for ``t < steps``."""
    return inner if steps == 0 else warmup(inner, steps=steps)


def _linear(lr: float, decay: int, kwargs: dict[str, Any]) -> Schedule:
    _no_extra("linear", kwargs)
    return linear(init=lr, end=0.0, steps=decay)


def _cosine(lr: float, decay: int, kwargs: dict[str, Any], name: str = "cosine") -> Schedule:
    cycles = kwargs.pop("num_cycles", 0.5)
    rate = kwargs.pop("min_lr_rate", 0.0)
    _no_extra(name, kwargs)
    # factor 0.5 * (1 + cos(2 pi cycles p)): a periodic cosine of half-period decay / (2 cycles)
    half = _whole("num_cycles", decay / (2 * float(cycles)), f"{decay} / (2 * {cycles})")
    return cosine(init=lr, steps=half, end=lr * float(rate), periodic=True)


def _cosine_with_min_lr(
    lr: float, decay: int, kwargs: dict[str, Any], name: str = "cosine_with_min_lr"
) -> Schedule:
    low, rate = kwargs.pop("min_lr", None), kwargs.pop("min_lr_rate", None)
    if (low is None) == (rate is None):
        raise ValueError(f"from_hf: {name!r} needs one of min_lr and min_lr_rate")
    kwargs["min_lr_rate"] = float(low) / lr if low is not None else rate
    return _cosine(lr, decay, kwargs, name)


def _restarts(lr: float, decay: int, kwargs: dict[str, Any]) -> Schedule:
    cycles = check_int("from_hf", "num_cycles", kwargs.pop("num_cycles", 1))
    _no_extra("cosine_with_restarts", kwargs)
    period = _whole("num_cycles", decay / cycles, f"{decay} / {cycles}")
    cycling = cosine_restarts(init=lr, period=period, end=0.0)
    return join([cycling, constant(value=0.0)], at=[decay])  # 0 once the cycles are done


def _polynomial(lr: float, decay: int, kwargs: dict[str, Any]) -> Schedule:
    end = float(kwargs.pop("lr_end", 1e-7))
    power = float(kwargs.pop("power", 1.0))
    _no_extra("polynomial", kwargs)
    if not end < lr:
        raise ValueError(f"from_hf: lr_end ({end}) must be smaller than lr ({lr})")
    return polynomial(init=lr, steps=decay, end=end, power=power)


def _wsd(lr: float, warm: int, total: int | None, kwargs: dict[str, Any]) -> Schedule:
    decay = _count("num_decay_steps", kwargs.pop("num_decay_steps", None), "wsd", minimum=1)
    stable = kwargs.pop("num_stable_steps", None)
    kind = kwargs.pop("warmup_type", "linear")
    shape = kwargs.pop("decay_type", "cosine")
    ratio = float(kwargs.pop("min_lr_ratio", 0.0))
    cycles = float(kwargs.pop("num_cycles", 0.5))
    _no_extra("warmup_stable_decay", kwargs)
    if stable is None:
        if total is None:
            raise ValueError(
                "from_hf: 'warmup_stable_decay' needs num_training_steps or num_stable_steps"
            )
        stable = total - warm - decay
    stable = check_int("from_hf", "num_stable_steps", stable, minimum=0)
    if kind != "linear":
        raise ValueError(f"from_hf: warmup_type {kind!r} is not supported yet; use 'linear'")
    if shape not in ("linear", "cosine", "1-sqrt"):
        raise ValueError(
            f"from_hf: decay_type must be 'linear', 'cosine' or '1-sqrt', got {shape!r}"
        )
    if shape == "cosine" and cycles != 0.5:
        raise ValueError(f"from_hf: num_cycles {cycles} is not supported yet with a cosine decay")
    return wsd(
        peak=lr,
        steps=warm + stable + decay,
        decay_steps=decay,
        warmup_steps=warm,
        init=lr * ratio,
        end=lr * ratio,
        shape=shape,
    )


def _whole(key: str, value: float, how: str) -> int:
    if not math.isfinite(value) or value <= 0 or value != round(value):
        raise ValueError(
            f"from_hf: {key} must give whole cycles, got {how} = {value:g} steps; choose "
            "values that divide the decay steps"
        )
    return round(value)


_DECAYS: dict[str, Callable[[float, int, dict[str, Any]], Schedule]] = {
    "linear": _linear,
    "cosine": _cosine,
    "cosine_with_min_lr": _cosine_with_min_lr,
    "cosine_with_restarts": _restarts,
    "polynomial": _polynomial,
}
