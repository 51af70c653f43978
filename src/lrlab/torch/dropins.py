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
from collections import Counter
from collections.abc import Iterable

import numpy as np
from torch.optim import Optimizer

from lrlab.schedules import torch_names as tn
from lrlab.torch._dropin import DropIn, whole


class StepLR(DropIn):
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


class MultiStepLR(DropIn):
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
        every = sorted(whole(m) for m in counted.elements())
        self._start(optimizer, last_epoch, verbose, milestones=every, gamma=gamma)
        self.milestones = counted


class ConstantLR(DropIn):
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


class LinearLR(DropIn):
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


class ExponentialLR(DropIn):
    """torch's ``ExponentialLR``: multiply the lr by ``gamma`` every step."""

    family = tn.ExponentialLR

    def __init__(
        self, optimizer: Optimizer, gamma: float, last_epoch: int = -1, verbose: bool = False
    ) -> None:
        self._start(optimizer, last_epoch, verbose, gamma=gamma)


class PolynomialLR(DropIn):
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


class CosineAnnealingLR(DropIn):
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


class CosineAnnealingWarmRestarts(DropIn):
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
        self._step_count += 1
        self._epoch = float(epoch)
        self.last_epoch = math.floor(epoch)
        self._own_chain()
        self._write(self.get_lr(), epoch=float(epoch))

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
