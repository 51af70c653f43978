"""The base of the closed-form drop-ins: torch's attributes from its arguments, one lrlab
schedule per param group, torch's argument conventions (one value or one per group, a
tensor read as its float, a whole-number float taken as a count)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch.optim import Optimizer

from lrlab.schedules import Schedule
from lrlab.torch._schedule_lr import ScheduleLR


def per_group(name: str, optimizer: Optimizer, value: Any) -> list[Any]:
    """torch's ``_format_param``: one value per param group (same message on mismatch);
    a tensor value is read as the float it holds."""
    groups = len(optimizer.param_groups)
    if isinstance(value, list | tuple):
        if len(value) != groups:
            raise ValueError(
                f"{name} must have the same length as optimizer.param_groups. "
                f"{name} has {len(value)} values, param_groups has {groups}."
            )
        return [number(v) for v in value]
    return [number(value)] * groups


def number(value: Any) -> Any:
    """A tensor as the float it holds; anything else as given."""
    return float(value) if isinstance(value, torch.Tensor) else value


def whole(value: Any) -> Any:
    """A whole-number float where torch takes a count (``T_max=epochs / 2``,
    ``milestones=[epochs * 0.5]``): as the int it is; anything else unchanged (the
    schedule then names what is wrong)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


_COUNTS = ("step_size", "total_iters", "T_max")
"""Arguments torch takes as counts (a whole-number float is read as its int)."""


class DropIn(ScheduleLR):
    """A closed-form drop-in: torch's attributes set from its arguments, each group's
    schedule built by ``family`` from the group's initial lr. A checkpoint's settings
    replace the scheduler's own on load, as in torch."""

    family: Callable[..., Schedule]
    _strict = False

    def _start(self, optimizer: Optimizer, last_epoch: int, verbose: bool, **settings: Any) -> None:
        self.__dict__.update(settings)
        args = {k: whole(v) if k in _COUNTS else v for k, v in settings.items()}
        family = type(self).family
        super().__init__(optimizer, lambda lr: family(lr=lr, **args), last_epoch, verbose=verbose)
