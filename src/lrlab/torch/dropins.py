"""Drop-in replacements for ``torch.optim.lr_scheduler``: same names, same signatures.

Change ``from torch.optim.lr_scheduler import StepLR`` to ``from lrlab.torch import
StepLR`` and get the same learning rates (float64, relative 1e-12), computed in closed
form from lrlab schedules: no drift, exact resume from ``state_dict`` and state that is
plain data. Differences from torch, all deliberate, are listed in docs/torch.md; the
main ones: every class accepts the tutorials' ``verbose=True`` (removed from torch in
2.7) and reports lr changes through logging; ``ReduceLROnPlateau.step()`` without a
metric says which metric to pass.

>>> import torch
>>> from lrlab.torch import StepLR
>>> opt = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=0.001)
>>> scheduler = StepLR(opt, step_size=30, gamma=0.5)
>>> for epoch in range(60):
...     opt.step()
...     scheduler.step()
>>> scheduler.get_last_lr()
[0.00025]
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Literal, SupportsFloat

import numpy as np
import torch
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

from lrlab.plateau import PlateauState, plateau
from lrlab.schedules import Schedule, join
from lrlab.schedules import torch_names as tn
from lrlab.schedules.cyclical import one_cycle
from lrlab.torch._lookahead import Lookahead
from lrlab.torch._schedule_lr import (
    ScheduleLR,
    group_values,
    lean_update_lr,
    leave_chain,
    own_chain,
    put,
    report_lrs,
)


def _per_group(name: str, optimizer: Optimizer, value: Any) -> list[Any]:
    """torch's ``_format_param``: one value per param group (same message on mismatch);
    a tensor value is read as the float it holds."""
    groups = len(optimizer.param_groups)
    if isinstance(value, list | tuple):
        if len(value) != groups:
            raise ValueError(
                f"{name} must have the same length as optimizer.param_groups. "
                f"{name} has {len(value)} values, param_groups has {groups}."
            )
        return [_number(v) for v in value]
    return [_number(value)] * groups


def _number(value: Any) -> Any:
    return float(value) if isinstance(value, torch.Tensor) else value


def _check_optimizer(optimizer: object) -> None:
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")


def _whole(value: Any) -> Any:
    """A whole-number float where torch takes a count (``T_max=epochs / 2``,
    ``milestones=[epochs * 0.5]``): as the int it is; anything else unchanged (the
    schedule then names what is wrong)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


_COUNTS = ("step_size", "total_iters", "T_max")
"""Arguments torch takes as counts (a whole-number float is read as its int)."""


class _DropIn(ScheduleLR):
    """A closed-form drop-in: torch's attributes set from its arguments, each group's
    schedule built by ``family`` from the group's initial lr. A checkpoint's settings
    replace the scheduler's own on load, as in torch."""

    family: Callable[..., Schedule]
    _strict = False

    def _start(self, optimizer: Optimizer, last_epoch: int, verbose: bool, **settings: Any) -> None:
        self.__dict__.update(settings)
        args = {k: _whole(v) if k in _COUNTS else v for k, v in settings.items()}
        family = type(self).family
        super().__init__(optimizer, lambda lr: family(lr=lr, **args), last_epoch, verbose=verbose)


class StepLR(_DropIn):
    """torch's ``StepLR``: multiply the lr by ``gamma`` every ``step_size`` steps."""

    family = tn.StepLR

    def __init__(
        self,
        optimizer: Optimizer,
        step_size: int,
        gamma: float = 0.1,
        last_epoch: int = -1,
        verbose: bool = False,
    ) -> None:
        self._start(optimizer, last_epoch, verbose, step_size=step_size, gamma=gamma)


class MultiStepLR(_DropIn):
    """torch's ``MultiStepLR``: multiply by ``gamma`` at each milestone (repeats compound)."""

    family = tn.MultiStepLR

    def __init__(
        self,
        optimizer: Optimizer,
        milestones: Iterable[int],
        gamma: float = 0.1,
        last_epoch: int = -1,
        verbose: bool = False,
    ) -> None:
        counted = Counter(milestones)
        every = sorted(_whole(m) for m in counted.elements())
        self._start(optimizer, last_epoch, verbose, milestones=every, gamma=gamma)
        self.milestones = counted


