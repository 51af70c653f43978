"""The `Schedule` base class, validation helpers and the serialisation registry.

Every family is a frozen, slotted, keyword-only dataclass that subclasses `Schedule`
and implements `_eval` on a float64 array of steps. Everything a user sees (calling,
`values`, `to_dict`, `repr`, the metric-driven state) is implemented once, here.
"""

from __future__ import annotations

import abc
import dataclasses
import itertools
import math
from collections.abc import Iterator, Mapping, Sequence
from typing import (
    Any,
    ClassVar,
    Literal,
    SupportsFloat,
    TypeAlias,
    final,
    overload,
)

import numpy as np
import numpy.typing as npt

from lrlab.schedules.checks import (
    check_float,
    check_int,
    check_lr,
    fail,
)
from lrlab.schedules.checks import short as _short

FloatArray: TypeAlias = npt.NDArray[np.float64]
JSON: TypeAlias = "bool | int | float | str | list[JSON] | dict[str, JSON] | None"

_REGISTRY: dict[str, type[Schedule]] = {}


@final
@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class PlateauState:
    """Where a (possibly metric-driven) schedule stands: everything needed to resume.

    ``step`` is the number of scheduler steps taken; ``lr`` the plateau phase's current
    learning rate; ``best``, ``num_bad_epochs`` and ``cooldown_counter`` mean what they
    mean in torch's ``ReduceLROnPlateau``.

    >>> import lrlab
    >>> state = lrlab.PlateauState(step=3, lr=0.01, best=0.25)
    >>> lrlab.PlateauState.from_dict(state.to_dict()) == state
    True
    """

    step: int = 0
    lr: float
    best: float
    num_bad_epochs: int = 0
    cooldown_counter: int = 0

    def to_dict(self) -> dict[str, JSON]:
        """A JSON-safe dict; non-finite floats become the strings 'inf', '-inf', 'nan'."""
        return {
            "step": self.step,
            "lr": self.lr,
            "best": self.best if math.isfinite(self.best) else str(self.best),
            "num_bad_epochs": self.num_bad_epochs,
            "cooldown_counter": self.cooldown_counter,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PlateauState:
        """Read `to_dict` output back."""
        name = "PlateauState"
        missing = {"step", "lr", "best", "num_bad_epochs", "cooldown_counter"} - set(data)
        if missing:
            raise ValueError(f"{name}: missing {', '.join(sorted(missing))} in {dict(data)!r}")
        try:
            if isinstance(data["best"], bool):
                raise TypeError
            best = float(data["best"])
        except (TypeError, ValueError):
            raise ValueError(f"{name}: best must be a number, got {data['best']!r}") from None
        return cls(
            step=check_int(name, "step", data["step"], minimum=0),
            lr=check_lr(name, "lr", data["lr"]),
            best=best,
            num_bad_epochs=check_int(name, "num_bad_epochs", data["num_bad_epochs"], minimum=0),
            cooldown_counter=check_int(
                name, "cooldown_counter", data["cooldown_counter"], minimum=0
            ),
        )


class Schedule(abc.ABC):
    """A learning-rate schedule: an immutable, pure function of the step.

    ``s(t)`` is the learning rate used for the update after ``t`` scheduler steps
    (``t = 0`` is the first update); it is torch's ``last_epoch``. A Python number in
    gives a Python float out; an array in gives a float64 array of the same shape out.

    >>> import lrlab
    >>> s = lrlab.cosine(init=0.1, steps=100, end=0.001)
    >>> s(0), s(100), s(1000)
    (0.1, 0.001, 0.001)
    >>> s.values(3).round(6).tolist()
    [0.1, 0.099976, 0.099902]
    """

    __slots__ = ()

    family: ClassVar[str]
    """The family's name: the same in Python, in specs, in dicts and in ``repr``."""

    _positional: ClassVar[str | None] = None
    """The one parameter passed by position (a composite's parts), if any."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        family = cls.__dict__.get("family")
        if isinstance(family, str):
            _REGISTRY[family] = cls

    # --- evaluation -----------------------------------------------------------------

    @abc.abstractmethod
    def _eval(self, t: FloatArray, driven: float | None) -> FloatArray:
        """Values at steps ``t`` (1-d, finite, >= 0); ``driven`` is the plateau's lr."""

    def _driven_at(self, t: float) -> bool:
        """Whether a metric-driven (plateau) phase is the active phase at step ``t``."""
        del t
        return False

    def _plateaus(self) -> Iterator[Schedule]:
        """The metric-driven nodes of this schedule's tree."""
        for child in self._children():
            yield from child._plateaus()

    def _children(self) -> tuple[Schedule, ...]:
        return ()

    @property
    def length(self) -> int | None:
        """The steps the schedule is made for (its ``steps``), or None if it has none.

        A family with a duration (`cosine`, `linear`, `polynomial`, `one_cycle`, `wsd`)
        has its ``steps``; a composite adds its parts up: a prefix warmup's steps plus
        its inner length, a join's last boundary plus its last phase's length, the
        longest part of a product, ``inner``'s length for `scale` and `clip`. Open-ended
        schedules (`exponential`, `step`, `cyclic`, `plateau`, ...) have None.

        >>> import lrlab
        >>> lrlab.warmup(lrlab.cosine(init=0.1, steps=900), steps=100).length
        1000
        >>> lrlab.exponential(init=0.1, gamma=0.9).length is None
        True
        """
        return None

    @property
    def depth(self) -> int:
        """How many schedules are nested inside each other here (a family alone: 1).

        At most `MAX_DEPTH`; composites refuse to go deeper.

        >>> import lrlab
        >>> lrlab.warmup(lrlab.scale(lrlab.constant(value=0.1), factor=2.0), steps=5).depth
        3
        """
        return 1 + max((child.depth for child in self._children()), default=0)

    def _bound(self) -> float:
        """An upper bound of every value: the largest of the lr parameters by default.

        The glossary names every learning-rate parameter one of `LR_FIELDS`, and each
        family stays between them; composites override this.
        """
        bound = 0.0
        for field in dataclasses.fields(self):  # type: ignore[arg-type]
            if field.name in LR_FIELDS:
                value = getattr(self, field.name)
                for item in value if isinstance(value, tuple) else (value,):
                    if isinstance(item, int | float):
                        bound = max(bound, float(item))
        return bound

    def _marks(self, until: float) -> list[float]:
        """Steps where the schedule changes course (override per family)."""
        del until
        return []

    def _mark_count(self, until: float) -> int:
        """How many marks lie in ``(0, until)``, also where there are too many to list.

        Families that list their marks only up to a limit and composites override it;
        the count of a composite adds its parts' (marks two parts share count twice).
        """
        return len(self.marks(until))

    def marks(self, until: float) -> list[float]:
        """The steps in ``(0, until)`` where the schedule changes course.

        Milestones, restarts, ends of warmup and of decay: what a plot marks.

        >>> import lrlab
        >>> lrlab.cosine_restarts(init=0.1, period=10, mult=2).marks(100)
        [10.0, 30.0, 70.0]
        """
        until = check_float("marks", "until", until, minimum=0.0, maximum=MAX_STEP)
        found = {float(m) for m in self._marks(until)} if until > 0 else set()
        return sorted(m for m in found if 0 < m < until)

    @property
    def metric_driven(self) -> bool:
        """True when part of the schedule follows a metric (a `plateau` phase).

        Such a schedule has no value as a function of the step alone: drive it with
        `initial_state`, `update` and `lr`.
        """
        return any(True for _ in self._plateaus())

    @overload
    def __call__(self, t: float) -> float: ...

    @overload
    def __call__(self, t: npt.ArrayLike) -> FloatArray: ...

    def __call__(self, t: float | npt.ArrayLike) -> float | FloatArray:
        """The learning rate at step ``t`` (a number or an array of steps)."""
        self._require_pure()
        if isinstance(t, int | float | np.integer | np.floating) and not isinstance(t, bool):
            if isinstance(t, int | np.integer) and not 0 <= t <= MAX_STEP:
                raise ValueError(f"t must be a step between 0 and 2**53, got {_short(t)}")
            return float(self._eval(_steps_array(np.array([float(t)])), None)[0])
        arr = np.asarray(t)
        bad_kind = arr.dtype == np.bool_ or np.iscomplexobj(arr)
        if bad_kind or not np.issubdtype(arr.dtype, np.number):
            raise TypeError(f"t must be a number or an array of numbers, got {t!r}")
        flat = _steps_array(arr.astype(np.float64, copy=False).ravel())
        out = np.empty_like(flat)
        for lo in range(0, flat.size, CHUNK):
            out[lo : lo + CHUNK] = self._eval(flat[lo : lo + CHUNK], None)
        return out.reshape(arr.shape)

    def values(self, n: int, start: int = 0) -> FloatArray:
        """The learning rates at steps ``start, start + 1, ..., start + n - 1``.

        >>> import lrlab
        >>> lrlab.step(init=1.0, period=2, gamma=0.5).values(5).tolist()
        [1.0, 1.0, 0.5, 0.5, 0.25]
        """
        n = check_int("values", "n", n, minimum=0)
        start = check_int("values", "start", start, minimum=0)
        self._require_pure()
        out = np.empty(n, dtype=np.float64)
        for lo in range(0, n, CHUNK):
            hi = min(lo + CHUNK, n)
            out[lo:hi] = self._eval(np.arange(start + lo, start + hi, dtype=np.float64), None)
        return out

    def _require_pure(self) -> None:
        if self.metric_driven:
            raise TypeError(
                f"{self.family}: this schedule has a metric-driven plateau phase, so its "
                "learning rate depends on the metric, not on the step alone; drive it with "
                "s.initial_state(), s.update(state, metric) and s.lr(state)"
            )

    # --- metric-driven use (works for every schedule) ----------------------------------

    def initial_state(self) -> PlateauState:
        """The state before the first step: step 0, the plateau's initial lr, no history.

        >>> import lrlab
        >>> s = lrlab.plateau(init=0.1, factor=0.5, patience=0)
        >>> state = s.initial_state()
        >>> for loss in [1.0, 1.0, 0.5]:
        ...     state = s.update(state, loss)
        >>> s.lr(state)
        0.05
        """
        nodes = list(self._plateaus())
        if not nodes:
            return PlateauState(step=0, lr=0.0, best=math.inf)
        return nodes[0]._initial_plateau_state()

    def _initial_plateau_state(self) -> PlateauState:
        raise NotImplementedError  # pragma: no cover - only plateau overrides it

    def _observe(self, state: PlateauState, metric: float) -> PlateauState:
        """The state after the metric-driven node sees ``metric`` (plateau overrides it)."""
        raise NotImplementedError  # pragma: no cover - only plateau overrides it

    def lr(self, state: PlateauState) -> float:
        """The learning rate at ``state.step`` given the metric history in ``state``."""
        t = _steps_array(np.array([float(state.step)]))
        return float(self._eval(t, state.lr if self.metric_driven else None)[0])

    def update(self, state: PlateauState, metric: SupportsFloat | None = None) -> PlateauState:
        """Take one scheduler step; ``metric`` is the one measured with the current lr.

        The metric reaches the plateau only while the plateau phase is active at the
        current step; pass ``None`` on steps without a measurement (per-batch steps).
        """
        if metric is not None:
            try:
                if isinstance(metric, str | bytes | bool):
                    raise TypeError
                value = float(metric)
            except (TypeError, ValueError):
                raise TypeError(f"update: metric must be a number, got {metric!r}") from None
            if self._driven_at(state.step):
                state = next(self._plateaus())._observe(state, value)
        return dataclasses.replace(state, step=state.step + 1)

    # --- data -----------------------------------------------------------------------

    def to_dict(self) -> dict[str, JSON]:
        """A JSON-safe dict (``{"family": ..., **parameters}``) that `from_dict` reads.

        >>> import lrlab
        >>> d = lrlab.exponential(init=0.1, gamma=0.9).to_dict()
        >>> d
        {'family': 'exponential', 'init': 0.1, 'gamma': 0.9}
        >>> lrlab.from_dict(d) == lrlab.exponential(init=0.1, gamma=0.9)
        True
        """
        out: dict[str, JSON] = {"family": self.family}
        for field in dataclasses.fields(self):  # type: ignore[arg-type]
            out[field.name] = _to_json(getattr(self, field.name))
        return out

    def __repr__(self) -> str:
        parts = []
        for field in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, field.name)
            if field.default is not dataclasses.MISSING and _same(value, field.default):
                continue
            text = _spec_value(value)
            parts.append(text if field.name == self._positional else f"{field.name}={text}")
        return f"{self.family}({', '.join(parts)})"

    __str__ = __repr__


