"""torch 2.13's schedulers in closed form, under torch's names and parameter names.

Each function takes the param group's initial learning rate ``lr`` (torch's
``base_lrs[i]``) and torch's own arguments, and returns the lrlab schedule whose value
at step ``t`` equals the LR torch's scheduler gives after ``t`` calls of ``step()``.
The torch drop-ins (`lrlab.torch`) build one of these per param group.

Closed form versus torch's recursive form: torch updates most schedulers recursively
(``lr = lr * ratio``), reading ``group["lr"]`` back each step. Both agree to float64
rounding (checked to a relative 1e-12 in the tests) as long as nothing else writes
``group["lr"]``. If something does (manual edits, a second scheduler), torch's value
carries the edit forward while the closed form ignores it. `ChainedScheduler` relies on
exactly that carry-over: its closed form is a `product`, which equals torch only for
multiplicative schedulers (see `ChainedScheduler`).

Documented differences, all at inputs where torch fails or is inconsistent:

- ``OneCycleLR`` holds its final value after ``total_steps - 1`` (torch extrapolates one
  step further at ``t = total_steps`` and raises after that).
- ``StepLR``/``MultiStepLR`` need ``0 <= gamma <= 1`` and ``ExponentialLR``
  ``0 < gamma <= 1`` (torch accepts growth, which overflows to ``inf``).
- ``ConstantLR`` with ``total_iters=0`` and ``LinearLR`` with ``total_iters=0`` keep the
  factor forever, as torch's step-by-step form does (torch's own closed form differs).
- ``CosineAnnealingLR`` with ``eta_min`` close to ``lr``: torch's recursion drifts from the
  exact value far past ``T_max`` (a few 1e-11 relative over thousands of steps); lrlab
  gives the exact value (torch's own closed form).
- ``CosineAnnealingWarmRestarts.step(epoch)``: torch's ``int(math.log(x, T_mult))`` rounds
  down at some exact restarts (``math.log(243, 3) = 4.999...``) and gives ``eta_min``
  there; lrlab gives the restart value, as torch's own ``step()`` loop does.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from typing import Literal, ParamSpec

from lrlab.plateau import plateau
from lrlab.schedules._base import Schedule, check_schedule
from lrlab.schedules.basic import (
    constant,
    exponential,
    linear,
    multistep,
    piecewise_constant,
    polynomial,
    step,
)
from lrlab.schedules.checks import (
    MAX_LR,
    ParameterError,
    check_float,
    check_int,
    check_lr,
    check_sequence,
    fail,
)
from lrlab.schedules.compose import join, product, scale
from lrlab.schedules.cyclical import cosine, cosine_restarts, cyclic, one_cycle

P = ParamSpec("P")


def _torch_named(
    renames: dict[str, str],
) -> Callable[[Callable[P, Schedule]], Callable[P, Schedule]]:
    """Errors from the lrlab family come back in torch's words (name and parameters)."""

    def decorate(function: Callable[P, Schedule]) -> Callable[P, Schedule]:
        @functools.wraps(function)
        def build(*args: P.args, **kwargs: P.kwargs) -> Schedule:
            try:
                return function(*args, **kwargs)
            except ParameterError as error:
                if error.family == function.__name__:
                    raise
                raise error.renamed(function.__name__, renames) from None

        return build

    return decorate


__all__ = [
    "ChainedScheduler",
    "ConstantLR",
    "CosineAnnealingLR",
    "CosineAnnealingWarmRestarts",
    "CyclicLR",
    "ExponentialLR",
    "LinearLR",
    "MultiStepLR",
    "OneCycleLR",
    "PolynomialLR",
    "ReduceLROnPlateau",
    "SequentialLR",
    "StepLR",
]


@_torch_named({"init": "lr", "period": "step_size"})
def StepLR(*, lr: float, step_size: int, gamma: float = 0.1) -> Schedule:
    """``StepLR(optimizer, step_size, gamma=0.1)``.

    >>> from lrlab.schedules.torch_names import StepLR
    >>> StepLR(lr=0.1, step_size=30, gamma=0.5)
    step(init=0.1, period=30, gamma=0.5)
    """
    check_int("StepLR", "step_size", step_size)
    return step(init=lr, period=step_size, gamma=gamma)


