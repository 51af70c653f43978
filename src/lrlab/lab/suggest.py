"""Suggested lrs from a range test's curve: three methods, numpy only (no torch).

Each method takes the lrs (increasing, > 0) and the smoothed loss at them and gives a
`Suggestion`: an lr, or ``lr=None`` with the reason none could be made. `suggest` runs
all of `METHODS`; a curve recorded anywhere (another tool, your own loop) will do.

>>> from lrlab.lab.suggest import METHODS, suggest
>>> list(METHODS)
['steepest', 'minimum/10', 'valley']
>>> suggest([1e-3, 1e-2], [1.0, 0.5])["valley"].reason
'too few points (2) to suggest an lr; at least 5 are needed'
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np
import numpy.typing as npt

MIN_POINTS = 5
"""A suggestion needs at least this many points of the curve."""
DEFAULT_METHOD = "steepest"
"""The method behind `lrlab.lab.find_lr.FindLRResult.suggestion`."""


@dataclass(frozen=True, kw_only=True)
class Suggestion:
    """One method's suggested lr, or ``lr=None`` with the reason none could be made.

    ``index`` is the point of the curve the suggestion comes from (for "minimum/10" the
    minimum, whose lr is ten times the suggestion), or None.

    >>> Suggestion(method="steepest", lr=None, index=None, reason="no curve").to_dict()
    {'method': 'steepest', 'lr': None, 'index': None, 'reason': 'no curve'}
    """

    method: str
    lr: float | None
    index: int | None
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """The suggestion as a JSON-safe dict."""
        return {"method": self.method, "lr": self.lr, "index": self.index, "reason": self.reason}


def _curve(
    owner: str, lrs: npt.ArrayLike, smoothed: npt.ArrayLike
) -> tuple[np.ndarray, np.ndarray]:
    """The curve as float64 arrays; checked for values once it has `MIN_POINTS` points."""
    x = np.asarray(lrs, dtype=np.float64)
    y = np.asarray(smoothed, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(
            f"{owner}: lrs and smoothed must be 1-d and of one length, got shapes "
            f"{x.shape} and {y.shape}"
        )
    if x.size >= MIN_POINTS and not (
        np.all(np.isfinite(x)) and np.all(x > 0) and np.all(np.isfinite(y))
    ):
        raise ValueError(f"{owner}: lrs must be finite and > 0 and smoothed finite")
    return x, y


def _too_few(method: str, n: int) -> Suggestion:
    why = f"too few points ({n}) to suggest an lr; at least {MIN_POINTS} are needed"
    return Suggestion(method=method, lr=None, index=None, reason=why)


def steepest(lrs: npt.ArrayLike, smoothed: npt.ArrayLike) -> Suggestion:
    """The lr where the smoothed loss falls fastest against log10(lr).

    Slopes are measured over a window of ``2 * (n // 25)`` points around each point (at
    least 2), leaving out the first tenth and the last twentieth of the points (the
    noisy start and the diverging end).

    >>> steepest([1, 2, 3, 4, 5, 6], [3.0, 2.9, 2.0, 1.0, 0.9, 0.8]).lr
    3.0
    """
    method = "steepest"
    x, y = _curve(method, lrs, smoothed)
    n = x.size
    if n < MIN_POINTS:
        return _too_few(method, n)
    w = max(1, n // 25)  # slopes over +-w points: one batch's noise does not decide
    skip_start, skip_end = max(w, n // 10), max(w, n // 20)
    log_lr = np.log10(x)
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = (y[2 * w :] - y[: -2 * w]) / (log_lr[2 * w :] - log_lr[: -2 * w])
    inner = slope[skip_start - w : n - skip_end - w]  # slope[j] is centred on j + w
    inner = np.where(np.isfinite(inner), inner, np.inf)
    if inner.size == 0 or not inner.min() < 0:
        return Suggestion(
            method=method,
            lr=None,
            index=None,
            reason="the smoothed loss never falls (away from the edges of the curve)",
        )
    k = int(np.argmin(inner))
    index = skip_start + k
    return Suggestion(
        method=method,
        lr=float(x[index]),
        index=index,
        reason=(
            f"the smoothed loss falls fastest ({float(inner[k]):.3g} per decade of lr) "
            f"at lr {x[index]:.3g}"
        ),
    )


def minimum_tenth(lrs: npt.ArrayLike, smoothed: npt.ArrayLike) -> Suggestion:
    """The "minimum/10" method: a tenth of the lr where the smoothed loss is lowest.

    >>> minimum_tenth([1, 2, 3, 4, 5], [3.0, 2.0, 1.0, 1.5, 4.0]).lr
    0.3
    """
    method = "minimum/10"
    x, y = _curve(method, lrs, smoothed)
    if x.size < MIN_POINTS:
        return _too_few(method, x.size)
    index = int(np.argmin(y))
    if index == 0:
        return Suggestion(
            method=method,
            lr=None,
            index=None,
            reason=(
                f"the smoothed loss is lowest at the first lr ({x[0]:.3g}): it never "
                "fell; start lower"
            ),
        )
    return Suggestion(
        method=method,
        lr=float(x[index]) / 10,
        index=index,
        reason=f"the smoothed loss is lowest ({y[index]:.4g}) at lr {x[index]:.3g}; a tenth of it",
    )


def _longest_descent(y: np.ndarray) -> list[int]:
    """The indices of a longest strictly decreasing subsequence of ``y`` (O(n log n)).

    ``ends[k]`` is the index where the best descent of ``k + 1`` points found so far
    ends; "best" is the one ending highest, which leaves the most room to go on down.
    """
    ends: list[int] = []
    keys: list[float] = []  # -y[ends[k]], increasing in k
    before = [-1] * y.size
    for i, value in enumerate(y.tolist()):
        k = bisect.bisect_left(keys, -value)
        if k == len(ends):
            ends.append(i)
            keys.append(-value)
        else:
            ends[k] = i
            keys[k] = -value
        before[i] = ends[k - 1] if k > 0 else -1
    path = []
    i = ends[-1] if ends else -1
    while i >= 0:
        path.append(i)
        i = before[i]
    return path[::-1]


def valley(lrs: npt.ArrayLike, smoothed: npt.ArrayLike) -> Suggestion:
    """The lr two thirds of the way down the longest descent of the smoothed loss.

    The longest descent is the longest run of points each lower than the one before it
    in the run; points that go up in between are stepped over.

    >>> valley([1, 2, 3, 4, 5, 6, 7], [5.0, 4.0, 4.5, 3.0, 2.0, 1.0, 6.0]).lr
    4.0
    """
    method = "valley"
    x, y = _curve(method, lrs, smoothed)
    if x.size < MIN_POINTS:
        return _too_few(method, x.size)
    path = _longest_descent(y)
    first, last = path[0], path[-1]
    if len(path) < 3 or last - first < 2:
        return Suggestion(
            method=method, lr=None, index=None, reason="the smoothed loss has no descent"
        )
    index = first + round((last - first) * 2 / 3)
    return Suggestion(
        method=method,
        lr=float(x[index]),
        index=index,
        reason=(
            f"the longest descent runs from lr {x[first]:.3g} to {x[last]:.3g} "
            f"({len(path)} falling points); two thirds of the way down is lr {x[index]:.3g}"
        ),
    )


Method = Callable[[npt.ArrayLike, npt.ArrayLike], Suggestion]
METHODS: Mapping[str, Method] = MappingProxyType(
    {"steepest": steepest, "minimum/10": minimum_tenth, "valley": valley}
)
"""The suggestion methods by name, in the order they are computed and drawn."""


def suggest(lrs: npt.ArrayLike, smoothed: npt.ArrayLike) -> dict[str, Suggestion]:
    """Each of `METHODS`' `Suggestion` for a (smoothed) loss curve over increasing lrs.

    >>> lrs = [10 ** (k / 4 - 5) for k in range(21)]           # 1e-5 .. 1
    >>> loss = [2.0] * 6 + [1.8, 1.4, 1.0, 0.7, 0.5, 0.4, 0.35, 0.5, 1.2] + [3.0] * 6
    >>> {m: round(s.lr, 6) for m, s in suggest(lrs, loss).items()}
    {'steepest': 0.000562, 'minimum/10': 0.001, 'valley': 0.003162}
    """
    x, y = _curve("suggest", lrs, smoothed)
    return {name: method(x, y) for name, method in METHODS.items()}