class ConstantLR(_DropIn):
    """torch's ``ConstantLR``: ``factor * lr`` for ``total_iters`` steps, then ``lr``."""

    family = tn.ConstantLR

    def __init__(
        self,
        optimizer: Optimizer,
        factor: float = 1.0 / 3,
        total_iters: int = 5,
        last_epoch: int = -1,
        verbose: bool = False,
    ) -> None:
        if factor > 1.0 or factor < 0:
            raise ValueError("Constant multiplicative factor expected to be between 0 and 1.")
        self._start(optimizer, last_epoch, verbose, factor=factor, total_iters=total_iters)


class LinearLR(_DropIn):
    """torch's ``LinearLR``: a linear ramp of the factor over ``total_iters`` steps."""

    family = tn.LinearLR

    def __init__(
        self,
        optimizer: Optimizer,
        start_factor: float = 1.0 / 3,
        end_factor: float = 1.0,
        total_iters: int = 5,
        last_epoch: int = -1,
        verbose: bool = False,
    ) -> None:
        if start_factor > 1.0 or start_factor <= 0:
            raise ValueError(
                "Starting multiplicative factor expected to be greater than 0 and less or "
                "equal to 1."
            )
        if end_factor > 1.0 or end_factor < 0:
            raise ValueError("Ending multiplicative factor expected to be between 0 and 1.")
        self._start(
            optimizer,
            last_epoch,
            verbose,
            start_factor=start_factor,
            end_factor=end_factor,
            total_iters=total_iters,
        )


class ExponentialLR(_DropIn):
    """torch's ``ExponentialLR``: multiply the lr by ``gamma`` every step."""

    family = tn.ExponentialLR

    def __init__(
        self, optimizer: Optimizer, gamma: float, last_epoch: int = -1, verbose: bool = False
    ) -> None:
        self._start(optimizer, last_epoch, verbose, gamma=gamma)


class PolynomialLR(_DropIn):
    """torch's ``PolynomialLR``: ``lr * (1 - t / total_iters) ** power``, then 0."""

    family = tn.PolynomialLR

    def __init__(
        self,
        optimizer: Optimizer,
        total_iters: int = 5,
        power: float = 1.0,
        last_epoch: int = -1,
        verbose: bool = False,
    ) -> None:
        self._start(optimizer, last_epoch, verbose, total_iters=total_iters, power=power)


class CosineAnnealingLR(_DropIn):
    """torch's ``CosineAnnealingLR`` (past ``T_max`` it climbs back, as torch's does)."""

    family = tn.CosineAnnealingLR

    def __init__(
        self,
        optimizer: Optimizer,
        T_max: int,
        eta_min: float = 0.0,
        last_epoch: int = -1,
        verbose: bool = False,
    ) -> None:
        self._start(optimizer, last_epoch, verbose, T_max=T_max, eta_min=eta_min)


