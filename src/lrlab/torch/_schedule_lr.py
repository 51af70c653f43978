"""`ScheduleLR`: any lrlab schedule as a torch ``LRScheduler``."""

from __future__ import annotations

import dataclasses
import logging
import math
import sys
from collections.abc import Callable, Sequence
from typing import Any, SupportsFloat

from torch import Tensor
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

from lrlab.plateau import PlateauState
from lrlab.schedules import Schedule, from_dict
from lrlab.schedules._base import Lookahead

ScheduleSource = Schedule | Sequence[Schedule] | Callable[[float], Schedule]
"""One schedule for every group, one per group, or a factory from a group's initial lr."""

_STATE_KEYS = ("last_epoch", "_step_count", "_last_lr", "base_lrs", "_get_lr_called_within_step")
"""What a checkpoint holds besides the schedules: where the scheduler is, not its settings
(the settings come from the constructor, and the schedules are checked against them)."""


def initial_lrs(optimizer: Optimizer, last_epoch: int) -> list[float]:
    """Each group's initial lr, as torch's ``LRScheduler.__init__`` will record it."""
    if last_epoch == -1:
        return [float(group.get("initial_lr", group["lr"])) for group in optimizer.param_groups]
    lrs = []
    for i, group in enumerate(optimizer.param_groups):
        if "initial_lr" not in group:
            raise KeyError(
                f"param 'initial_lr' is not specified in param_groups[{i}] when resuming "
                "scheduler with last_epoch >= 0"
            )
        lrs.append(float(group["initial_lr"]))
    return lrs


def resolve(source: ScheduleSource, lrs: Sequence[float], *, who: str) -> list[Schedule]:
    """One schedule per param group from a schedule, a list or a factory."""
    if isinstance(source, Schedule):
        return [source] * len(lrs)
    if isinstance(source, list | tuple):
        if len(source) != len(lrs):
            raise ValueError(
                f"{who}: expected one schedule per param group ({len(lrs)}), got {len(source)}"
            )
        for item in source:
            if not isinstance(item, Schedule):
                raise TypeError(f"{who}: schedules must be lrlab schedules, got {item!r}")
        return list(source)
    if callable(source):
        built = [source(lr) for lr in lrs]
        for item in built:
            if not isinstance(item, Schedule):
                raise TypeError(f"{who}: the factory must return a schedule, got {item!r}")
        return built
    raise TypeError(
        f"{who}: schedule must be a schedule, a list of schedules or a factory, got {source!r}"
    )


def lean_update_lr(self: LRScheduler, epoch: float | None = None) -> None:
    """torch's per-step update, without its guard for recursive ``get_lr`` calls.

    For schedulers whose ``get_lr`` is closed form and cheap: it is called directly, and
    the param groups get the values as torch writes them (in place for a tensor lr).
    """
    if epoch is None:
        self.last_epoch += 1
    else:
        self.last_epoch = epoch  # type: ignore[assignment]
    values = self.get_lr()
    for group, lr in zip(self.optimizer.param_groups, values, strict=True):
        if isinstance(group["lr"], Tensor):
            group["lr"].fill_(lr)
        else:
            group["lr"] = lr
    self._last_lr = [float(lr) for lr in values]


