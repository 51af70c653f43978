"""What the built-in trainer makes of a config, for both engines: the dataset, the
optimizer and when a run has diverged.

>>> from lrlab.lab.config import TrainConfig
>>> from lrlab.lab.recipe import dataset_for
>>> dataset_for(TrainConfig(dataset="synthetic")).n_classes
5
"""

from __future__ import annotations

import functools

import torch

from lrlab.lab.config import TrainConfig
from lrlab.lab.data import NAMES, Dataset, load

__all__ = ["DIVERGE_FACTOR", "dataset_for", "optimizer_for"]

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


@functools.lru_cache(maxsize=4)
def _built_in(name: str, *, seed: int) -> Dataset:
    """A built-in dataset's split for ``seed``, loaded once per process: the runs of one
    seed share it (the trainer only reads it)."""
    return load(name, seed=seed)


def dataset_for(config: TrainConfig) -> Dataset:
    """The config's dataset, split for its seed (a built-in one loaded once per process)."""
    return (_built_in if config.dataset in NAMES else load)(config.dataset, seed=config.seed)