class CosineAnnealingWarmRestarts(_DropIn):
    """torch's ``CosineAnnealingWarmRestarts`` (SGDR), fractional epochs included."""

    family = tn.CosineAnnealingWarmRestarts
    T_0: int
    T_mult: int

    def __init__(
        self,
        optimizer: Optimizer,
        T_0: int,
        T_mult: int = 1,
        eta_min: float = 0.0,
        last_epoch: int = -1,
        verbose: bool = False,
    ) -> None:
        if T_0 <= 0 or not isinstance(T_0, int):
            raise ValueError(f"Expected positive integer T_0, but got {T_0}")
        if T_mult < 1 or not isinstance(T_mult, int):
            raise ValueError(f"Expected integer T_mult >= 1, but got {T_mult}")
        if not isinstance(eta_min, float | int):
            raise ValueError(
                f"Expected float or int eta_min, but got {eta_min} of type {type(eta_min)}"
            )
        self._epoch: float = float(max(last_epoch, 0))
        self._start(optimizer, last_epoch, verbose, T_0=T_0, T_mult=T_mult, eta_min=eta_min)

    def get_lr(self) -> list[float]:  # type: ignore[override]
        """The learning rates at the current (possibly fractional) epoch."""
        return self._values(self._epoch)

    def step(self, epoch: float | None = None) -> None:  # type: ignore[override]
        """One step, or jump to ``epoch`` (fractional allowed: ``epoch + batch / batches``)."""
        if epoch is None:
            if self.last_epoch >= 0 or not getattr(self, "_is_initial", False):
                self._epoch += 1  # the first step of a fresh scheduler stays at epoch 0
            super().step()
            return
        if epoch < 0:
            raise ValueError(f"Expected non-negative epoch, but got {epoch}")
        before = list(self._last_lr)
        self._step_count += 1
        self._epoch = float(epoch)
        self.last_epoch = math.floor(epoch)
        own_chain(self)
        self._write(self.get_lr())
        if self.verbose:
            report_lrs(float(epoch), before, self._last_lr)

    @property
    def T_cur(self) -> float:
        """Steps since the last restart (torch's attribute; setting it moves the epoch)."""
        return float(self._position()[0])

    @T_cur.setter
    def T_cur(self, value: float) -> None:
        self._epoch += float(value) - self.T_cur

    @property
    def T_i(self) -> float:
        """Length of the current cycle (torch's attribute)."""
        return float(self._position()[1])

    def _position(self) -> tuple[float, float]:
        schedule = self.schedules[0]
        t = np.array([self._epoch])
        if self.T_mult == 1:
            return self._epoch % self.T_0, float(self.T_0)
        starts, lengths = schedule._starts(self._epoch)  # type: ignore[attr-defined]
        k = int(np.searchsorted(starts, t, side="right")[0]) - 1
        return self._epoch - float(starts[k]), float(lengths[k])


class _Cycling(_DropIn):
    """Shared by CyclicLR and OneCycleLR: also cycles momentum (or Adam's beta1)."""

    momentum_schedules: list[Schedule]
    use_beta1: bool
    cycle_momentum: bool

    def _setup_momentum(self, optimizer: Optimizer, cycle: bool) -> None:
        self.cycle_momentum = cycle
        self.momentum_schedules = []
        if cycle:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ValueError(
                    "optimizer must support momentum or beta1 with `cycle_momentum` option enabled"
                )
            self.use_beta1 = "betas" in optimizer.defaults

    def _reset_runtime(self) -> None:
        super()._reset_runtime()
        self._momentum_ahead = Lookahead(getattr(self, "momentum_schedules", []))

    def _momenta(self, t: int) -> list[float]:
        return self._momentum_ahead(t)

    def _set_momentum(self, t: int) -> None:
        if not self.cycle_momentum:
            return
        groups = self.optimizer.param_groups
        for group, value in zip(groups, self._momenta(t), strict=True):
            if self.use_beta1:
                group["betas"] = (value, *group["betas"][1:])
            else:
                put(group, "momentum", value)

    def _note_momenta(self, maxes: list[float], bases: list[float], last_epoch: int) -> None:
        """Each group's ``max_momentum`` and ``base_momentum``, as torch records them."""
        if last_epoch == -1:
            for group, high, low in zip(self.optimizer.param_groups, maxes, bases, strict=True):
                group["max_momentum"], group["base_momentum"] = high, low

    def get_lr(self) -> list[float]:  # type: ignore[override]
        """The learning rates at ``last_epoch``; sets the momentum of the step too."""
        self._set_momentum(self.last_epoch)
        return super().get_lr()


