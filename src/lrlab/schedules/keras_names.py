"""Keras's learning-rate schedules as lrlab schedules: ``from_keras(name, ...)``.

``keras.optimizers.schedules.CosineDecay(initial_learning_rate, decay_steps, ...)`` and
its siblings are functions of the optimizer's step count (``optimizer.iterations``).
`from_keras` takes the class name and Keras's own arguments and returns the lrlab
schedule of the same values at every step ``t`` (checked against Keras 3 itself in the
tests, in float64); there is one function per class here, with Keras's signature.

>>> from lrlab.schedules.keras_names import from_keras
>>> from_keras("CosineDecay", initial_learning_rate=0.1, decay_steps=1000, alpha=0.01)
cosine(init=0.1, steps=1000, end=0.001)
>>> s = from_keras("PiecewiseConstantDecay", boundaries=[2, 4], values=[1.0, 0.5, 0.1])
>>> s.values(6).tolist()
[1.0, 1.0, 1.0, 0.5, 0.5, 0.1]

Keras computes in its ``floatx`` (float32 unless set to float64); lrlab's values are the
float64 ones.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence

from lrlab.schedules._base import Schedule
from lrlab.schedules.annealing import annealing
from lrlab.schedules.basic import (
    exponential,
    inverse_time,
    linear,
    piecewise_constant,
    polynomial,
    step,
)
from lrlab.schedules.checks import (
    MAX_LR,
    ParameterError,
    check_bool,
    check_float,
    check_increasing,
    check_int,
    check_lr,
    check_sequence,
)
from lrlab.schedules.compose import join, warmup
from lrlab.schedules.cyclical import cosine, cosine_restarts

__all__ = [
    "CosineDecay",
    "CosineDecayRestarts",
    "ExponentialDecay",
    "InverseTimeDecay",
    "PiecewiseConstantDecay",
    "PolynomialDecay",
    "from_keras",
]


def _positive(name: str, who: str, value: object) -> float:
    return check_float(who, name, value, minimum=0.0, maximum=MAX_LR, strict_min=True)


def CosineDecay(
    *,
    initial_learning_rate: float,
    decay_steps: int,
    alpha: float = 0.0,
    name: str = "CosineDecay",
    warmup_target: float | None = None,
    warmup_steps: int = 0,
) -> Schedule:
    """``CosineDecay(initial_learning_rate, decay_steps, alpha=0.0, name, warmup_target=None,
    warmup_steps=0)``: a half cosine from the lr (or, with ``warmup_target``, from
    ``warmup_target`` after a linear warmup to it) down to ``alpha`` times it.

    >>> CosineDecay(initial_learning_rate=0.0, decay_steps=90, warmup_target=0.1, warmup_steps=10)
    warmup(cosine(init=0.1, steps=90), steps=10)
    """
    del name  # Keras's name scope: no effect on the values
    f = "CosineDecay"
    lr = check_lr(f, "initial_learning_rate", initial_learning_rate)
    steps = check_int(f, "decay_steps", decay_steps)
    alpha = check_float(f, "alpha", alpha, minimum=0.0, maximum=1.0)
    warm = check_int(f, "warmup_steps", warmup_steps, minimum=0)
    if warmup_target is None:
        return cosine(init=lr, steps=steps, end=lr * alpha)
    target = _positive("warmup_target", f, warmup_target)
    decay = cosine(init=target, steps=steps, end=target * alpha)
    if warm == 0:
        return decay
    if lr <= target:
        return warmup(decay, steps=warm, start_factor=lr / target)
    return join([linear(init=lr, end=target, steps=warm), decay], at=[warm])


def CosineDecayRestarts(
    *,
    initial_learning_rate: float,
    first_decay_steps: int,
    t_mul: float = 2.0,
    m_mul: float = 1.0,
    alpha: float = 0.0,
    name: str = "SGDRDecay",
) -> Schedule:
    """``CosineDecayRestarts(initial_learning_rate, first_decay_steps, t_mul=2.0, m_mul=1.0,
    alpha=0.0, name)``: SGDR, cycle ``i`` lasting ``first_decay_steps * t_mul**i`` steps
    with its height above ``alpha * lr`` multiplied by ``m_mul**i``.

    A whole ``t_mul`` gives `cosine_restarts`; another ``t_mul`` gives `annealing`, which
    is exact only when ``alpha`` is 0 or ``m_mul`` is 1 (its peaks shrink towards 0, not
    towards ``alpha * lr``): otherwise this raises `ParameterError`.

    >>> CosineDecayRestarts(initial_learning_rate=0.1, first_decay_steps=100, alpha=0.01)
    cosine_restarts(init=0.1, period=100, mult=2, end=0.001)
    """
    del name  # Keras's name scope: no effect on the values
    f = "CosineDecayRestarts"
    lr = check_lr(f, "initial_learning_rate", initial_learning_rate)
    period = check_int(f, "first_decay_steps", first_decay_steps)
    mult = check_float(f, "t_mul", t_mul, minimum=1.0, maximum=100.0)
    decay = check_float(f, "m_mul", m_mul, minimum=0.0, maximum=1.0, strict_min=True)
    alpha = check_float(f, "alpha", alpha, minimum=0.0, maximum=1.0)
    if mult == round(mult):
        return cosine_restarts(
            init=lr, period=period, mult=round(mult), end=lr * alpha, decay=decay
        )
    if alpha != 0.0 and decay != 1.0:
        raise ParameterError(
            f,
            "t_mul",
            t_mul,
            "{t_mul} must be a whole number when alpha and m_mul are both set (the closed "
            f"form for a fractional t_mul shrinks the peaks towards 0), got {t_mul!r}",
        )
    return annealing(init=lr, period=period, end=lr * alpha, mult=mult, gamma=decay, cycles=None)


def ExponentialDecay(
    *,
    initial_learning_rate: float,
    decay_steps: int,
    decay_rate: float,
    staircase: bool = False,
    name: str = "ExponentialDecay",
) -> Schedule:
    """``ExponentialDecay(initial_learning_rate, decay_steps, decay_rate, staircase=False,
    name)``: ``lr * decay_rate ** (t / decay_steps)`` (``t // decay_steps`` with
    ``staircase``).

    Without ``staircase`` this is `exponential` with ``gamma = decay_rate ** (1 /
    decay_steps)``: the rounding of that ``gamma`` grows with ``t``, to a relative
    ``t * 2**-53`` (1e-12 at 9,000 steps, 1e-10 at a million).

    >>> ExponentialDecay(initial_learning_rate=0.1, decay_steps=10, decay_rate=0.5, staircase=True)
    step(init=0.1, period=10, gamma=0.5)
    """
    del name  # Keras's name scope: no effect on the values
    f = "ExponentialDecay"
    lr = check_lr(f, "initial_learning_rate", initial_learning_rate)
    steps = check_int(f, "decay_steps", decay_steps)
    if check_bool(f, "staircase", staircase):
        rate = check_float(f, "decay_rate", decay_rate, minimum=0.0, maximum=1.0)
        return step(init=lr, period=steps, gamma=rate)
    rate = check_float(f, "decay_rate", decay_rate, minimum=0.0, maximum=1.0, strict_min=True)
    return exponential(init=lr, gamma=rate ** (1 / steps))


def InverseTimeDecay(
    *,
    initial_learning_rate: float,
    decay_steps: int,
    decay_rate: float,
    staircase: bool = False,
    name: str = "InverseTimeDecay",
) -> Schedule:
    """``InverseTimeDecay(initial_learning_rate, decay_steps, decay_rate, staircase=False,
    name)``: ``lr / (1 + decay_rate * t / decay_steps)``.

    >>> InverseTimeDecay(initial_learning_rate=0.1, decay_steps=10, decay_rate=0.5)
    inverse_time(init=0.1, period=10, rate=0.5)
    """
    del name  # Keras's name scope: no effect on the values
    f = "InverseTimeDecay"
    return inverse_time(
        init=check_lr(f, "initial_learning_rate", initial_learning_rate),
        period=check_int(f, "decay_steps", decay_steps),
        rate=check_lr(f, "decay_rate", decay_rate),
        staircase=check_bool(f, "staircase", staircase),
    )


def PiecewiseConstantDecay(
    *, boundaries: Sequence[int], values: Sequence[float], name: str = "PiecewiseConstant"
) -> Schedule:
    """``PiecewiseConstantDecay(boundaries, values, name)``: ``values[0]`` while
    ``t <= boundaries[0]``, ``values[i]`` while ``t <= boundaries[i]``, then the last.

    Keras's boundaries close on the right (``t <= b``); for the whole steps an optimizer
    counts that is lrlab's `piecewise_constant` with every boundary one step later.

    >>> PiecewiseConstantDecay(boundaries=[100], values=[0.1, 0.01])
    piecewise_constant(boundaries=[101], lrs=[0.1, 0.01])
    """
    del name  # Keras's name scope: no effect on the values
    f = "PiecewiseConstantDecay"
    given = tuple(
        check_int(f, "boundaries", b, minimum=0)
        for b in check_sequence(f, "boundaries", boundaries)
    )
    check_increasing(f, "boundaries", given)
    lrs = tuple(check_lr(f, "values", v) for v in check_sequence(f, "values", values))
    if len(lrs) != len(given) + 1:
        raise ParameterError(
            f,
            "values",
            list(values),
            f"{{values}} must have one more entry than boundaries ({len(given) + 1}), "
            f"got {len(lrs)}",
        )
    return piecewise_constant(boundaries=tuple(b + 1 for b in given), lrs=lrs)


def PolynomialDecay(
    *,
    initial_learning_rate: float,
    decay_steps: int,
    end_learning_rate: float = 0.0001,
    power: float = 1.0,
    cycle: bool = False,
    name: str = "PolynomialDecay",
) -> Schedule:
    """``PolynomialDecay(initial_learning_rate, decay_steps, end_learning_rate=0.0001,
    power=1.0, cycle=False, name)``: ``(lr - end) * (1 - t / decay_steps) ** power + end``
    up to ``decay_steps``, then ``end``; with ``cycle`` the decay restarts, stretched to the
    next multiple of ``decay_steps``.

    >>> PolynomialDecay(initial_learning_rate=0.1, decay_steps=100, power=2.0)
    polynomial(init=0.1, steps=100, end=0.0001, power=2.0)
    """
    del name  # Keras's name scope: no effect on the values
    f = "PolynomialDecay"
    return polynomial(
        init=check_lr(f, "initial_learning_rate", initial_learning_rate),
        steps=check_int(f, "decay_steps", decay_steps),
        end=check_lr(f, "end_learning_rate", end_learning_rate),
        power=check_float(f, "power", power, minimum=0.0, maximum=64.0, strict_min=True),
        cycle=check_bool(f, "cycle", cycle),
    )


CLASSES: dict[str, Callable[..., Schedule]] = {
    "CosineDecay": CosineDecay,
    "CosineDecayRestarts": CosineDecayRestarts,
    "ExponentialDecay": ExponentialDecay,
    "InverseTimeDecay": InverseTimeDecay,
    "PiecewiseConstantDecay": PiecewiseConstantDecay,
    "PolynomialDecay": PolynomialDecay,
}
"""The ``keras.optimizers.schedules`` classes `from_keras` reads, by name."""


def from_keras(name: str, **kwargs: object) -> Schedule:
    """The lrlab schedule of ``keras.optimizers.schedules.<name>(**kwargs)``.

    Raises `ParameterError` (a ``ValueError``) naming the parameter for an unknown name
    or keyword, a missing argument, or a value Keras would refuse or lrlab cannot give
    exactly.

    >>> from_keras("InverseTimeDecay", initial_learning_rate=1.0, decay_steps=1,
    ...            decay_rate=1.0).values(3).tolist()
    [1.0, 0.5, 0.3333333333333333]
    """
    build = CLASSES.get(name)
    if build is None:
        raise ParameterError(
            "from_keras",
            "name",
            name,
            f"unknown {{name}} {name!r}; supported: {', '.join(CLASSES)}",
        )
    parameters = inspect.signature(build).parameters
    for key, value in kwargs.items():
        if key not in parameters:
            raise ParameterError(
                name, key, value, f"takes no {{{key}}}; parameters: {', '.join(parameters)}"
            )
    for key, parameter in parameters.items():
        if parameter.default is inspect.Parameter.empty and key not in kwargs:
            raise ParameterError(name, key, None, f"{{{key}}} is required")
    return build(**kwargs)
