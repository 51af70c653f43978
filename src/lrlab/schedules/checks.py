"""Argument checks that name the family, the parameter and the value they got.

Every check raises a `ParameterError` (a ``ValueError``; `ParameterTypeError`, also a
``TypeError``, for a value of the wrong kind). It carries ``family``, ``parameter`` and
``value`` as data, so that a layer speaking another library's names (torch's, Hugging
Face's) or pointing at the spec text it came from reads the fields instead of the
message. The message says it all on its own:

>>> from lrlab.schedules.checks import ParameterError, check_int
>>> try:
...     check_int("step", "period", 0)
... except ParameterError as error:
...     print(error)
...     print(error.family, error.parameter, error.value)
...     print(error.renamed("StepLR", {"period": "step_size"}))
step: period must be a positive int, got 0
step period 0
StepLR: step_size must be a positive int, got 0
"""

from __future__ import annotations

import itertools
import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = [
    "MAX_LR",
    "ParameterError",
    "ParameterTypeError",
    "check_bool",
    "check_choice",
    "check_float",
    "check_increasing",
    "check_int",
    "check_lr",
    "check_sequence",
    "fail",
]

MAX_LR = 1e10
"""The largest learning rate (or factor) accepted: far above any real one, far below
overflow, so that every schedule's values stay finite."""


class _Names(dict[str, str]):
    """Parameter names for a message template: each one as itself unless renamed."""

    def __missing__(self, key: str) -> str:
        return key


class ParameterError(ValueError):
    """A bad argument: ``family`` (who checked it), ``parameter``, the ``value`` it got.

    ``template`` is the message after ``"family: "``, with the parameters it names as
    ``{name}`` fields; ``names`` renames them (see `renamed`).
    """

    def __init__(
        self,
        family: str,
        parameter: str,
        value: object,
        template: str,
        names: Mapping[str, str] | None = None,
    ) -> None:
        self.family, self.value, self.template = family, value, template
        self.names = dict(names or {})
        self.parameter = self.names.get(parameter, parameter)
        self._original = parameter
        super().__init__(f"{family}: {template.format_map(_Names(self.names))}")

    def __reduce__(self) -> tuple[Any, ...]:
        args = (self.family, self._original, self.value, self.template, self.names)
        return type(self), args

    def renamed(self, family: str, names: Mapping[str, str]) -> ParameterError:
        """The same error in another vocabulary: ``family`` and the parameters renamed
        (``names`` maps the names in this error to the new ones)."""
        fields = {p: names.get(self.names.get(p, p), self.names.get(p, p)) for p in names}
        fields.update({p: names.get(new, new) for p, new in self.names.items()})
        return type(self)(family, self._original, self.value, self.template, fields)


class ParameterTypeError(ParameterError, TypeError):
    """A `ParameterError` for a value of the wrong kind (also a ``TypeError``)."""


def fail(
    family: str, parameter: str, value: object, requirement: str, *, kind: str = "value"
) -> ParameterError:
    """The error for ``"family: parameter requirement"`` (``kind="type"``: the wrong
    kind of value). ``requirement`` is plain text."""
    text = requirement.replace("{", "{{").replace("}", "}}")
    error = ParameterTypeError if kind == "type" else ParameterError
    return error(family, parameter, value, f"{{{parameter}}} {text}")


def check_float(
    family: str,
    name: str,
    value: object,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    strict_min: bool = False,
    strict_max: bool = False,
) -> float:
    """A finite real number within the bounds, as a float; else a precise error."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise fail(family, name, value, f"must be a number, got {value!r}", kind="type")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise fail(family, name, value, f"must be finite, got {short(value)}")
    low_bad = minimum is not None and (number < minimum or (strict_min and number == minimum))
    high_bad = maximum is not None and (number > maximum or (strict_max and number == maximum))
    if high_bad and maximum == MAX_LR:  # the overflow guard: name only that bound
        raise fail(family, name, value, f"must be at most {MAX_LR:g}, got {value!r}")
    if low_bad or high_bad:
        hi = None if maximum == MAX_LR else maximum
        bounds = _range_text(minimum, hi, strict_min, strict_max)
        raise fail(family, name, value, f"must be {bounds}, got {value!r}")
    return number


def short(value: object) -> str:
    """``repr(value)``, cut in the middle when it is long (a number of many digits)."""
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:20]}...{text[-10:]} ({len(text)} digits)"


def _range_text(lo: float | None, hi: float | None, strict_lo: bool, strict_hi: bool) -> str:
    if lo == 0 and hi is None:
        return "> 0" if strict_lo else ">= 0"
    parts = []
    if lo is not None:
        parts.append(f"{'>' if strict_lo else '>='} {lo:g}")
    if hi is not None:
        parts.append(f"{'<' if strict_hi else '<='} {hi:g}")
    return " and ".join(parts)


def check_lr(family: str, name: str, value: object) -> float:
    """A learning rate: a finite number between 0 and `MAX_LR`."""
    return check_float(family, name, value, minimum=0.0, maximum=MAX_LR)


def check_int(
    family: str, name: str, value: object, *, minimum: int = 1, maximum: int = 2**52
) -> int:
    """An int (not a bool, not a float) in ``[minimum, maximum]``.

    The default maximum, 2**52 steps, keeps every step count exact in float64.
    """
    what = "a positive int" if minimum == 1 else f"an int >= {minimum}"
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise fail(family, name, value, f"must be {what}, got {value!r}", kind="type")
    number = int(value)
    if number < minimum:
        raise fail(family, name, value, f"must be {what}, got {value!r}")
    if number > maximum:
        limit = "2**52" if maximum == 2**52 else str(maximum)
        raise fail(family, name, value, f"must be at most {limit}, got {short(value)}")
    return number


def check_choice(family: str, name: str, value: object, choices: Sequence[str]) -> str:
    """One of the allowed strings."""
    if not isinstance(value, str) or value not in choices:
        allowed = ", ".join(repr(c) for c in choices)
        raise fail(family, name, value, f"must be one of {allowed}, got {value!r}")
    return value


def check_bool(family: str, name: str, value: object) -> bool:
    """A real bool (not 0/1)."""
    if not isinstance(value, bool):
        raise fail(family, name, value, f"must be True or False, got {value!r}", kind="type")
    return value


def check_sequence(family: str, name: str, value: object) -> tuple[object, ...]:
    """A list or tuple (not a string, not a bare number), as a tuple."""
    if isinstance(value, str | bytes) or not isinstance(value, Sequence | np.ndarray):
        raise fail(family, name, value, f"must be a list, got {value!r}", kind="type")
    return tuple(value.tolist() if isinstance(value, np.ndarray) else value)


def check_increasing(
    family: str, name: str, values: tuple[int, ...], *, strict: bool = True
) -> None:
    """Raise unless ``values`` is (strictly) increasing."""
    for a, b in itertools.pairwise(values):
        if b < a or (strict and b == a):
            kind = "strictly increasing" if strict else "sorted (non-decreasing)"
            raise fail(family, name, list(values), f"must be {kind}, got {list(values)!r}")
