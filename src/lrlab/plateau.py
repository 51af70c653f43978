"""The metric-driven phase: ReduceLROnPlateau as explicit state plus a pure update.

`plateau` is a schedule family whose value is not a function of the step: it is the
learning rate kept in a `PlateauState`, which `plateau.observe` updates from a metric
exactly as torch's ``ReduceLROnPlateau.step(metric)`` does. Any schedule can hold one
plateau node (after a warmup, as the last phase of a `join`, ...) and is driven with
``state = s.update(state, metric)`` and ``s.lr(state)``.

What a NaN or infinite metric does (the same as torch): a NaN metric is never an
improvement, so it counts as a bad epoch; ``inf`` in ``mode='min'`` (``-inf`` in
``'max'``) is never an improvement either; ``-inf`` in ``mode='min'`` is an improvement
once and then nothing can improve on it, so the lr is reduced every ``patience + 1``
steps down to ``min_lr``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, SupportsFloat, final

import numpy as np

from lrlab.schedules._base import (
    JSON,
    FloatArray,
    Schedule,
    check_choice,
    check_float,
    check_int,
    check_lr,
    set_field,
)


@final
@dataclass(frozen=True, slots=True, kw_only=True)
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


@final
@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class plateau(Schedule):
    """Reduce the learning rate when a metric stops improving (``ReduceLROnPlateau``).

    Starts at ``init``. After more than ``patience`` steps without an improvement of the
    metric (``mode='min'``: lower is better, ``'max'``: higher), the lr is multiplied by
    ``factor`` (never below ``min_lr``; skipped if the change is not more than ``eps``),
    then ``cooldown`` steps pass before bad steps count again. An improvement must beat
    the best so far by ``threshold``, relative (``threshold_mode='rel'``) or absolute.
    Every parameter and its default is torch's.

    >>> import lrlab
    >>> s = lrlab.plateau(init=1.0, factor=0.5, patience=1)
    >>> state = s.initial_state()
    >>> lrs = []
    >>> for loss in [3.0, 2.0, 2.0, 2.0, 2.0, 2.0]:
    ...     state = s.update(state, loss)
    ...     lrs.append(s.lr(state))
    >>> lrs
    [1.0, 1.0, 1.0, 0.5, 0.5, 0.25]
    """

    family: ClassVar[str] = "plateau"
    init: float
    mode: Literal["min", "max"] = "min"
    factor: float = 0.1
    patience: int = 10
    threshold: float = 1e-4
    threshold_mode: Literal["rel", "abs"] = "rel"
    cooldown: int = 0
    min_lr: float = 0.0
    eps: float = 1e-8

    def __post_init__(self) -> None:
        f = self.family
        set_field(self, "init", check_lr(f, "init", self.init))
        check_choice(f, "mode", self.mode, ("min", "max"))
        set_field(
            self,
            "factor",
            check_float(f, "factor", self.factor, minimum=0.0, maximum=1.0, strict_max=True),
        )
        set_field(self, "patience", check_int(f, "patience", self.patience, minimum=0))
        set_field(self, "threshold", check_float(f, "threshold", self.threshold, minimum=0.0))
        check_choice(f, "threshold_mode", self.threshold_mode, ("rel", "abs"))
        set_field(self, "cooldown", check_int(f, "cooldown", self.cooldown, minimum=0))
        set_field(self, "min_lr", check_lr(f, "min_lr", self.min_lr))
        set_field(self, "eps", check_float(f, "eps", self.eps, minimum=0.0))

    def _plateaus(self) -> Iterator[Schedule]:
        yield self

    def _driven_at(self, t: float) -> bool:
        return True

    def _eval(self, t: FloatArray, driven: float | None) -> FloatArray:
        if driven is None:  # pragma: no cover - Schedule.__call__ refuses first
            raise TypeError("plateau: the learning rate depends on the metric")
        return np.full_like(t, driven)

    def _initial_plateau_state(self) -> PlateauState:
        worst = math.inf if self.mode == "min" else -math.inf
        return PlateauState(step=0, lr=self.init, best=worst)

    def is_better(self, metric: float, best: float) -> bool:
        """Whether ``metric`` improves on ``best`` by more than the threshold."""
        if self.mode == "min" and self.threshold_mode == "rel":
            return metric < best * (1.0 - self.threshold)
        if self.mode == "min":
            return metric < best - self.threshold
        if self.threshold_mode == "rel":
            return metric > best * (self.threshold + 1.0)
        return metric > best + self.threshold

    def counters(
        self, best: float, bad: int, cooldown: int, metric: float
    ) -> tuple[float, int, int, bool]:
        """torch's bookkeeping for one metric: new ``(best, bad, cooldown, reduce?)``."""
        if self.is_better(metric, best):
            best, bad = metric, 0
        else:
            bad += 1
        if cooldown > 0:
            cooldown -= 1
            bad = 0  # bad epochs during a cooldown do not count
        reduce = bad > self.patience
        if reduce:
            cooldown, bad = self.cooldown, 0
        return best, bad, cooldown, reduce

    def reduced(self, lr: float) -> float:
        """``lr`` after one reduction: times ``factor``, not below ``min_lr``, unless the
        change would not be more than ``eps``."""
        new_lr = max(lr * self.factor, self.min_lr)
        return new_lr if lr - new_lr > self.eps else lr

    def observe(self, state: PlateauState, metric: float) -> PlateauState:
        """The state after seeing ``metric`` (torch's ``ReduceLROnPlateau.step`` logic).

        ``state.step`` is left alone: `Schedule.update` advances it.
        """
        best, bad, cooldown, reduce = self.counters(
            state.best, state.num_bad_epochs, state.cooldown_counter, metric
        )
        return PlateauState(
            step=state.step,
            lr=self.reduced(state.lr) if reduce else state.lr,
            best=best,
            num_bad_epochs=bad,
            cooldown_counter=cooldown,
        )

    def lr(self, state: PlateauState) -> float:
        """The learning rate kept in ``state`` (a bare plateau is nothing else)."""
        return state.lr


def advance(schedule: Schedule, state: PlateauState, metric: SupportsFloat | None) -> PlateauState:
    """One scheduler step of ``schedule`` from ``state`` (see `Schedule.update`)."""
    if metric is not None:
        try:
            if isinstance(metric, str | bytes | bool):
                raise TypeError
            value = float(metric)
        except (TypeError, ValueError):
            raise TypeError(f"update: metric must be a number, got {metric!r}") from None
        if schedule._driven_at(state.step):
            node = next(schedule._plateaus())
            assert isinstance(node, plateau)
            state = node.observe(state, value)
    return PlateauState(
        step=state.step + 1,
        lr=state.lr,
        best=state.best,
        num_bad_epochs=state.num_bad_epochs,
        cooldown_counter=state.cooldown_counter,
    )
