"""The range test's settings (its defaults, written once) and its lr sweep as a schedule.

`FindLRSettings` is what `find_lr` and `find_lr_for` run with, and where the command
line's ``find-lr`` takes its defaults from. Importing this module loads neither numpy nor
torch (``lrlab find-lr --help`` stays light): the schedule families and their checks are
imported when a settings value is made.

The sweep is an lrlab schedule, evaluated in closed form: ``mode="exp"`` is ``end``
times a geometric ramp from ``start / end`` up to 1 (`lrlab.warmup` with
``shape="exponential"`` over `lrlab.constant`), ``mode="linear"`` is `lrlab.linear`.
Neither forms ``end / start``, so no range overflows.

>>> from lrlab.lab.sweep import FindLRSettings
>>> settings = FindLRSettings()
>>> settings.steps, settings.start, settings.end, settings.mode
(100, 1e-07, 10.0, 'exp')
>>> settings.schedule()
warmup(constant(value=10.0), steps=99, start_factor=1e-08, shape='exponential', mode='overlay')
>>> FindLRSettings(end=1e200)
Traceback (most recent call last):
...
lrlab.schedules.checks.ParameterError: find_lr: end must be at most 1e+10, got 1e+200
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from lrlab.schedules import Schedule

Mode = Literal["exp", "linear"]
MODES: tuple[Mode, ...] = ("exp", "linear")
"""How the lr rises: geometrically ("exp", the usual choice) or in equal steps."""
MIN_STEPS = 10
MAX_STEPS = 10_000_000
MIN_START = 1e-300
"""The smallest ``start``: ``start / end`` stays a positive float for every ``end``."""


@dataclass(frozen=True, kw_only=True)
class FindLRSettings:
    """The range test's settings, validated; the defaults here are the only ones.

    ``start``/``end``: the first and the last lr (``0 < start < end <= 1e10``, the
    largest lr any lrlab schedule takes); ``steps``: optimizer steps (at least 10);
    ``mode``: "exp" or "linear"; ``smooth``: the loss's moving-average beta in [0, 1);
    ``diverge``: stop when the smoothed loss passes this many times its best (> 1);
    ``accumulation``: batches summed into each optimizer step.

    >>> FindLRSettings(steps=50).to_dict()
    {'start': 1e-07, 'end': 10.0, 'steps': 50, 'mode': 'exp', 'smooth': 0.98,
     'diverge': 4.0, 'accumulation': 1}
    >>> FindLRSettings.steps, FindLRSettings.smooth   # the defaults, without validating
    (100, 0.98)
    >>> FindLRSettings(smooth=1.0)
    Traceback (most recent call last):
    ...
    lrlab.schedules.checks.ParameterError: find_lr: smooth must be >= 0 and < 1, got 1.0
    """

    start: float = 1e-7
    end: float = 10.0
    steps: int = 100
    mode: Mode = "exp"
    smooth: float = 0.98
    diverge: float = 4.0
    accumulation: int = 1

    def __post_init__(self) -> None:
        from lrlab.schedules.checks import check_choice, check_float, check_int

        name = "find_lr"
        start, end = _check_range(name, self.start, self.end)
        checked = {
            "start": start,
            "end": end,
            "steps": check_int(name, "steps", self.steps, minimum=MIN_STEPS, maximum=MAX_STEPS),
            "mode": check_choice(name, "mode", self.mode, MODES),
            "smooth": check_float(
                name, "smooth", self.smooth, minimum=0.0, maximum=1.0, strict_max=True
            ),
            "diverge": check_float(name, "diverge", self.diverge, minimum=1.0, strict_min=True),
            "accumulation": check_int(name, "accumulation", self.accumulation, maximum=1_000_000),
        }
        for key, value in checked.items():
            object.__setattr__(self, key, value)

    def replace(self, **changes: Any) -> FindLRSettings:
        """These settings with some changed (and validated); unknown names are a TypeError.

        >>> FindLRSettings().replace(steps=30).steps
        30
        >>> FindLRSettings().replace(stpes=30)
        Traceback (most recent call last):
        ...
        TypeError: find_lr: unknown setting 'stpes'; the settings are start, end, steps, ...
        """
        names = [f.name for f in dataclasses.fields(self)]
        for key in changes:
            if key not in names:
                raise TypeError(
                    f"find_lr: unknown setting {key!r}; the settings are {', '.join(names)}"
                )
        return dataclasses.replace(self, **changes) if changes else self

    def to_dict(self) -> dict[str, Any]:
        """The settings as a JSON-safe dict (the ``settings`` of a stored result)."""
        return dataclasses.asdict(self)

    def schedule(self) -> Schedule:
        """The sweep as an lrlab schedule: step ``i`` of the test runs at its value at ``i``.

        >>> FindLRSettings(start=0.01, end=1.0, steps=11, mode="linear").schedule()
        linear(init=0.01, end=1.0, steps=10)
        """
        return sweep(self.start, self.end, self.steps, self.mode)

    def lrs(self) -> list[float]:
        """The lr of each step, ``lr_sequence(start, end, steps, mode)``."""
        return lr_sequence(self.start, self.end, self.steps, self.mode)


def _check_range(name: str, start: object, end: object) -> tuple[float, float]:
    from lrlab.schedules.checks import MAX_LR, check_float

    low = check_float(name, "start", start, minimum=0.0, strict_min=True)
    high = check_float(name, "end", end, minimum=0.0, maximum=MAX_LR, strict_min=True)
    if low < MIN_START:
        raise ValueError(f"{name}: start must be at least {MIN_START:g}, got {start!r}")
    if high <= low:
        raise ValueError(f"{name}: end must be greater than start ({start!r}), got {end!r}")
    return low, high


def sweep(start: float, end: float, steps: int, mode: str = "exp") -> Schedule:
    """The lr sweep from ``start`` (step 0) to ``end`` (step ``steps - 1``) as a schedule.

    "exp": ``end * (start / end) ** (1 - t / (steps - 1))``, which is ``start * (end /
    start) ** (t / (steps - 1))`` computed without ``end / start``; "linear":
    ``lrlab.linear(init=start, end=end, steps=steps - 1)``. Past the last step both hold
    ``end``.

    >>> sweep(1e-200, 1e10, 3)(1)
    1e-95
    >>> sweep(0.0, 1.0, 3)
    Traceback (most recent call last):
    ...
    lrlab.schedules.checks.ParameterError: sweep: start must be > 0, got 0.0
    """
    from lrlab.schedules import constant, linear, warmup
    from lrlab.schedules.checks import check_choice, check_int

    low, high = _check_range("sweep", start, end)
    last = check_int("sweep", "steps", steps, minimum=2, maximum=MAX_STEPS) - 1
    if check_choice("sweep", "mode", mode, MODES) == "linear":
        return linear(init=low, end=high, steps=last)
    return warmup(
        constant(value=high),
        steps=last,
        start_factor=low / high,
        shape="exponential",
        mode="overlay",
    )


def lr_sequence(start: float, end: float, steps: int, mode: str = "exp") -> list[float]:
    """The lrs of the test's steps: the `sweep`'s values at ``0 .. steps - 1``.

    The first is ``start`` and the last ``end``, exactly ("exp" computes ``end * (start
    / end)`` at step 0, which can be one rounding away from ``start``; the sequence
    begins at ``start`` itself), and every value is finite for every valid range. In
    between, "exp" agrees with ``start * (end / start) ** (i / (steps - 1))`` to about
    ``ln(end / start) * 1e-16``, relative (1.3e-15 for the default 1e-7 to 10), and
    "linear" with ``start + (end - start) * i / (steps - 1)`` to a few units in the
    last place: the values can differ from those formulas' in the last bits.

    >>> [f"{lr:g}" for lr in lr_sequence(1e-3, 10.0, 5)]
    ['0.001', '0.01', '0.1', '1', '10']
    >>> lr_sequence(1e-2, 1.0, 3, "linear")
    [0.01, 0.505, 1.0]
    >>> [f"{lr:.6g}" for lr in lr_sequence(1e-200, 1e10, 4)]
    ['1e-200', '1e-130', '1e-60', '1e+10']
    """
    values: list[float] = sweep(start, end, steps, mode).values(steps).tolist()
    values[0] = float(start)
    return values
