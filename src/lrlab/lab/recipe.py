"""What the built-in trainer makes of a config, for both engines: the dataset, the
optimizer (a schedule-free one for a ``schedulefree(...)`` entry) and when a run has
diverged.

>>> from lrlab.lab.config import TrainConfig
>>> from lrlab.lab.recipe import dataset_for
>>> dataset_for(TrainConfig(dataset="synthetic")).n_classes
5
"""

from __future__ import annotations

import functools

import torch

from lrlab.lab.config import TrainConfig, schedule_free_for
from lrlab.lab.data import NAMES, Dataset, load

__all__ = ["DIVERGE_FACTOR", "dataset_for", "optimizer_for", "schedule_free_optimizer_for"]

DIVERGE_FACTOR = 100.0
"""A training loss above this many times the first batch's loss counts as divergence."""


def optimizer_for(config: TrainConfig, model: torch.nn.Module) -> torch.optim.Optimizer:
    """The config's optimizer (SGD with momentum, Adam or AdamW) over ``model``."""
    if config.optimizer == "sgd":
        return torch.optim.SGD(
            model.parameters(),
            lr=config.lr,
            momentum=config.momentum,
            weight_decay=config.weight_decay,
        )
    kind = torch.optim.Adam if config.optimizer == "adam" else torch.optim.AdamW
    return kind(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)


def schedule_free_optimizer_for(
    config: TrainConfig, model: torch.nn.Module, *, steps_per_epoch: int
) -> torch.optim.Optimizer | None:
    """A ``schedulefree(...)`` entry's optimizer over ``model`` (None for a schedule):
    schedulefree's ``SGDScheduleFree`` (the config's momentum and weight decay) for
    ``sgd``, ``AdamWScheduleFree`` for ``adamw`` and ``adam`` (no weight decay; the
    config refuses Adam's L2 decay), at the entry's lr with its ``warmup_steps``.

    It is made in eval mode: call its ``train()`` before training, its ``eval()``
    before evaluating or saving the weights (schedulefree's README).
    """
    free = schedule_free_for(config, steps_per_epoch)
    if free is None:
        return None
    try:
        import schedulefree
    except ImportError:
        raise ImportError(
            "a schedulefree(...) entry needs the schedulefree package: "
            "pip install 'lrlab[schedulefree]'"
        ) from None
    if config.optimizer == "sgd":
        optimizer: torch.optim.Optimizer = schedulefree.SGDScheduleFree(
            model.parameters(),
            lr=free.lr,
            momentum=config.momentum,
            weight_decay=config.weight_decay,
            warmup_steps=free.warmup_steps,
        )
    else:
        optimizer = schedulefree.AdamWScheduleFree(
            model.parameters(),
            lr=free.lr,
            weight_decay=config.weight_decay,
            warmup_steps=free.warmup_steps,
        )
    return optimizer


@functools.lru_cache(maxsize=4)
def _built_in(name: str, *, seed: int) -> Dataset:
    """A built-in dataset's split for ``seed``, loaded once per process: the runs of one
    seed share it (the trainer only reads it)."""
    return load(name, seed=seed)


def dataset_for(config: TrainConfig) -> Dataset:
    """The config's dataset, split for its seed (a built-in one loaded once per process)."""
    return (_built_in if config.dataset in NAMES else load)(config.dataset, seed=config.seed)