class ScheduleLR(LRScheduler):
    """Drive any param-group hyperparameter of a torch optimizer with lrlab schedules.

    ``schedule`` is one lrlab schedule for every param group, a list with one per group,
    or a factory called with each group's initial lr (``lambda lr: cosine(init=lr, ...)``).
    After ``k`` calls of ``step()`` group ``i``'s lr is ``schedules[i](k)``. A schedule
    with a metric-driven `plateau` phase is fed with ``step(metric)`` (once an epoch, after
    validation); ``step()`` without a metric just advances the step.

    ``state_dict()`` holds the schedules' dict forms and the plateau states (no pickled
    functions); loading it into a fresh scheduler continues bit-identically, and loading
    a checkpoint of a different schedule raises ``ValueError``.

    >>> import torch, lrlab
    >>> from lrlab.torch import ScheduleLR
    >>> opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    >>> sched = ScheduleLR(opt, lambda lr: lrlab.warmup(lrlab.cosine(init=lr, steps=8), steps=2))
    >>> lrs = []
    >>> for _ in range(4):
    ...     lrs.append(opt.param_groups[0]["lr"])
    ...     opt.step()
    ...     sched.step()
    >>> [round(lr, 4) for lr in lrs]
    [0.0, 0.05, 0.1, 0.0962]
    """

    def __init__(
        self,
        optimizer: Optimizer,
        schedule: ScheduleSource,
        last_epoch: int = -1,
        *,
        verbose: bool = False,
    ) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        lrs = initial_lrs(optimizer, last_epoch)
        self.schedules: list[Schedule] = resolve(schedule, lrs, who=type(self).__name__)
        self.verbose = verbose
        self._reset_runtime()
        super().__init__(optimizer, last_epoch)

    def _reset_runtime(self) -> None:
        self._driven = [s.metric_driven for s in self.schedules]
        self._any_driven = any(self._driven)
        pure = [s for s, driven in zip(self.schedules, self._driven, strict=True) if not driven]
        self._ahead = Lookahead(pure)
        self._states: list[PlateauState] = [s.initial_state() for s in self.schedules]

    @property
    def metric_driven(self) -> bool:
        """Whether any group's schedule has a plateau phase (wants ``step(metric)``)."""
        return self._any_driven

    def step(self, metrics: SupportsFloat | None = None, epoch: float | None = None) -> None:  # type: ignore[override]
        """Advance one step; ``metrics`` feeds the plateau phase of metric-driven schedules.

        Without a plateau phase a positional argument is torch's (deprecated) ``epoch``,
        as torch's ``SequentialLR`` passes it.
        """
        if not self._any_driven and metrics is not None and epoch is None:
            metrics, epoch = None, float(metrics)  # type: ignore[arg-type]
        if self._any_driven and epoch is None and not getattr(self, "_is_initial", False):
            self._states = [
                s.update(state, metrics) if driven else state
                for s, state, driven in zip(self.schedules, self._states, self._driven, strict=True)
            ]
        if not self.verbose:
            super().step(epoch)  # type: ignore[arg-type]
            return
        before = list(getattr(self, "_last_lr", []))
        super().step(epoch)  # type: ignore[arg-type]
        report_lrs(self.last_epoch, before, self._last_lr)

    def _values(self, t: float) -> list[float]:
        whole = isinstance(t, int) or float(t).is_integer()
        if whole and not self._any_driven:  # the per-step path: one lookup for all groups
            return self._ahead(int(t))
        pure = iter(self._ahead(int(t)) if whole else [])
        out = []
        for schedule, state, driven in zip(self.schedules, self._states, self._driven, strict=True):
            if driven:
                now = state if state.step == t else dataclasses.replace(state, step=int(t))
                out.append(schedule.lr(now))
            else:
                out.append(next(pure) if whole else schedule(t))
        return out

    _update_lr = lean_update_lr

    def get_lr(self) -> list[float]:  # type: ignore[override]
        """The learning rates at ``last_epoch`` (closed form: no recursion, no drift)."""
        return self._values(self.last_epoch)

    _extra_state: tuple[str, ...] = ()
    """Attributes a subclass adds to the checkpoint."""

    def state_dict(self) -> dict[str, Any]:
        """The scheduler's position (torch's keys) and its schedules and plateau states as
        JSON-safe dicts: no pickled functions, readable by `json`."""
        keys = (*_STATE_KEYS, *self._extra_state)
        state = {k: _plain(self.__dict__[k]) for k in keys if k in self.__dict__}
        state["schedules"] = [s.to_dict() for s in self.schedules]
        state["plateau_states"] = [s.to_dict() for s in self._states]
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a `state_dict`; refuses a checkpoint taken with different schedules."""
        state = dict(state_dict)
        saved = [from_dict(d) for d in state.pop("schedules", [])]
        if saved != self.schedules:
            raise ValueError(
                f"{type(self).__name__}.load_state_dict: the checkpoint was taken with "
                f"schedules {saved!r}, but this scheduler has {self.schedules!r}"
            )
        plateau = [PlateauState.from_dict(d) for d in state.pop("plateau_states", [])]
        self.__dict__.update(state)
        self._reset_runtime()
        if plateau:
            self._states = plateau


def _plain(value: Any) -> Any:
    """Tensors (a tensor lr) become floats so that checkpoints stay JSON-safe."""
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return float(value) if hasattr(value, "item") else value


def report_lrs(epoch: float, before: Sequence[Any], after: Sequence[Any]) -> None:
    """Log each changed lr in the format of torch's removed ``verbose=True``."""
    for i, lr in enumerate(after):
        if i >= len(before) or before[i] != lr:
            when = f"{epoch:.2f}" if isinstance(epoch, float) else f"{epoch:05d}"
            verbose_logger().info(
                f"Epoch {when}: adjusting learning rate of group {i} to {float(lr):.4e}."
            )


def verbose_logger() -> logging.Logger:
    """Logger ``lrlab.torch.verbose``; unless you gave it a handler, it prints to stdout."""
    logger = logging.getLogger("lrlab.torch.verbose")
    logger.setLevel(logging.INFO)
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
        logger.propagate = False
    return logger


def set_lr(optimizer: Optimizer, value: float | Sequence[float]) -> None:
    """Set every param group's lr (one value, or one per group): a manual adjustment.

    >>> import torch
    >>> from lrlab.torch import set_lr
    >>> opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    >>> set_lr(opt, 0.01)
    >>> opt.param_groups[0]["lr"]
    0.01
    """
    groups = optimizer.param_groups
    values = [value] * len(groups) if isinstance(value, int | float) else list(value)
    if len(values) != len(groups):
        raise ValueError(
            f"set_lr: expected one lr per param group ({len(groups)}), got {len(values)}"
        )
    for group, lr in zip(groups, values, strict=True):
        if (
            isinstance(lr, bool)
            or not isinstance(lr, int | float)
            or not math.isfinite(lr)
            or lr < 0
        ):
            raise ValueError(f"set_lr: lr must be a finite number >= 0, got {lr!r}")
        group["lr"] = float(lr)
