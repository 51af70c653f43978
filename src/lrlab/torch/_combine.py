"""torch's ``SequentialLR`` and ``ChainedScheduler`` for lrlab schedulers (torch's own for
any other)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

from lrlab.schedules import Schedule, join
from lrlab.schedules import torch_names as tn
from lrlab.torch._dropin import DropIn
from lrlab.torch._plateau_lr import ReduceLROnPlateau
from lrlab.torch._schedule_lr import ScheduleLR, group_values, leave_chain, put


class SequentialLR(DropIn):
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