def _same(a: object, b: object) -> bool:
    return type(a) is type(b) and a == b


def _spec_value(value: object) -> str:
    if isinstance(value, tuple):
        return "[" + ", ".join(_spec_value(v) for v in value) + "]"
    return repr(value)


def _to_json(value: object) -> JSON:
    if isinstance(value, Schedule):
        return value.to_dict()
    if isinstance(value, tuple):
        return [_to_json(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise TypeError(f"cannot serialise {value!r}")  # pragma: no cover - fields are checked


def from_dict(data: Mapping[str, Any]) -> Schedule:
    """Rebuild a schedule from `Schedule.to_dict` output (validated like any construction).

    >>> import lrlab
    >>> lrlab.from_dict({"family": "step", "init": 0.1, "period": 30, "gamma": 0.5})
    step(init=0.1, period=30, gamma=0.5)
    """
    if not isinstance(data, Mapping):
        raise TypeError(f"from_dict: expected a dict, got {type(data).__name__}")
    family = data.get("family")
    if not isinstance(family, str):
        raise ValueError(f"from_dict: 'family' must be a string, got {family!r}")
    if _nesting(data) > 2 * MAX_DEPTH:
        raise ValueError(f"from_dict: schedules nested more than {MAX_DEPTH} deep")
    cls = _REGISTRY.get(family)
    if cls is None:
        raise ValueError(
            f"from_dict: unknown family {family!r}; known: {', '.join(sorted(_REGISTRY))}"
        )
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if key == "family":
            continue
        if key not in names:
            raise ValueError(
                f"from_dict: {family} has no parameter {key!r}; "
                f"parameters: {', '.join(sorted(names))}"
            )
        kwargs[key] = _from_json(value)
    return cls(**kwargs)


def _nesting(value: object) -> int:
    """How deep dicts and lists nest in ``value``, counted without recursion."""
    deepest, todo = 0, [(value, 1)]
    while todo:
        item, level = todo.pop()
        if isinstance(item, Mapping | list | tuple):
            deepest = max(deepest, level)
            if level <= 2 * MAX_DEPTH:  # deeper than the limit: one level more is enough
                children = item.values() if isinstance(item, Mapping) else item
                todo.extend((child, level + 1) for child in children)
    return deepest


def _from_json(value: Any) -> Any:
    if isinstance(value, Mapping):
        return from_dict(value)
    if isinstance(value, list):
        return tuple(_from_json(v) for v in value)
    return value


def families() -> dict[str, type[Schedule]]:
    """Every registered family, by name.

    >>> import lrlab
    >>> "cosine" in lrlab.families()
    True
    """
    return dict(sorted(_REGISTRY.items()))


MAX_DEPTH = 32
"""The deepest nesting of schedules inside schedules (far beyond any real one)."""

LR_FIELDS = frozenset({"value", "init", "peak", "end", "lrs", "min_lr"})
"""The parameters that are learning rates, in every family."""

CHUNK = 1 << 14
"""Steps evaluated at a time: temporaries stay in cache and memory tracks the output."""

MAX_STEP = float(2**53)
"""The largest step: beyond it float64 cannot count steps one by one."""


def _steps_array(t: FloatArray) -> FloatArray:
    if t.size and not (t.min() >= 0 and t.max() <= MAX_STEP):
        bad = t[~((t >= 0) & (t <= MAX_STEP))][0]
        raise ValueError(f"t must be a step between 0 and 2**53, got {float(bad)!r}")
    return t


def check_schedule(family: str, name: str, value: object) -> Schedule:
    """A `Schedule` instance."""
    if not isinstance(value, Schedule):
        raise fail(family, name, value, f"must be a schedule, got {value!r}", kind="type")
    return value


def set_field(obj: object, name: str, value: object) -> None:
    """Assign a normalised value to a frozen dataclass field in ``__post_init__``."""
    object.__setattr__(obj, name, value)


# --- evaluation helpers shared by the families ------------------------------------------


def int_power(base: float, exponent: FloatArray) -> FloatArray:
    """``base ** exponent`` for integer-valued exponents, as ``np.power`` computes it.

    When the exponents span a small range (a step or multistep decay: a few distinct
    values over a million steps) the powers are computed once and gathered, which is
    several times faster and gives identical values.
    """
    if exponent.size < 64:
        return np.power(base, exponent)
    low, high = exponent.min(), exponent.max()
    if high - low > exponent.size // 8:
        return np.power(base, exponent)
    table: FloatArray = np.power(base, low + np.arange(int(high - low) + 1, dtype=np.float64))
    out: FloatArray = table[(exponent - low).astype(np.intp)]
    return out


def multiples(period: float, until: float, *, limit: int = 1000) -> list[float]:
    """``period, 2 * period, ...`` below ``until`` (none if there would be more than ``limit``)."""
    count = math.ceil(until / period)
    return [] if count > limit else [k * period for k in range(1, count)]


def count_multiples(period: float, until: float, offset: float = 0.0) -> int:
    """How many of ``offset + k * period`` (``k = 0, 1, ...``) lie in ``(0, until)``.

    >>> count_multiples(10, 35), count_multiples(10, 35, offset=5)
    (3, 3)
    """
    if until <= offset:
        return 0
    return math.ceil((until - offset) / period) - (1 if offset <= 0 else 0)


def is_sorted(t: FloatArray) -> bool:
    """Whether ``t`` is non-decreasing (then slices can replace masks)."""
    return t.size < 2 or bool((t[1:] >= t[:-1]).all())


def pieces(t: FloatArray, edges: Sequence[float], *, closed_right: bool = False) -> list[Any]:
    """Index objects selecting the steps of ``t`` in each interval between ``edges``.

    Interval ``i`` is ``[edges[i-1], edges[i])`` (or ``(edges[i-1], edges[i]]`` with
    ``closed_right``); the first is unbounded below and the last above. For sorted
    ``t`` (the common case: a range of steps) the pieces are slices, which are views and
    cost nothing; otherwise they are boolean masks.
    """
    side: Literal["left", "right"] = "right" if closed_right else "left"
    if is_sorted(t):
        cuts = [0, *np.searchsorted(t, edges, side=side).tolist(), t.size]
        return [slice(a, b) for a, b in itertools.pairwise(cuts)]
    out: list[Any] = []
    lower: float | None = None
    for edge in [*edges, None]:
        if closed_right:
            above = None if lower is None else t > lower
            below = None if edge is None else t <= edge
        else:
            above = None if lower is None else t >= lower
            below = None if edge is None else t < edge
        if above is None:
            mask = below if below is not None else np.ones(t.shape, dtype=bool)
        else:
            mask = above if below is None else above & below
        out.append(mask)
        lower = edge
    return out
