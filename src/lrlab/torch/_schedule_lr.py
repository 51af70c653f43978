"""`ScheduleLR`: any lrlab schedule as a torch ``LRScheduler``."""

from __future__ import annotations

import dataclasses
import logging
import math
import sys
import weakref
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any, SupportsFloat

from torch import Tensor
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

from lrlab.plateau import PlateauState
from lrlab.schedules import Schedule, from_dict
from lrlab.schedules.checks import check_int, fail
from lrlab.torch._lookahead import Lookahead

ScheduleSource = Schedule | Sequence[Schedule] | Callable[[float], Schedule]
"""One schedule for every group, one per group, or a factory from a group's initial lr."""

_RUNTIME = ("_ahead", "_momentum_ahead", "_driven", "_any_driven", "_nodes", "_states")
"""Attributes rebuilt from the schedules on load: never in a checkpoint."""

_SCHEDULES = ("schedules", "momentum_schedules")
"""Attributes holding lists of schedules: in a checkpoint as their dict forms."""


def put(group: dict[str, Any], key: str, value: Any) -> None:
    """Write ``value`` into a param group's ``key``: in place where the group holds a
    tensor (a tensor lr stays the same tensor, as torch keeps it), else as given."""
    if isinstance(group.get(key), Tensor):
        group[key].fill_(float(value))
    else:
        group[key] = value


def group_values(optimizer: Optimizer, key: str) -> list[Any]:
    """Each param group's ``key``; a tensor is copied (never aliased), as torch's are."""
    return [
        g[key].clone() if isinstance(g[key], Tensor) else g[key] for g in optimizer.param_groups
    ]


_CHAINS: weakref.WeakKeyDictionary[Optimizer, list[weakref.ref[ChainedLR]]] = (
    weakref.WeakKeyDictionary()
)
"""The lrlab schedulers driving each optimizer, in the order they were made."""


def chain(optimizer: Optimizer) -> list[ChainedLR]:
    """The lrlab schedulers that drive ``optimizer`` (alive ones, oldest first)."""
    return [s for r in _CHAINS.get(optimizer, []) if (s := r()) is not None]


def leave_chain(scheduler: ChainedLR) -> None:
    """Stop ``scheduler`` from counting in its optimizer's lr (SequentialLR's children)."""
    refs = _CHAINS.get(scheduler.optimizer, [])
    refs[:] = [r for r in refs if r() is not None and r() is not scheduler]


def check_optimizer(who: str, optimizer: object) -> Optimizer:
    """``optimizer``, checked to be a torch Optimizer (a `ParameterError` naming ``who``)."""
    if not isinstance(optimizer, Optimizer):
        raise fail(
            who,
            "optimizer",
            optimizer,
            f"must be a torch Optimizer, got {optimizer!r}",
            kind="type",
        )
    return optimizer


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


class ChainedLR(LRScheduler):
    """The torch edge every lrlab scheduler stands on: it joins its optimizer's chain,
    checks ``last_epoch``, writes the lrs (`_write`, the one writer) and reports them
    when ``verbose``. Subclasses give ``get_lr``: this scheduler's own values."""

    def _check(self, optimizer: Optimizer, last_epoch: int, verbose: bool) -> None:
        """Check the arguments every scheduler takes (first, before any other)."""
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        check_int(type(self).__name__, "last_epoch", last_epoch, minimum=-1)
        self.verbose = verbose
        self.optimizer = optimizer

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        """Join the optimizer's chain, then torch's initial step. Schedulers made
        together, before any of them stepped, chain; one made once they have stepped
        replaces them (a scheduler rebuilt to resume or to start over), as torch's new
        scheduler takes over."""
        refs = _CHAINS.setdefault(optimizer, [])
        if any(s._step_count > 1 for s in chain(optimizer)):
            refs.clear()
        refs.append(weakref.ref(self))
        super().__init__(optimizer, last_epoch)

    def _update_lr(self, epoch: float | None = None) -> None:
        """torch's per-step update (``get_lr`` is closed form: no recursion guard). A step
        to an explicit epoch is torch's closed form, which sets the lr outright: the
        others on the optimizer keep multiplying by their factors from there on only."""
        if epoch is None:
            self.last_epoch += 1
        else:
            self.last_epoch = epoch  # type: ignore[assignment]
            self._own_chain()
        self._write(self.get_lr())

    def _own_chain(self) -> None:
        self._anchor = None
        for other in chain(self.optimizer):
            if other is not self and hasattr(other, "_own"):
                other._anchor = list(other._own)

    def _write(self, own: Sequence[Any], epoch: float | None = None) -> None:
        """Set the param groups' lrs from this scheduler's values ``own``, and report
        them when ``verbose`` (at ``epoch``, else ``last_epoch``).

        Alone on its optimizer, a scheduler's values are the lrs. Several lrlab
        schedulers on one optimizer chain as torch's do, each multiplying the lr by its
        own factor: each group's lr is ``own`` times every other scheduler's current
        value over its initial lr (or over its value when another scheduler last set the
        lr outright), a product of closed forms. A scheduler that has not
        taken its first step (torch's ``SequentialLR`` rewinds the ones waiting for
        their milestone) has no factor yet.
        """
        before = list(getattr(self, "_last_lr", []))
        self._own = [float(v) for v in own]
        others = [
            s
            for s in chain(self.optimizer)
            if s is not self and hasattr(s, "_own") and s.last_epoch >= 0
        ]
        for g, group in enumerate(self.optimizer.param_groups[: len(own)]):
            value = self._own[g] if self._anchor is None else self._rebased(g)
            for s in others:
                value *= s._factor(g)
            put(group, "lr", value)
        self._last_lr = group_values(self.optimizer, "lr")
        if self.verbose:
            report_lrs(self.last_epoch if epoch is None else epoch, before, self._last_lr)

    _anchor: list[float] | None = None
    """Each group's value since which this scheduler's factor counts (None: its initial
    lr), when another scheduler stepped to an explicit epoch."""

    def _factor(self, g: int) -> float:
        """Group ``g``'s factor in a chain: the current value over the anchor."""
        anchor = self._anchor or self.base_lrs
        if g >= len(self._own) or g >= len(anchor) or not float(anchor[g]):
            return 1.0
        return self._own[g] / float(anchor[g])

    def _rebased(self, g: int) -> float:
        """Group ``g``'s initial lr times this scheduler's factor since its anchor."""
        return float(self.base_lrs[g]) * self._factor(g)


