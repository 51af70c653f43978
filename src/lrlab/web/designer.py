"""The schedule designer's work, without the web: spec text in, a drawable curve out.

Every spec is read by the safe spec reader (`lrlab.spec.parse`, an `ast` whitelist, never
``eval``). A curve longer than the plot is wide comes back as its *envelope*: the
smallest and largest value in each pixel-wide bucket of steps, so that a 100,000-step
curve is a few kilobytes and a few milliseconds whatever its length.

>>> curve = curve_of("StepLR(lr=0.1, step_size=30, gamma=0.5)", steps=100_000, width=500)
>>> curve.spec, curve.bucket, len(curve.t), curve.exact
('step(init=0.1, period=30, gamma=0.5)', 200, 500, True)
>>> curve_of("cosine(init=0.1, steps=0)", steps=10, width=10)
Traceback (most recent call last):
...
lrlab.web.designer.DesignError: column 24: cosine: steps must be a positive int, got 0
>>> print(exports("StepLR(lr=0.1, step_size=30)", per="epoch")["toml"])
[[schedules]]
name = "StepLR"
spec = "StepLR(lr=0.1, step_size=30)"
per = "epoch"
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from lrlab.schedules import Schedule
from lrlab.schedules import torch_names as _torch_names
from lrlab.spec import SpecError, constructors, parse

__all__ = [
    "DEFAULT_STEPS",
    "EXACT_STEPS",
    "MAX_STEPS",
    "MAX_WIDTH",
    "Curve",
    "DesignError",
    "constructor_forms",
    "curve_of",
    "exports",
    "read",
]

MAX_STEPS = 2**52
"""The longest curve drawn (the command line's limit too)."""
EXACT_STEPS = 2**22
"""Up to this many steps every step is evaluated; beyond, evenly spread samples are."""
SAMPLES_PER_BUCKET = 64
"""Samples per bucket of a curve longer than `EXACT_STEPS`."""
MAX_WIDTH = 4096
"""The most buckets (pixels) a curve is sent in."""
DEFAULT_STEPS = 10_000
"""Steps drawn for a schedule without a length of its own when none are asked for."""

FloatArray = npt.NDArray[np.float64]


class DesignError(ValueError):
    """Input the designer refuses, as data: the message and, where known, the spec's
    ``column`` (1-based) and the ``parameter`` at fault (a spec's or a request's)."""

    def __init__(
        self, message: str, *, parameter: str | None = None, column: int | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.parameter = parameter
        self.column = column

    def to_dict(self) -> dict[str, Any]:
        """``{"message", "parameter", "column"}`` (JSON-safe)."""
        return {"message": self.message, "parameter": self.parameter, "column": self.column}


def read(spec: str) -> Schedule:
    """The schedule of ``spec``; a `DesignError` for a spec that cannot be drawn (bad
    text, a bad value, a metric-driven ``plateau`` phase).

    >>> read("ReduceLROnPlateau(lr=0.1)")
    Traceback (most recent call last):
    ...
    lrlab.web.designer.DesignError: a metric-driven plateau phase has no curve without a metric
    """
    try:
        schedule = parse(spec)
    except SpecError as error:
        raise DesignError(str(error), parameter=error.parameter, column=error.column) from None
    if schedule.metric_driven:
        raise DesignError("a metric-driven plateau phase has no curve without a metric")
    return schedule


@dataclass(frozen=True, eq=False)
class Curve:
    """A schedule's curve over ``steps`` steps, in buckets of ``bucket`` steps.

    Bucket ``i`` holds the steps ``t[i] .. t[i] + bucket - 1``; ``low[i]`` and
    ``high[i]`` are the smallest and largest learning rate there (equal when
    ``bucket == 1``). ``exact``: every step was evaluated (else evenly spread samples,
    beyond `EXACT_STEPS`).
    """

    spec: str
    steps: int
    bucket: int
    t: npt.NDArray[np.int64]
    low: FloatArray
    high: FloatArray
    exact: bool
    length: int | None

    def to_dict(self) -> dict[str, Any]:
        """The curve as JSON-safe lists (every value is finite: schedules' values are)."""
        return {
            "spec": self.spec,
            "steps": self.steps,
            "bucket": self.bucket,
            "exact": self.exact,
            "length": self.length,
            "t": self.t.tolist(),
            "low": self.low.tolist(),
            "high": self.high.tolist(),
        }


def _count(name: str, value: object, least: int, most: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not least <= value <= most:
        raise DesignError(
            f"{name} must be an int from {least} to {most}, got {value!r}", parameter=name
        )
    return value


def curve_of(spec: str, *, steps: int | None = None, width: int = 800) -> Curve:
    """The curve of ``spec`` over ``steps`` steps (default: the schedule's length, else
    `DEFAULT_STEPS`), as at most ``width`` buckets (pixels) of min and max."""
    width = _count("width", width, 1, MAX_WIDTH)
    schedule = read(spec)
    if steps is None:
        steps = min(schedule.length or DEFAULT_STEPS, MAX_STEPS)
    steps = _count("steps", steps, 1, MAX_STEPS)
    bucket = math.ceil(steps / width)
    starts = np.arange(0, steps, bucket, dtype=np.int64)
    if steps <= EXACT_STEPS:
        values = schedule.values(steps)
        t_at = starts
    else:
        offsets = np.linspace(0, bucket - 1, SAMPLES_PER_BUCKET).round().astype(np.int64)
        sampled = np.minimum(starts[:, None] + offsets[None, :], steps - 1).ravel()
        values = schedule(sampled.astype(np.float64))
        t_at = np.arange(0, sampled.size, SAMPLES_PER_BUCKET, dtype=np.int64)
    if bucket == 1:
        low = high = values
    else:
        low = np.minimum.reduceat(values, t_at)
        high = np.maximum.reduceat(values, t_at)
    return Curve(
        spec=repr(schedule),
        steps=steps,
        bucket=bucket,
        t=starts,
        low=low,
        high=high,
        exact=steps <= EXACT_STEPS,
        length=schedule.length,
    )


def _toml_string(text: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(text, ensure_ascii=False)


def exports(spec: str, *, per: str = "epoch", name: str | None = None) -> dict[str, str]:
    """``spec`` as text to copy out: ``spec`` (canonical), ``torch`` (PyTorch code with
    `lrlab.torch`'s drop-ins) and ``toml`` (an experiment's ``[[schedules]]`` entry).

    ``per`` is when the scheduler steps (``epoch`` or ``batch``); ``name`` the entry's
    label (default: the spec's schedule name).
    """
    from lrlab.lab.experiment import ScheduleEntry
    from lrlab.lab.search import torch_code

    if per not in ("epoch", "batch"):
        raise DesignError(f"per must be 'epoch' or 'batch', got {per!r}", parameter="per")
    schedule = read(spec)
    text = spec.strip()
    try:
        entry = ScheduleEntry.from_text(text, per=per)
        if name is not None:
            entry = ScheduleEntry(name=name, spec=text, per=entry.per)
    except ValueError as error:
        raise DesignError(str(error), parameter="name") from None
    toml = "\n".join(
        [
            "[[schedules]]",
            f"name = {_toml_string(entry.name)}",
            f"spec = {_toml_string(entry.spec)}",
            f"per = {_toml_string(entry.per)}",
        ]
    )
    return {"spec": repr(schedule), "torch": torch_code(entry), "toml": toml}


def _parameters(target: Callable[..., Schedule]) -> list[dict[str, Any]]:
    """Each parameter's name and default as spec text (None: required)."""
    out = []
    if isinstance(target, type) and dataclasses.is_dataclass(target):
        for field in dataclasses.fields(target):
            if field.default is not dataclasses.MISSING:
                default: str | None = _spec_text(field.default)
            elif field.default_factory is not dataclasses.MISSING:
                default = _spec_text(field.default_factory())
            else:
                default = None
            out.append({"name": field.name, "default": default})
    else:
        for parameter in inspect.signature(target).parameters.values():
            empty = parameter.default is inspect.Parameter.empty
            out.append(
                {
                    "name": parameter.name,
                    "default": None if empty else _spec_text(parameter.default),
                }
            )
    return out


def _spec_text(value: object) -> str:
    """A default as a spec would write it (tuples as lists)."""
    if isinstance(value, tuple):
        return "[" + ", ".join(_spec_text(item) for item in value) + "]"
    return repr(value)


def _summary(target: Callable[..., Schedule]) -> str:
    doc = inspect.getdoc(target) or ""
    return doc.split("\n\n")[0].replace("\n", " ")


def constructor_forms() -> list[dict[str, Any]]:
    """Every name a spec may call, for the designer's forms: ``name``, ``kind``
    (``torch``: torch's scheduler names and parameters; ``lrlab``: the families),
    ``summary`` and ``parameters`` (each ``name`` and ``default``, None when required).

    >>> step = next(f for f in constructor_forms() if f["name"] == "StepLR")
    >>> step["kind"], [(p["name"], p["default"]) for p in step["parameters"]]
    ('torch', [('lr', None), ('step_size', None), ('gamma', '0.1')])
    """
    torch = set(_torch_names.__all__)
    return [
        {
            "name": name,
            "kind": "torch" if name in torch else "lrlab",
            "summary": _summary(target),
            "parameters": _parameters(target),
        }
        for name, target in constructors().items()
    ]
