"""torch's ``CyclicLR`` and ``OneCycleLR``: the lr and momentum (or Adam's beta1) cycled."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np
from torch.optim import Optimizer

from lrlab.schedules import Schedule
from lrlab.schedules import torch_names as tn
from lrlab.schedules.cyclical import one_cycle
from lrlab.torch._dropin import DropIn, per_group
from lrlab.torch._lookahead import Lookahead
from lrlab.torch._schedule_lr import put


class _Cycling(DropIn):
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
        self._check(optimizer, last_epoch, verbose)
        if scale_fn is not None:
            raise NotImplementedError(
                "CyclicLR: a custom scale_fn has no closed form; build the schedule as an "
                "lrlab composite and use lrlab.torch.ScheduleLR"
            )
        if mode not in ("triangular", "triangular2", "exp_range"):
            raise ValueError("mode is invalid and scale_fn is None")
        del scale_mode  # implied by mode when scale_fn is None, as in torch
        base_lrs = per_group("base_lr", optimizer, base_lr)
        if last_epoch == -1:
            for lr, group in zip(base_lrs, optimizer.param_groups, strict=True):
                put(group, "lr", lr)
        self.max_lrs = per_group("max_lr", optimizer, max_lr)
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
            self.base_momentums = per_group("base_momentum", optimizer, base_momentum)
            self.max_momentums = per_group("max_momentum", optimizer, max_momentum)
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
        self._check(optimizer, last_epoch, verbose)
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
        max_lrs = per_group("max_lr", optimizer, max_lr)
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
            maxes = per_group("max_momentum", optimizer, max_momentum)
            bases = per_group("base_momentum", optimizer, base_momentum)
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