class CyclicLR(_Cycling):
    """torch's ``CyclicLR`` (the three modes; momentum cycling included).

    A custom ``scale_fn`` is not supported: write the schedule as an lrlab composite and
    use `ScheduleLR` instead.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        base_lr: float | list[float],
        max_lr: float | list[float],
        step_size_up: int = 2000,
        step_size_down: int | None = None,
        mode: Literal["triangular", "triangular2", "exp_range"] = "triangular",
        gamma: float = 1.0,
        scale_fn: Callable[[float], float] | None = None,
        scale_mode: Literal["cycle", "iterations"] = "cycle",
        cycle_momentum: bool = True,
        base_momentum: float | list[float] = 0.8,
        max_momentum: float | list[float] = 0.9,
        last_epoch: int = -1,
        verbose: bool = False,
    ) -> None:
        _check_optimizer(optimizer)
        if scale_fn is not None:
            raise NotImplementedError(
                "CyclicLR: a custom scale_fn has no closed form; build the schedule as an "
                "lrlab composite and use lrlab.torch.ScheduleLR"
            )
        if mode not in ("triangular", "triangular2", "exp_range"):
            raise ValueError("mode is invalid and scale_fn is None")
        del scale_mode  # implied by mode when scale_fn is None, as in torch
        base_lrs = _per_group("base_lr", optimizer, base_lr)
        if last_epoch == -1:
            for lr, group in zip(base_lrs, optimizer.param_groups, strict=True):
                put(group, "lr", lr)
        self.max_lrs = _per_group("max_lr", optimizer, max_lr)
        self.mode = mode
        self.gamma = gamma

        def make(low: float, high: float) -> Schedule:
            return tn.CyclicLR(
                base_lr=low,
                max_lr=high,
                step_size_up=step_size_up,
                step_size_down=step_size_down,
                mode=mode,
                gamma=gamma,
            )

        self._setup_momentum(optimizer, cycle_momentum)
        if cycle_momentum:
            self.base_momentums = _per_group("base_momentum", optimizer, base_momentum)
            self.max_momentums = _per_group("max_momentum", optimizer, max_momentum)
            # momentum runs max -> base while the lr runs base -> max
            self.momentum_schedules = [
                make(high, low)
                for low, high in zip(self.base_momentums, self.max_momentums, strict=True)
            ]
            self.optimizer = optimizer
            self._note_momenta(self.max_momentums, self.base_momentums, last_epoch)
        schedules = [make(low, high) for low, high in zip(base_lrs, self.max_lrs, strict=True)]
        super().__init__(optimizer, schedules, last_epoch, verbose=verbose)
        self.base_lrs = base_lrs


class OneCycleLR(_Cycling):
    """torch's ``OneCycleLR`` (cos/linear, three-phase, momentum or beta1 cycling)."""

    def __init__(
        self,
        optimizer: Optimizer,
        max_lr: float | list[float],
        total_steps: int | None = None,
        epochs: int | None = None,
        steps_per_epoch: int | None = None,
        pct_start: float = 0.3,
        anneal_strategy: Literal["cos", "linear"] = "cos",
        cycle_momentum: bool = True,
        base_momentum: float | list[float] = 0.85,
        max_momentum: float | list[float] = 0.95,
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        three_phase: bool = False,
        last_epoch: int = -1,
        verbose: bool = False,
    ) -> None:
        _check_optimizer(optimizer)
        if total_steps is not None:
            if total_steps <= 0 or not isinstance(total_steps, int):
                raise ValueError(f"Expected positive integer total_steps, but got {total_steps}")
            self.total_steps = total_steps
        elif epochs is not None and steps_per_epoch is not None:
            if not isinstance(epochs, int) or epochs <= 0:
                raise ValueError(f"Expected positive integer epochs, but got {epochs}")
            if not isinstance(steps_per_epoch, int) or steps_per_epoch <= 0:
                raise ValueError(
                    f"Expected positive integer steps_per_epoch, but got {steps_per_epoch}"
                )
            self.total_steps = epochs * steps_per_epoch
        else:
            raise ValueError("You must define either total_steps OR (epochs AND steps_per_epoch)")
        if pct_start < 0 or pct_start > 1 or not isinstance(pct_start, float):
            raise ValueError(f"Expected float between 0 and 1 pct_start, but got {pct_start}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(
                f"anneal_strategy must be one of 'cos' or 'linear', instead got {anneal_strategy}"
            )
        max_lrs = _per_group("max_lr", optimizer, max_lr)
        if last_epoch == -1:
            for lr, group in zip(max_lrs, optimizer.param_groups, strict=True):
                group["initial_lr"] = lr / div_factor
                group["max_lr"] = lr
                group["min_lr"] = group["initial_lr"] / final_div_factor
        schedules = [
            tn.OneCycleLR(
                max_lr=lr,
                total_steps=self.total_steps,
                pct_start=pct_start,
                anneal_strategy=anneal_strategy,
                div_factor=div_factor,
                final_div_factor=final_div_factor,
                three_phase=three_phase,
            )
            for lr in max_lrs
        ]
        self._setup_momentum(optimizer, cycle_momentum)
        if cycle_momentum:
            maxes = _per_group("max_momentum", optimizer, max_momentum)
            bases = _per_group("base_momentum", optimizer, base_momentum)
            self.momentum_schedules = [
                one_cycle(
                    peak=low,
                    steps=self.total_steps,
                    init=high,
                    end=high,
                    warmup_frac=pct_start,
                    shape=anneal_strategy,
                    three_phase=three_phase,
                )
                for low, high in zip(bases, maxes, strict=True)
            ]
            self.optimizer = optimizer
            self._note_momenta(maxes, bases, last_epoch)
        super().__init__(optimizer, schedules, last_epoch, verbose=verbose)

    def _one_cycle_at(self, schedule: Schedule, t: float) -> float:
        if t > self.total_steps:
            raise ValueError(
                f"Tried to step {int(t)} times. The specified number of total steps is "
                f"{self.total_steps}"
            )
        assert isinstance(schedule, one_cycle)
        return float(schedule.extrapolate(np.array([float(t)]))[0])

    def _momenta(self, t: int) -> list[float]:
        if t < self.total_steps:
            return super()._momenta(t)
        return [self._one_cycle_at(s, t) for s in self.momentum_schedules]

    def get_lr(self) -> list[float]:  # type: ignore[override]
        """torch's values, including its extrapolated one at ``t = total_steps``."""
        self._set_momentum(self.last_epoch)
        if self.last_epoch < self.total_steps:
            return self._values(self.last_epoch)
        return [self._one_cycle_at(s, self.last_epoch) for s in self.schedules]


