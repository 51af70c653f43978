"""`TimmScheduler`: any lrlab schedule driven the way timm drives its schedulers."""

from __future__ import annotations

import dataclasses
from typing import Any

from torch.optim import Optimizer

from lrlab.plateau import PlateauState
from lrlab.schedules import Schedule, from_dict
from lrlab.schedules.checks import check_bool, check_int
from lrlab.torch._schedule_lr import ScheduleSource, resolve


class TimmScheduler:
    """An lrlab schedule as a timm-style scheduler: ``step(epoch, metric=None)`` after
    each epoch and ``step_update(num_updates, metric=None)`` after each update.

    As in timm, the training loop passes the count itself, and only one of the two
    moves the lr: ``step`` when ``t_in_epochs`` (the default), ``step_update``
    otherwise. The lr written is ``s(count)`` (times the group's ``lr_scale``, where a
    group has one, as timm does); construction writes ``s(0)``. The schedule source is
    as in `ScheduleLR`: one schedule, one per group, or a factory called with each
    group's ``initial_lr`` (set from its ``lr`` when missing, as timm sets it). A
    metric-driven schedule (a plateau) takes the counts one by one (``t`` after ``t - 1``)
    and the metric measured since the last call.

    >>> import torch, lrlab
    >>> from lrlab.torch import TimmScheduler
    >>> opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    >>> scheduler = TimmScheduler(opt, lrlab.step(init=0.1, period=2, gamma=0.5))
    >>> for epoch in range(3):
    ...     opt.step()
    ...     scheduler.step(epoch + 1)
    >>> opt.param_groups[0]["lr"]
    0.05
    """

    def __init__(
        self, optimizer: Optimizer, schedule: ScheduleSource, *, t_in_epochs: bool = True
    ) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        self.optimizer = optimizer
        self.t_in_epochs = check_bool("TimmScheduler", "t_in_epochs", t_in_epochs)
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
        initial = [float(group["initial_lr"]) for group in optimizer.param_groups]
        self.schedules: list[Schedule] = resolve(schedule, initial, who="TimmScheduler")
        self.states = [s.initial_state() for s in self.schedules]
        self._write()

    @property
    def t(self) -> int:
        """The count (epochs or updates) the lr was last set for."""
        return self.states[0].step

    def step(self, epoch: int, metric: float | None = None) -> None:
        """After an epoch: with ``t_in_epochs``, set the lr for ``epoch`` epochs done."""
        if self.t_in_epochs:
            self._advance("epoch", epoch, metric)

    def step_update(self, num_updates: int, metric: float | None = None) -> None:
        """After an update: without ``t_in_epochs``, set the lr for ``num_updates`` done."""
        if not self.t_in_epochs:
            self._advance("num_updates", num_updates, metric)

    def _advance(self, name: str, count: int, metric: float | None) -> None:
        count = check_int("TimmScheduler", name, count, minimum=0)
        if any(s.metric_driven for s in self.schedules):
            if count != self.t + 1:
                raise ValueError(
                    f"TimmScheduler: a metric-driven schedule steps one {name} at a time: "
                    f"expected {name}={self.t + 1}, got {count}"
                )
            pairs = zip(self.schedules, self.states, strict=True)
            self.states = [s.update(state, metric) for s, state in pairs]
        else:  # a pure schedule's state is its step: any count goes
            self.states = [dataclasses.replace(state, step=count) for state in self.states]
        self._write()

    def _write(self) -> None:
        groups = self.optimizer.param_groups
        for group, s, state in zip(groups, self.schedules, self.states, strict=True):
            lr = s.lr(state)
            group["lr"] = lr * group["lr_scale"] if "lr_scale" in group else lr

    def state_dict(self) -> dict[str, Any]:
        """The schedules and their states as JSON-safe data."""
        return {
            "t_in_epochs": self.t_in_epochs,
            "schedules": [s.to_dict() for s in self.schedules],
            "states": [state.to_dict() for state in self.states],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from `state_dict`; refuses one taken with other schedules."""
        saved = [from_dict(d) for d in state["schedules"]]
        if saved != self.schedules:
            raise ValueError(
                f"TimmScheduler.load_state_dict: the checkpoint holds {saved!r}, but this "
                f"scheduler has {self.schedules!r}"
            )
        self.t_in_epochs = bool(state["t_in_epochs"])
        self.states = [PlateauState.from_dict(d) for d in state["states"]]
        self._write()
