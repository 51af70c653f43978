"""`LRRecorder`: the lr each optimizer step of a Lightning ``Trainer`` used.

Imports Lightning: `lrlab.torch` loads this module only when `LRRecorder` is first used.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import lightning.pytorch as pl
import numpy as np
import numpy.typing as npt
from torch.optim import Optimizer

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


class LRRecorder(pl.Callback):
    """A Lightning callback that records the lr every optimizer step used.

    It reads each param group's lr in ``on_before_optimizer_step``: after the backward
    pass, just before ``optimizer.step()``, so the value is the one that update used,
    with automatic and manual optimization, several optimizers, and gradient
    accumulation (one value per real step). Reading after the step instead, as a
    callback's ``on_train_batch_end`` does, sees the lr of the *next* step: Lightning
    steps a per-batch scheduler before that hook, and at a restart or a drop the value
    is a step early.

    ``lrs`` maps a series name to its values, one per step of that optimizer. The names
    are those of Lightning's ``LearningRateMonitor``: ``lr-<OptimizerClass>`` (or the
    ``name`` of the optimizer's scheduler config), ``-1``, ``-2`` ... for more optimizers
    of one class, and ``/pg1``, ``/pg2`` ... (or the group's ``name``) for an optimizer
    of several param groups. Use it as ``Trainer(callbacks=[recorder])``.

    >>> from lrlab.torch import LRRecorder
    >>> recorder = LRRecorder()
    >>> recorder.lrs
    {}
    >>> recorder.plot()
    Traceback (most recent call last):
    ...
    ValueError: LRRecorder.plot: nothing recorded yet: pass it in Trainer(callbacks=[...]) ...
    """

    def __init__(self) -> None:
        self.lrs: dict[str, list[float]] = {}
        self._names: dict[int, list[str]] = {}

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Name the series of the trainer's optimizers."""
        self._names = series_names(trainer)

    def on_before_optimizer_step(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, optimizer: Optimizer
    ) -> None:
        """Record each param group's lr: the one this optimizer step uses."""
        names = self._names[id(optimizer)]
        for name, group in zip(names, optimizer.param_groups, strict=True):
            self.lrs.setdefault(name, []).append(float(group["lr"]))

    def series(self) -> dict[str, npt.NDArray[np.float64]]:
        """Each recorded series as a float64 array (step ``k`` of its optimizer at ``k``)."""
        return {name: np.asarray(values, dtype=np.float64) for name, values in self.lrs.items()}

    def plot(
        self,
        *,
        log: bool = False,
        title: str | None = None,
        steps_per_epoch: int | None = None,
        ax: Axes | None = None,
        save: str | Path | None = None,
    ) -> Figure:
        """Draw every recorded series with `lrlab.plot.plot_lr` (same arguments) and
        return the matplotlib Figure."""
        if not self.lrs:
            raise ValueError(
                "LRRecorder.plot: nothing recorded yet: pass it in Trainer(callbacks=[...]) and fit"
            )
        from lrlab.plot import plot_lr

        return plot_lr(
            dict(self.series()),
            log=log,
            title=title,
            steps_per_epoch=steps_per_epoch,
            ax=ax,
            save=save,
        )


def series_names(trainer: pl.Trainer) -> dict[int, list[str]]:
    """The lr series' names of each of ``trainer``'s optimizers (by ``id``), one per
    param group, as ``LearningRateMonitor`` names them: optimizers with a scheduler
    first, in the order of their configs, then the others."""
    named: dict[int, str | None] = {}
    order: list[Any] = []
    for config in trainer.lr_scheduler_configs:
        optimizer = config.scheduler.optimizer
        named.setdefault(id(optimizer), config.name)
        order.append(optimizer)
    order.extend(trainer.optimizers)
    seen: Counter[type] = Counter()
    names: dict[int, list[str]] = {}
    for optimizer in order:
        if id(optimizer) in names:
            continue
        base = named.get(id(optimizer))
        if base is None:
            kind = type(optimizer)
            seen[kind] += 1
            base = f"lr-{kind.__name__}" + (f"-{seen[kind] - 1}" if seen[kind] > 1 else "")
        groups = optimizer.param_groups
        if len(groups) > 1:
            names[id(optimizer)] = [
                f"{base}/{group.get('name', f'pg{i}')}" for i, group in enumerate(groups, 1)
            ]
        else:
            own = groups[0].get("name")
            names[id(optimizer)] = [f"{base}/{own}" if own else base]
        if len(set(names[id(optimizer)])) < len(groups):
            raise ValueError(
                f"LRRecorder: the param groups of {base} must have different names, got "
                f"{[group.get('name') for group in groups]!r}"
            )
    return names