class ReduceLROnPlateau(_DropIn):
    """torch's ``ReduceLROnPlateau`` on lrlab's pure plateau controller.

    ``step(metric)`` needs the metric it watches (e.g. the validation loss); calling
    ``step()`` without it raises a ``TypeError`` that says so.
    """

    _best: float
    _bad: int
    _cool: int
    _lrs: list[float]
    _nodes: list[plateau]

    def __init__(
        self,
        optimizer: Optimizer,
        mode: Literal["min", "max"] = "min",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_mode: Literal["rel", "abs"] = "rel",
        cooldown: int = 0,
        min_lr: list[float] | float = 0,
        eps: float = 1e-8,
        verbose: bool = False,
    ) -> None:
        if factor >= 1.0:
            raise ValueError("Factor should be < 1.0.")
        _check_optimizer(optimizer)
        if isinstance(min_lr, list | tuple):
            if len(min_lr) != len(optimizer.param_groups):
                raise ValueError(
                    f"expected {len(optimizer.param_groups)} min_lrs, got {len(min_lr)}"
                )
            self.default_min_lr: float | None = None
            self.min_lrs = list(min_lr)
        else:
            self.default_min_lr = min_lr
            self.min_lrs = [min_lr] * len(optimizer.param_groups)
        if mode not in {"min", "max"}:
            raise ValueError("mode " + mode + " is unknown!")
        if threshold_mode not in {"rel", "abs"}:
            raise ValueError("threshold mode " + threshold_mode + " is unknown!")
        self.mode, self.factor, self.patience = mode, factor, patience
        self.threshold, self.threshold_mode = threshold, threshold_mode
        self.cooldown, self.eps = cooldown, eps
        schedules = [
            self._plateau(float(group["lr"]), low)
            for group, low in zip(optimizer.param_groups, self.min_lrs, strict=True)
        ]
        super().__init__(optimizer, schedules, verbose=verbose)

    def _plateau(self, lr: float, min_lr: float) -> plateau:
        """One group's controller: its lr and ``min_lr`` with the shared settings."""
        out = tn.ReduceLROnPlateau(
            lr=lr,
            mode=self.mode,
            factor=self.factor,
            patience=self.patience,
            threshold=self.threshold,
            threshold_mode=self.threshold_mode,
            cooldown=self.cooldown,
            min_lr=min_lr,
            eps=self.eps,
        )
        assert isinstance(out, plateau)
        return out

    def _grown(self) -> None:
        """Take in the param groups added since (``optimizer.add_param_group``), as torch
        does: a scalar ``min_lr`` applies to them; a list must have been extended."""
        groups = self.optimizer.param_groups
        if len(groups) != len(self.min_lrs):
            if self.default_min_lr is None:
                raise RuntimeError(
                    f"The number of param groups in the `optimizer` ({len(groups)}) differs "
                    f"from when `ReduceLROnPlateau` was initialized ({len(self.min_lrs)}), "
                    "usually due to a new param group being added to the optimizer. Please "
                    "modify the `min_lrs` field to match the length of the `optimizer` "
                    "param groups."
                )
            self.min_lrs = [self.default_min_lr] * len(groups)
        for i in range(len(self._lrs), len(groups)):
            node = self._plateau(float(groups[i]["lr"]), self.min_lrs[i])
            self.schedules.append(node)
            self._nodes.append(node)
            self._lrs.append(node.initial_state().lr)

    def step(self, metrics: SupportsFloat | None = None, epoch: float | None = None) -> None:  # type: ignore[override]
        """Feed the watched metric (e.g. ``scheduler.step(val_loss)`` after validation)."""
        if metrics is None and not getattr(self, "_is_initial", False):
            raise TypeError(
                "ReduceLROnPlateau.step() needs the metric it watches: call "
                f"scheduler.step(val_loss) after validation (mode={self.mode!r}: "
                f"{'lower' if self.mode == 'min' else 'higher'} is better)"
            )
        if getattr(self, "_is_initial", False):
            super().step()
            return
        if epoch is not None:
            warnings.warn(
                "The epoch parameter in `scheduler.step()` was not necessary and is being "
                "deprecated where possible.",
                UserWarning,
                stacklevel=2,
            )
        # torch's ReduceLROnPlateau has no step-order check: step without LRScheduler.step.
        # One set of counters for every group (same metric, same settings, as in torch);
        # each group reduces its own lr with its own min_lr.
        try:  # what torch's float(metrics) takes and raises: '0.5' in, ValueError for 'abc'
            value = float(metrics)  # type: ignore[arg-type]
        except (TypeError, ValueError) as error:
            raise type(error)(
                f"ReduceLROnPlateau.step: metric must be a number, got {metrics!r}"
            ) from None
        before = list(self._last_lr) if self.verbose else []
        node = self._nodes[0]
        self._best, self._bad, self._cool, reduce = node.counters(
            self._best, self._bad, self._cool, value
        )
        self.last_epoch = int(epoch) if epoch is not None else self.last_epoch + 1
        self._step_count += 1
        if reduce:
            self._grown()
            self._lrs = [n.reduced(lr) for n, lr in zip(self._nodes, self._lrs, strict=True)]
            self._write(self._lrs)
        if self.verbose:
            report_lrs(self.last_epoch, before, self._last_lr)

    def _reset_runtime(self) -> None:
        super()._reset_runtime()
        self._nodes = [s for s in self.schedules if isinstance(s, plateau)]
        first = self.schedules[0].initial_state()
        self._best, self._bad, self._cool = first.best, 0, 0
        self._lrs = [s.initial_state().lr for s in self.schedules]

    def _values(self, t: float) -> list[float]:
        return list(self._lrs)

    @property
    def _states(self) -> list[PlateauState]:
        step = max(self.last_epoch, 0) if hasattr(self, "last_epoch") else 0
        return [
            PlateauState(
                step=step,
                lr=lr,
                best=self._best,
                num_bad_epochs=self._bad,
                cooldown_counter=self._cool,
            )
            for lr in self._lrs
        ]

    @_states.setter
    def _states(self, states: list[PlateauState]) -> None:
        if states:
            self._best = states[0].best
            self._bad = states[0].num_bad_epochs
            self._cool = states[0].cooldown_counter
            self._lrs = [state.lr for state in states]

    @property
    def best(self) -> float:
        """The best metric so far (torch's attribute)."""
        return self._best

    @property
    def num_bad_epochs(self) -> int:
        """Steps without improvement (torch's attribute)."""
        return self._bad

    @property
    def cooldown_counter(self) -> int:
        """Steps of cooldown left (torch's attribute)."""
        return self._cool

    @property
    def in_cooldown(self) -> bool:
        """Whether a cooldown is running (torch's attribute)."""
        return self.cooldown_counter > 0


