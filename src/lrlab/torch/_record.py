"""`record`: the learning-rate curve of any torch-compatible scheduler, in one call."""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from torch.optim import Optimizer

from lrlab.schedules.checks import check_int


def _throwaway(optimizer: Optimizer) -> Optimizer:
    """An optimizer of the same kind and param-group settings over dummy parameters."""
    groups = []
    for group in optimizer.param_groups:
        settings = {k: copy.deepcopy(v) for k, v in group.items() if k != "params"}
        groups.append({**settings, "params": [torch.nn.Parameter(torch.zeros(1))]})
    return type(optimizer)(groups)  # type: ignore[call-arg]


def record(
    scheduler: Any,
    steps: int,
    *,
    lr: float | Sequence[float] = 0.1,
    optimizer: Callable[..., Optimizer] = torch.optim.SGD,
    metrics: Sequence[float] | Callable[[int], float] | None = None,
    steps_per_epoch: int = 1,
) -> npt.NDArray[np.float64]:
    """The lr of each param group before each of ``steps`` scheduler steps.

    With ``steps_per_epoch=K`` the loop is the tutorials' per-epoch one: ``K`` optimizer
    steps (batches), then one scheduler step, the lr recorded once per epoch; the
    values are the same, only the optimizer does ``K`` times the work, as in training.

    ``scheduler`` is a factory ``lambda opt: StepLR(opt, 30)`` (it gets a throwaway
    optimizer made by ``optimizer`` with one group per ``lr``) or an existing scheduler,
    which is copied onto a throwaway copy of its optimizer: neither your model nor your
    scheduler is touched. ``metrics`` (a list or a function of the step) feeds
    ``step(metric)`` for metric-driven schedulers such as ReduceLROnPlateau.

    Returns an array of shape ``(steps,)`` for one param group, ``(steps, groups)`` else.

    >>> import torch
    >>> from lrlab.torch import record
    >>> record(lambda opt: torch.optim.lr_scheduler.StepLR(opt, 2, gamma=0.5), 5, lr=1.0).tolist()
    [1.0, 1.0, 0.5, 0.5, 0.25]
    """
    steps = check_int("record", "steps", steps, minimum=0)
    batches = check_int("record", "steps_per_epoch", steps_per_epoch)
    if hasattr(scheduler, "optimizer") and hasattr(scheduler, "step"):
        dummy = _throwaway(scheduler.optimizer)
        sched = copy.deepcopy(scheduler, memo={id(scheduler.optimizer): dummy})
        opt = dummy
    elif callable(scheduler):
        lrs = [lr] if isinstance(lr, int | float) else list(lr)
        params = [{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": x} for x in lrs]
        opt = optimizer(params)
        sched = scheduler(opt)
    else:
        raise TypeError(f"record: expected a scheduler or a factory, got {scheduler!r}")
    out = np.empty((steps, len(opt.param_groups)), dtype=np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # deprecation chatter of step(epoch)
        for t in range(steps):
            out[t] = [float(group["lr"]) for group in opt.param_groups]
            for _ in range(batches):
                opt.step()
            if metrics is None:
                sched.step()
            else:
                sched.step(metrics(t) if callable(metrics) else metrics[t])
    return out[:, 0] if out.shape[1] == 1 else out