class ScheduleLR(ChainedLR):
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
        self._check(optimizer, last_epoch, verbose)
        lrs = initial_lrs(optimizer, last_epoch)
        self.schedules: list[Schedule] = resolve(schedule, lrs, who=type(self).__name__)
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
            metrics, epoch = None, metrics
        if self._any_driven and epoch is None and not getattr(self, "_is_initial", False):
            self._states = [
                s.update(state, metrics) if driven else state
                for s, state, driven in zip(self.schedules, self._states, self._driven, strict=True)
            ]
        super().step(epoch)  # type: ignore[arg-type]

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

    def get_lr(self) -> list[float]:  # type: ignore[override]
        """The learning rates at ``last_epoch`` (closed form: no recursion, no drift)."""
        return self._values(self.last_epoch)

    _strict = True
    """Whether `load_state_dict` refuses a checkpoint of other schedules by default."""

    def state_dict(self) -> dict[str, Any]:
        """The scheduler's attributes as torch keeps them (all but the optimizer), with
        its schedules and plateau states as dicts: no pickled functions, and readable by
        `json` when the lrs are floats."""
        state: dict[str, Any] = {}
        for key, value in self.__dict__.items():
            if key in _SCHEDULES:
                state[key] = [s.to_dict() for s in value]
            elif key != "optimizer" and key not in _RUNTIME and _is_plain(value):
                state[key] = dict(value) if isinstance(value, Counter) else value
        state["plateau_states"] = [s.to_dict() for s in self._states]
        return state

    def load_state_dict(self, state_dict: dict[str, Any], *, strict: bool | None = None) -> None:
        """Restore a `state_dict`. As torch does, a checkpoint's settings replace the
        scheduler's own; with ``strict`` (the default for `ScheduleLR`, not for the
        drop-ins) a checkpoint taken with other schedules is refused."""
        state = dict(state_dict)
        saved = {k: [from_dict(d) for d in state.pop(k)] for k in _SCHEDULES if k in state}
        schedules = saved.get("schedules", self.schedules)
        if (self._strict if strict is None else strict) and schedules != self.schedules:
            raise ValueError(
                f"{type(self).__name__}.load_state_dict: the checkpoint was taken with "
                f"schedules {schedules!r}, but this scheduler has {self.schedules!r}"
            )
        plateau = [PlateauState.from_dict(d) for d in state.pop("plateau_states", [])]
        for key, value in state.items():
            counted = isinstance(self.__dict__.get(key), Counter) and isinstance(value, dict)
            self.__dict__[key] = (
                Counter({_number_key(k): n for k, n in value.items()}) if counted else value
            )
        self.__dict__.update(saved)
        self._reset_runtime()
        if plateau:
            self._states = plateau


def _number_key(key: Any) -> Any:
    """A count's key as it was before `json` made it a string (``"5"`` is 5 again)."""
    if not isinstance(key, str):
        return key
    try:
        return int(key)
    except ValueError:
        return float(key)


def _is_plain(value: Any) -> bool:
    """Whether ``value`` is data a checkpoint can hold without pickling code."""
    if value is None or isinstance(value, bool | int | float | str | Tensor):
        return True
    if isinstance(value, list | tuple):
        return all(_is_plain(v) for v in value)
    if isinstance(value, dict):
        return all(_is_plain(k) and _is_plain(v) for k, v in value.items())
    return False


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
        put(group, "lr", float(lr))