class SequentialLR(_DropIn):
    """torch's ``SequentialLR``: for lrlab schedulers one `join` per param group.

    Given any scheduler that is not an lrlab one, this is torch's own ``SequentialLR``.
    """

    def __new__(
        cls, optimizer: Optimizer, schedulers: Sequence[Any], *args: Any, **kwargs: Any
    ) -> Any:
        if all(isinstance(s, ScheduleLR | ChainedScheduler) for s in schedulers):
            return super().__new__(cls)
        kwargs.pop("verbose", None)
        return torch.optim.lr_scheduler.SequentialLR(optimizer, list(schedulers), *args, **kwargs)

    def __init__(
        self,
        optimizer: Optimizer,
        schedulers: Sequence[ScheduleLR | ChainedScheduler],
        milestones: list[int],
        last_epoch: int = -1,
        verbose: bool = False,
    ) -> None:
        if len(schedulers) < 1:
            raise ValueError(
                f"{type(self).__name__} expects at least one scheduler, but got no scheduler."
            )
        for i, scheduler in enumerate(schedulers):
            if not isinstance(scheduler, ScheduleLR | ChainedScheduler):
                raise TypeError(
                    f"SequentialLR: schedulers[{i}] is {type(scheduler).__name__}; lrlab's "
                    "SequentialLR joins lrlab schedulers (use torch's SequentialLR for others)"
                )
            if scheduler.optimizer != optimizer:
                raise ValueError(
                    f"{type(self).__name__} expects all schedulers to belong to the same "
                    f"optimizer, but got scheduler {type(scheduler).__name__} at index {i} "
                    f"has {scheduler.optimizer}, which is different from {optimizer}."
                )
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(
                "Sequential Schedulers expects number of schedulers provided to be one more "
                f"than the number of milestone points, but got number of schedulers "
                f"{len(schedulers)} and the number of milestones to be equal to "
                f"{len(milestones)}"
            )
        self._schedulers = list(schedulers)
        self._milestones = list(milestones)
        groups = range(len(optimizer.param_groups))
        phases = [[s.schedules[g] for s in schedulers] for g in groups]
        for scheduler in schedulers:  # the join drives the lr in their place
            for child in getattr(scheduler, "_schedulers", [scheduler]):
                leave_chain(child)
        for group in optimizer.param_groups:  # undo the children's first steps, as torch does
            put(group, "lr", group["initial_lr"])
        joined = [join(p, at=milestones) for p in phases]
        super().__init__(optimizer, joined, last_epoch, verbose=verbose)