@_torch_named({"init": "lr"})
def MultiStepLR(*, lr: float, milestones: Sequence[int], gamma: float = 0.1) -> Schedule:
    """``MultiStepLR(optimizer, milestones, gamma=0.1)``; milestones in any order.

    >>> from lrlab.schedules.torch_names import MultiStepLR
    >>> MultiStepLR(lr=0.1, milestones=[80, 30])
    multistep(init=0.1, milestones=[30, 80])
    """
    ms = [
        check_int("MultiStepLR", "milestones", m, minimum=0)
        for m in check_sequence("MultiStepLR", "milestones", milestones)
    ]
    if not ms:
        check_float("MultiStepLR", "gamma", gamma, minimum=0.0, maximum=1.0)
        return constant(value=lr)
    return multistep(init=lr, milestones=tuple(sorted(ms)), gamma=gamma)


@_torch_named({"lrs": "lr", "value": "lr"})
def ConstantLR(*, lr: float, factor: float = 1.0 / 3, total_iters: int = 5) -> Schedule:
    """``ConstantLR(optimizer, factor=1/3, total_iters=5)``.

    >>> from lrlab.schedules.torch_names import ConstantLR
    >>> ConstantLR(lr=0.3, factor=0.5, total_iters=2).values(3).tolist()
    [0.15, 0.15, 0.3]
    """
    factor = check_float("ConstantLR", "factor", factor, minimum=0.0, maximum=1.0)
    total_iters = check_int("ConstantLR", "total_iters", total_iters, minimum=0)
    lr = check_lr("ConstantLR", "lr", lr)
    if total_iters == 0:
        return constant(value=lr * factor)
    return piecewise_constant(boundaries=(total_iters,), lrs=(lr * factor, lr))


@_torch_named({"init": "lr", "end": "lr", "value": "lr"})
def LinearLR(
    *, lr: float, start_factor: float = 1.0 / 3, end_factor: float = 1.0, total_iters: int = 5
) -> Schedule:
    """``LinearLR(optimizer, start_factor=1/3, end_factor=1.0, total_iters=5)``.

    >>> from lrlab.schedules.torch_names import LinearLR
    >>> LinearLR(lr=1.0, start_factor=0.5, total_iters=2).values(3).tolist()
    [0.5, 0.75, 1.0]
    """
    start_factor = check_float(
        "LinearLR", "start_factor", start_factor, minimum=0.0, maximum=1.0, strict_min=True
    )
    end_factor = check_float("LinearLR", "end_factor", end_factor, minimum=0.0, maximum=1.0)
    total_iters = check_int("LinearLR", "total_iters", total_iters, minimum=0)
    lr = check_lr("LinearLR", "lr", lr)
    if total_iters == 0:
        return constant(value=lr * start_factor)
    return linear(init=lr * start_factor, end=lr * end_factor, steps=total_iters)


@_torch_named({"init": "lr"})
def ExponentialLR(*, lr: float, gamma: float) -> Schedule:
    """``ExponentialLR(optimizer, gamma)``.

    >>> from lrlab.schedules.torch_names import ExponentialLR
    >>> ExponentialLR(lr=0.1, gamma=0.95)
    exponential(init=0.1, gamma=0.95)
    """
    return exponential(init=lr, gamma=gamma)


@_torch_named({"init": "lr", "steps": "total_iters"})
def PolynomialLR(*, lr: float, total_iters: int = 5, power: float = 1.0) -> Schedule:
    """``PolynomialLR(optimizer, total_iters=5, power=1.0)``.

    >>> from lrlab.schedules.torch_names import PolynomialLR
    >>> PolynomialLR(lr=0.1, total_iters=10, power=2.0)
    polynomial(init=0.1, steps=10, power=2.0)
    """
    check_int("PolynomialLR", "total_iters", total_iters)
    return polynomial(init=lr, steps=total_iters, power=power)


