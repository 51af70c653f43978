"""timm's scheduler names as lrlab schedules: ``from_timm(lr=..., sched=..., ...)``.

``timm.scheduler.create_scheduler_v2(optimizer, sched, num_epochs, ...)`` builds one of
timm's schedulers, whose ``_get_lr(t)`` is the lr after ``t`` epochs (``step(epoch)``) or,
with ``step_on_epochs=False``, after ``t`` updates (``step_update(num_updates)``).
`from_timm` takes the same arguments, with the optimizer's lr as ``lr``, and returns the
lrlab schedule whose value at ``t`` is that lr (a relative 1e-12, checked against timm
itself in the tests). Its steps are timm's: epochs, or updates with
``step_on_epochs=False`` (then every duration is multiplied by ``updates_per_epoch``).

>>> from lrlab.schedules.timm_names import from_timm
>>> from_timm(lr=0.1, sched="cosine", num_epochs=100)
annealing(init=0.1, period=100)
>>> s = from_timm(lr=0.1, sched="step", decay_epochs=2, decay_rate=0.5, warmup_epochs=2,
...               warmup_lr=0.0, warmup_prefix=True)
>>> s.values(6).tolist()
[0.0, 0.05, 0.1, 0.1, 0.05, 0.05]

Refused, with a `ParameterError` naming the parameter: ``noise`` (timm's noise is random,
so no closed form gives its values), ``sched='plateau'`` per update (timm refuses it too),
unsorted ``decay_milestones`` (timm's bisection assumes them sorted), ``cycle_mul < 1``
with more than one cycle (timm fails once the shrinking cycles are used up).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from lrlab.plateau import plateau
from lrlab.schedules._base import Schedule
from lrlab.schedules.annealing import annealing
from lrlab.schedules.basic import constant, linear, multistep, step
from lrlab.schedules.checks import (
    MAX_LR,
    ParameterError,
    check_bool,
    check_choice,
    check_float,
    check_increasing,
    check_int,
    check_lr,
    check_sequence,
)
from lrlab.schedules.compose import join, warmup

SCHEDS = ("cosine", "tanh", "step", "multistep", "plateau", "poly")
"""The ``sched`` names of ``create_scheduler_v2`` that `from_timm` reads."""

_F = "from_timm"
_NAMES = {
    "init": "lr",
    "period": "num_epochs",
    "offset": "warmup_epochs",
    "steps": "warmup_epochs",
    "end": "min_lr",
    "power": "decay_rate",
    "k": "k_decay",
    "mult": "cycle_mul",
    "gamma": "cycle_decay",
    "cycles": "cycle_limit",
    "factor": "decay_rate",
    "patience": "patience_epochs",
    "mode": "plateau_mode",
    "min_lr": "min_lr",
}
"""lrlab's parameter names -> timm's, for errors raised by the families."""


def from_timm(
    *,
    lr: float,
    sched: str = "cosine",
    num_epochs: int = 300,
    decay_epochs: int = 90,
    decay_milestones: Sequence[int] = (90, 180, 270),
    cooldown_epochs: int = 0,
    patience_epochs: int = 10,
    decay_rate: float = 0.1,
    min_lr: float = 0.0,
    warmup_lr: float = 1e-5,
    warmup_epochs: int = 0,
    warmup_prefix: bool = False,
    noise: float | Sequence[float] | None = None,
    noise_pct: float = 0.67,
    noise_std: float = 1.0,
    noise_seed: int = 42,
    cycle_mul: float = 1.0,
    cycle_decay: float = 0.1,
    cycle_limit: int = 1,
    k_decay: float = 1.0,
    plateau_mode: str = "max",
    step_on_epochs: bool = True,
    updates_per_epoch: int = 0,
) -> Schedule:
    """The lrlab schedule of ``timm.scheduler.create_scheduler_v2(optimizer, ...)`` for an
    optimizer at ``lr``, with timm's arguments and defaults.

    Arguments a ``sched`` does not use are ignored, as timm ignores them (``cooldown_epochs``
    only lengthens the epoch count timm returns beside the scheduler, and ``noise_pct``,
    ``noise_std``, ``noise_seed`` only matter with ``noise``). Raises `ParameterError` (a
    ``ValueError``) naming timm's parameter for a value timm would fail on or lrlab cannot
    give exactly.

    >>> from_timm(lr=0.5, sched="multistep", decay_milestones=[2, 4], decay_rate=0.1,
    ...           warmup_epochs=1, warmup_lr=0.0).values(6).round(6).tolist()
    [0.0, 0.05, 0.05, 0.005, 0.005, 0.005]
    >>> from_timm(lr=0.1, sched="cosine", num_epochs=10, warmup_epochs=2,
    ...           step_on_epochs=False, updates_per_epoch=100).length
    1000
    """
    del cooldown_epochs, noise_pct, noise_std, noise_seed  # no effect on the values
    lr = check_float(_F, "lr", lr, minimum=0.0, maximum=MAX_LR, strict_min=True)
    sched = check_choice(_F, "sched", sched, SCHEDS)
    if noise is not None:
        raise ParameterError(
            _F,
            "noise",
            noise,
            f"{{noise}} is not supported: timm's lr noise is random (a generator seeded per "
            f"step), so no closed form gives its values; got {noise!r}",
        )
    per_update = not check_bool(_F, "step_on_epochs", step_on_epochs)
    scale = 1
    if per_update:
        if sched == "plateau":
            raise ParameterError(
                _F,
                "step_on_epochs",
                False,
                "sched='plateau' steps once an epoch only (timm refuses {step_on_epochs}=False)",
            )
        scale = check_int(_F, "updates_per_epoch", updates_per_epoch)
    warm = check_int(_F, "warmup_epochs", warmup_epochs, minimum=0) * scale
    start = check_lr(_F, "warmup_lr", warmup_lr)
    prefix = check_bool(_F, "warmup_prefix", warmup_prefix)
    try:
        if sched == "plateau":
            reduce = plateau(
                init=lr,
                mode=plateau_mode,  # type: ignore[arg-type]
                factor=decay_rate,
                patience=patience_epochs,
                min_lr=min_lr,
            )
            # timm's plateau warmup has no prefix option: it ends at lr, where the plateau
            # starts; the metrics of the warmup epochs are ignored, as timm ignores them
            return _warm(reduce, start, warm, lr, prefix=True)
        shift = 0 if prefix else warm  # without a prefix the warmup covers the first steps
        if sched == "step":
            inner = _step(
                lr, check_int(_F, "decay_epochs", decay_epochs) * scale, decay_rate, shift
            )
        elif sched == "multistep":
            inner = _multistep(lr, decay_milestones, scale, decay_rate, shift)
        else:
            inner = _cycles(
                lr,
                sched,
                period=check_int(_F, "num_epochs", num_epochs) * scale,
                low=min_lr,
                rate=decay_rate,
                k=k_decay,
                shift=shift,
                cycling=(cycle_mul, cycle_decay, cycle_limit),
            )
        # tanh without a prefix warms up to its own value at the warmup's end, the rest to lr
        target = inner(0) if sched == "tanh" and not prefix else lr
        return _warm(inner, start, warm, target, prefix=prefix)
    except ParameterError as error:
        raise error.renamed(_F, _NAMES) from None


def _warm(inner: Schedule, start: float, steps: int, target: float, *, prefix: bool) -> Schedule:
    """timm's warmup: ``start + t * (target - start) / steps`` for ``t < steps``, then inner."""
    if steps == 0:
        return inner
    first = None if inner.metric_driven else inner(0)
    if prefix and start <= target and (first is None or math.isclose(first, target, rel_tol=1e-15)):
        return warmup(inner, steps=steps, start_factor=start / target)
    ramp = linear(init=start, end=target, steps=steps)
    if isinstance(inner, join):  # one join of all the phases
        return join([ramp, *inner.phases], at=[steps, *(steps + b for b in inner.at)])
    return join([ramp, inner], at=[steps])


