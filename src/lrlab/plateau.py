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

`PlateauState` is defined with the `Schedule` base (every schedule has a state) and
re-exported here.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar, Literal, final

import numpy as np

from lrlab.schedules._base import FloatArray, PlateauState, Schedule, set_field
from lrlab.schedules.checks import check_choice, check_float, check_int, check_lr

__all__ = ["PlateauState", "plateau"]


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

    def _observe(self, state: PlateauState, metric: float) -> PlateauState:
        return self.observe(state, metric)

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