@_torch_named({"init": "lr", "steps": "T_max", "end": "eta_min"})
def CosineAnnealingLR(*, lr: float, T_max: int, eta_min: float = 0.0) -> Schedule:
    """``CosineAnnealingLR(optimizer, T_max, eta_min=0.0)``: past ``T_max`` it climbs back.

    >>> from lrlab.schedules.torch_names import CosineAnnealingLR
    >>> CosineAnnealingLR(lr=0.001, T_max=10, eta_min=1e-5)
    cosine(init=0.001, steps=10, end=1e-05, periodic=True)
    """
    check_int("CosineAnnealingLR", "T_max", T_max)
    return cosine(init=lr, steps=T_max, end=eta_min, periodic=True)


@_torch_named({"init": "lr", "period": "T_0", "mult": "T_mult", "end": "eta_min"})
def CosineAnnealingWarmRestarts(
    *,
    lr: float,
    T_0: int,
    T_mult: int = 1,
    eta_min: float = 0.0,
) -> Schedule:
    """``CosineAnnealingWarmRestarts(optimizer, T_0, T_mult=1, eta_min=0.0)``.

    >>> from lrlab.schedules.torch_names import CosineAnnealingWarmRestarts
    >>> CosineAnnealingWarmRestarts(lr=0.001, T_0=10, T_mult=2, eta_min=1e-5)
    cosine_restarts(init=0.001, period=10, mult=2, end=1e-05)
    """
    check_int("CosineAnnealingWarmRestarts", "T_0", T_0)
    check_int("CosineAnnealingWarmRestarts", "T_mult", T_mult)
    return cosine_restarts(init=lr, period=T_0, mult=T_mult, end=eta_min)


@_torch_named(
    {
        "init": "base_lr",
        "peak": "max_lr",
        "up_steps": "step_size_up",
        "down_steps": "step_size_down",
    }
)
def CyclicLR(
    *,
    base_lr: float,
    max_lr: float,
    step_size_up: int = 2000,
    step_size_down: int | None = None,
    mode: Literal["triangular", "triangular2", "exp_range"] = "triangular",
    gamma: float = 1.0,
) -> Schedule:
    """``CyclicLR(optimizer, base_lr, max_lr, step_size_up=2000, ...)`` (the LR part).

    >>> from lrlab.schedules.torch_names import CyclicLR
    >>> CyclicLR(base_lr=0.01, max_lr=0.1)
    cyclic(init=0.01, peak=0.1, up_steps=2000)
    """
    check_int("CyclicLR", "step_size_up", step_size_up)
    if step_size_down is not None:
        check_int("CyclicLR", "step_size_down", step_size_down)
    return cyclic(
        init=base_lr,
        peak=max_lr,
        up_steps=step_size_up,
        down_steps=step_size_down,
        mode=mode,
        gamma=gamma,
    )


@_torch_named(
    {
        "peak": "max_lr",
        "steps": "total_steps",
        "warmup_frac": "pct_start",
        "shape": "anneal_strategy",
        "init": "max_lr",
        "end": "max_lr",
    }
)
def OneCycleLR(
    *,
    max_lr: float,
    total_steps: int | None = None,
    epochs: int | None = None,
    steps_per_epoch: int | None = None,
    pct_start: float = 0.3,
    anneal_strategy: Literal["cos", "linear"] = "cos",
    div_factor: float = 25.0,
    final_div_factor: float = 1e4,
    three_phase: bool = False,
) -> Schedule:
    """``OneCycleLR(optimizer, max_lr, total_steps=None, epochs=None, ...)`` (the LR part).

    >>> from lrlab.schedules.torch_names import OneCycleLR
    >>> OneCycleLR(max_lr=0.1, epochs=10, steps_per_epoch=100)
    one_cycle(peak=0.1, steps=1000, init=0.004, end=4e-07)
    """
    name = "OneCycleLR"
    if total_steps is None:
        if epochs is None or steps_per_epoch is None:
            raise ValueError(
                f"{name}: give total_steps, or epochs and steps_per_epoch, got "
                f"total_steps=None, epochs={epochs!r}, steps_per_epoch={steps_per_epoch!r}"
            )
        total_steps = check_int(name, "epochs", epochs) * check_int(
            name, "steps_per_epoch", steps_per_epoch
        )
    check_int(name, "total_steps", total_steps)
    div_factor = check_float(name, "div_factor", div_factor, minimum=0.0, strict_min=True)
    final_div_factor = check_float(
        name, "final_div_factor", final_div_factor, minimum=0.0, strict_min=True
    )
    initial_lr = check_lr(name, "max_lr", max_lr) / div_factor
    return one_cycle(
        peak=max_lr,
        steps=total_steps,
        init=initial_lr,
        end=initial_lr / final_div_factor,
        warmup_frac=pct_start,
        shape=anneal_strategy,
        three_phase=three_phase,
    )