class ChainedScheduler(LRScheduler):
    """torch's ``ChainedScheduler``: steps each scheduler in turn. lrlab schedulers on
    one optimizer chain as a product of their closed forms (see `ScheduleLR._write`).

    Given any scheduler that is not an lrlab one, this is torch's own ``ChainedScheduler``.
    """

    def __new__(cls, schedulers: Sequence[Any], *args: Any, **kwargs: Any) -> Any:
        """An lrlab ChainedScheduler, or torch's for schedulers that are not lrlab's."""
        if all(isinstance(s, ScheduleLR) for s in schedulers):
            return super().__new__(cls)
        kwargs.pop("verbose", None)
        return torch.optim.lr_scheduler.ChainedScheduler(list(schedulers), *args, **kwargs)

    def __init__(
        self,
        schedulers: Sequence[ScheduleLR],
        optimizer: Optimizer | None = None,
        verbose: bool = False,
    ) -> None:
        name = type(self).__name__
        if len(schedulers) < 1:
            raise ValueError(
                f"{name} expects at least one scheduler to be chained, but got no scheduler."
            )
        optimizer = optimizer or schedulers[0].optimizer
        for i, scheduler in enumerate(schedulers):
            if isinstance(scheduler, ReduceLROnPlateau):
                raise ValueError(
                    f"{name} does not support `ReduceLROnPlateau` scheduler as it requires "
                    "additional kwargs to be specified when calling `step`, but got one at "
                    f"index {i} in the given schedulers sequence."
                )
            if optimizer != scheduler.optimizer:
                raise ValueError(
                    f"{name} expects all schedulers to belong to the same optimizer, but got "
                    f"scheduler {type(scheduler).__name__} at index {i} has "
                    f"{scheduler.optimizer}, which is different from "
                    f"{type(optimizer).__name__}."
                )
        self._schedulers = list(schedulers)
        self.optimizer = optimizer
        self.verbose = verbose
        self._last_lr = group_values(optimizer, "lr")

    @property
    def schedules(self) -> list[Schedule]:
        """Each group's chained schedule: the product of its schedulers' closed forms."""
        return [
            tn.ChainedScheduler(
                lr=float(group["initial_lr"]),
                schedulers=[s.schedules[g] for s in self._schedulers],
            )
            for g, group in enumerate(self.optimizer.param_groups)
        ]

    def step(self) -> None:  # type: ignore[override]
        """Step every scheduler, in order."""
        for scheduler in self._schedulers:
            scheduler.step()
        self._last_lr = group_values(self.optimizer, "lr")

    def state_dict(self) -> dict[str, Any]:
        """torch's form: this scheduler's attributes and each child's state dict."""
        state = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "_schedulers")}
        state["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore `state_dict` into this scheduler and each child."""
        state = dict(state_dict)
        children = state.pop("_schedulers")
        self.__dict__.update(state)
        for scheduler, saved in zip(self._schedulers, children, strict=True):
            scheduler.load_state_dict(saved)


class LambdaLR(torch.optim.lr_scheduler.LambdaLR):
    """torch's ``LambdaLR`` (``lr = initial_lr * lr_lambda(t)``), plus ``verbose``."""

    def __init__(
        self,
        optimizer: Optimizer,
        lr_lambda: Callable[[int], float] | list[Callable[[int], float]],
        last_epoch: int = -1,
        verbose: bool = False,
    ) -> None:
        self.verbose = verbose
        super().__init__(optimizer, lr_lambda, last_epoch)

    _update_lr = lean_update_lr

    def get_lr(self) -> list[float | torch.Tensor]:
        """``initial_lr * lr_lambda(last_epoch)`` for each group (torch's formula)."""
        t = self.last_epoch
        return [base * f(t) for f, base in zip(self.lr_lambdas, self.base_lrs, strict=True)]

    def step(self, epoch: int | None = None) -> None:
        """torch's step, then the ``verbose`` report."""
        if not self.verbose:
            super().step(epoch)
            return
        before = list(getattr(self, "_last_lr", []))
        super().step(epoch)
        report_lrs(self.last_epoch, before, self._last_lr)


class MultiplicativeLR(torch.optim.lr_scheduler.MultiplicativeLR):
    """torch's ``MultiplicativeLR`` (each step multiplies by ``lr_lambda(t)``), plus ``verbose``."""

    def __init__(
        self,
        optimizer: Optimizer,
        lr_lambda: Callable[[int], float] | list[Callable[[int], float]],
        last_epoch: int = -1,
        verbose: bool = False,
    ) -> None:
        self.verbose = verbose
        super().__init__(optimizer, lr_lambda, last_epoch)

    def step(self, epoch: int | None = None) -> None:
        """torch's step, then the ``verbose`` report."""
        if not self.verbose:
            super().step(epoch)
            return
        before = list(getattr(self, "_last_lr", []))
        super().step(epoch)
        report_lrs(self.last_epoch, before, self._last_lr)