def _step(lr: float, period: int, rate: float, shift: int) -> Schedule:
    """``lr * rate ** ((t + shift) // period)``."""
    rate = check_float(_F, "decay_rate", rate, minimum=0.0, maximum=1.0)
    drops, into = divmod(shift, period)
    first = lr * rate**drops
    if into == 0:
        return step(init=first, period=period, gamma=rate)
    rest = step(init=lr * rate ** (drops + 1), period=period, gamma=rate)
    return join([constant(value=first), rest], at=[period - into])


def _multistep(
    lr: float, milestones: Sequence[int], scale: int, rate: float, shift: int
) -> Schedule:
    """timm counts the milestones ``m <= t + 1`` (``bisect_right(decay_t, t + 1)``)."""
    rate = check_float(_F, "decay_rate", rate, minimum=0.0, maximum=1.0)
    given = tuple(
        check_int(_F, "decay_milestones", m, minimum=0)
        for m in check_sequence(_F, "decay_milestones", milestones)
    )
    check_increasing(_F, "decay_milestones", given, strict=False)
    steps = tuple(max(m * scale - 1 - shift, 0) for m in given)
    if not steps:
        return constant(value=lr)
    return multistep(init=lr, milestones=steps, gamma=rate)


def _cycles(
    lr: float,
    sched: str,
    *,
    period: int,
    low: float,
    rate: float,
    k: float,
    shift: int,
    cycling: tuple[float, float, int],
) -> Schedule:
    mult, decay, limit = cycling
    limit = check_int(_F, "cycle_limit", limit)
    if limit == 1:  # one cycle: its length and peak are the first's, whatever the factors
        check_float(_F, "cycle_mul", mult, minimum=0.0, strict_min=True)
        check_float(_F, "cycle_decay", decay)
        mult = decay = 1.0
    return annealing(
        init=lr,
        period=period,
        end=low,
        shape="polynomial" if sched == "poly" else sched,  # type: ignore[arg-type]
        power=rate if sched == "poly" else 1.0,
        k=1.0 if sched == "tanh" else k,  # timm's tanh has no k-decay
        mult=mult,
        gamma=decay,
        cycles=limit,
        offset=shift,
    )