@_torch_named({"at": "milestones", "phases": "schedulers"})
def SequentialLR(*, schedulers: Sequence[Schedule], milestones: Sequence[int]) -> Schedule:
    """``SequentialLR(optimizer, schedulers, milestones)``: each phase on its local step.

    >>> from lrlab.schedules.torch_names import LinearLR, ExponentialLR, SequentialLR
    >>> s = SequentialLR(
    ...     schedulers=[LinearLR(lr=1.0, total_iters=2), ExponentialLR(lr=1.0, gamma=0.5)],
    ...     milestones=[2],
    ... )
    >>> s.values(4).round(4).tolist()
    [0.3333, 0.6667, 1.0, 0.5]
    """
    return join(list(schedulers), at=milestones)


@_torch_named({"factors": "schedulers"})
def ChainedScheduler(*, lr: float, schedulers: Sequence[Schedule]) -> Schedule:
    """``ChainedScheduler(schedulers)`` for schedulers built on the same ``lr``.

    torch applies each scheduler's multiplicative update in turn, so for multiplicative
    schedulers (StepLR, MultiStepLR, ConstantLR, LinearLR, ExponentialLR, PolynomialLR)
    the result is ``lr * prod(s_i(t) / lr)``. For the others (CosineAnnealingLR with an
    ``eta_min``, CyclicLR, OneCycleLR...) torch's result depends on its recursion and has
    no closed form; build an lrlab composite that says what you mean instead.

    >>> from lrlab.schedules.torch_names import ChainedScheduler, ConstantLR, ExponentialLR
    >>> s = ChainedScheduler(
    ...     lr=1.0,
    ...     schedulers=[ConstantLR(lr=1.0, factor=0.5, total_iters=2),
    ...                 ExponentialLR(lr=1.0, gamma=0.9)],
    ... )
    >>> s.values(3).round(4).tolist()
    [0.5, 0.45, 0.81]
    """
    lr = check_float("ChainedScheduler", "lr", lr, minimum=0.0, strict_min=True)
    if not math.isfinite(1.0 / lr) or 1.0 / lr > MAX_LR:
        raise fail("ChainedScheduler", "lr", lr, f"must be at least {1 / MAX_LR:g}, got {lr!r}")
    parts = [
        check_schedule("ChainedScheduler", "schedulers", p)
        for p in check_sequence("ChainedScheduler", "schedulers", schedulers)
    ]
    if not parts:
        raise fail("ChainedScheduler", "schedulers", [], "must not be empty, got []")
    if len(parts) == 1:
        return parts[0]
    return product([parts[0], *(scale(p, factor=1.0 / lr) for p in parts[1:])])


@_torch_named({"init": "lr"})
def ReduceLROnPlateau(
    *,
    lr: float,
    mode: Literal["min", "max"] = "min",
    factor: float = 0.1,
    patience: int = 10,
    threshold: float = 1e-4,
    threshold_mode: Literal["rel", "abs"] = "rel",
    cooldown: int = 0,
    min_lr: float = 0.0,
    eps: float = 1e-8,
) -> Schedule:
    """``ReduceLROnPlateau(optimizer, mode='min', factor=0.1, patience=10, ...)``.

    >>> from lrlab.schedules.torch_names import ReduceLROnPlateau
    >>> ReduceLROnPlateau(lr=0.1, factor=0.5, patience=3)
    plateau(init=0.1, factor=0.5, patience=3)
    """
    return plateau(
        init=lr,
        mode=mode,
        factor=factor,
        patience=patience,
        threshold=threshold,
        threshold_mode=threshold_mode,
        cooldown=cooldown,
        min_lr=min_lr,
        eps=eps,
    )
