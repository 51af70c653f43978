"""`lightning_scheduler`: any lrlab schedule as Lightning's ``configure_optimizers`` dict.

Builds plain data around a `ScheduleLR`, so it needs no import of Lightning.
"""

from __future__ import annotations

from typing import Any

from torch.optim import Optimizer

from lrlab.schedules.checks import check_choice, check_int, fail
from lrlab.torch._schedule_lr import (
    ScheduleLR,
    ScheduleSource,
    check_optimizer,
    initial_lrs,
    resolve,
)

INTERVALS = {"batch": "step", "epoch": "epoch"}
"""lrlab's ``per`` and Lightning's ``interval`` for it."""


def lightning_scheduler(
    optimizer: Optimizer,
    schedule: ScheduleSource,
    *,
    per: str = "batch",
    monitor: str | None = None,
    frequency: int = 1,
    name: str | None = None,
) -> dict[str, Any]:
    """What Lightning's ``configure_optimizers`` returns, with ``schedule`` driving the lr.

    ``schedule`` is as in `ScheduleLR` (one schedule, one per param group, or a factory
    called with each group's initial lr); the scheduler is a `ScheduleLR`, so after the
    ``k``-th scheduler step group ``i``'s lr is ``schedules[i](k)``. ``per="batch"``:
    Lightning steps it after every optimizer step (``"interval": "step"``), and the
    lr of optimizer step ``k`` is ``s(k)``; ``per="epoch"``: after every training epoch.
    ``frequency``: Lightning steps it every ``frequency`` batches or epochs. ``name``:
    the name `LRRecorder` and Lightning's ``LearningRateMonitor`` give its lr series.

    A metric-driven schedule (one with a `plateau` phase) steps once an epoch, after
    validation, with the metric Lightning logged as ``monitor`` (required for it, refused
    for any other schedule); it needs ``per="epoch"``.

    >>> import torch, lrlab
    >>> from lrlab.torch import lightning_scheduler
    >>> opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    >>> config = lightning_scheduler(opt, lambda lr: lrlab.cosine(init=lr, steps=100))
    >>> config["lr_scheduler"]["interval"], config["lr_scheduler"]["scheduler"].schedules
    ('step', [cosine(init=0.1, steps=100)])
    >>> plateau = lrlab.plateau(init=0.1, patience=2)
    >>> config = lightning_scheduler(opt, plateau, per="epoch", monitor="val_loss")
    >>> config["lr_scheduler"]["monitor"], config["lr_scheduler"]["reduce_on_plateau"]
    ('val_loss', True)
    >>> lightning_scheduler(opt, plateau)
    Traceback (most recent call last):
    ...
    lrlab.schedules.checks.ParameterError: lightning_scheduler: per must be 'epoch' for a ...
    """
    who = "lightning_scheduler"
    check_choice(who, "per", per, tuple(INTERVALS))
    frequency = check_int(who, "frequency", frequency)
    if name is not None and not isinstance(name, str):
        raise fail(who, "name", name, f"must be a str or None, got {name!r}", kind="type")
    if monitor is not None and not (isinstance(monitor, str) and monitor):
        raise fail(who, "monitor", monitor, f"must be a metric's name, got {monitor!r}")
    check_optimizer(who, optimizer)
    schedules = resolve(schedule, initial_lrs(optimizer, -1), who=who)
    driven = any(s.metric_driven for s in schedules)
    if driven and per != "epoch":
        raise fail(
            who,
            "per",
            per,
            "must be 'epoch' for a metric-driven schedule (it steps once an epoch, "
            f"after validation), got {per!r}",
        )
    if driven and monitor is None:
        raise fail(
            who,
            "monitor",
            monitor,
            "must name the logged metric that feeds the schedule's plateau phase "
            "(e.g. 'val_loss'), got None",
        )
    if not driven and monitor is not None:
        raise fail(
            who,
            "monitor",
            monitor,
            f"is only for a metric-driven schedule (a plateau phase), got {monitor!r}",
        )
    config: dict[str, Any] = {
        "scheduler": ScheduleLR(optimizer, schedules),
        "interval": INTERVALS[per],
        "frequency": frequency,
    }
    if name is not None:
        config["name"] = name
    if driven:
        config.update(monitor=monitor, reduce_on_plateau=True, strict=True)
    return {"optimizer": optimizer, "lr_scheduler": config}
