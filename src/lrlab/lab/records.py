"""The lab's plain records: ids, epochs, outcomes and what the store gives back.

Nothing here imports torch: the store, the ranking and the report are built on these,
so reading results never pays for the training stack.

>>> from lrlab.lab.records import Epoch, stable_id
>>> stable_id({"b": 1, "a": [1, 2]}) == stable_id({"a": [1, 2], "b": 1})
True
>>> e = Epoch(epoch=0, lr=0.1, seconds=0.5, metrics={"val_loss": 0.3})
>>> e["val_loss"], e.get("val_accuracy")
(0.3, None)
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Status = Literal["pending", "running", "finished", "diverged", "failed", "pruned"]
"""A run's state in the store; ``finished`` and ``diverged`` are results, ``failed`` an error,
``pruned`` a search's trial stopped early by its pruner (`lrlab.lab.tune`)."""
STATUSES: tuple[Status, ...] = ("pending", "running", "finished", "diverged", "failed", "pruned")
DONE: tuple[Status, ...] = ("finished", "diverged", "pruned")
"""Statuses that need no more training."""
MAX_JOBS = 256
"""The most runs at once on one machine (a pool never starts more workers than runs)."""


def stable_id(data: Mapping[str, Any]) -> str:
    """The first 16 hex digits of the SHA-256 of ``data``'s canonical JSON (sorted keys).

    The one id function of the lab: runs, experiments and range tests are keyed by it.

    >>> stable_id({"lr": 0.1})
    '9c9ba942d8bb6213'
    """
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def finite_or_none(value: Any) -> Any:
    """``value``, or None where it is a non-finite float (JSON has no NaN or infinity).

    >>> finite_or_none(1.5), finite_or_none(float("inf")), finite_or_none("x")
    (1.5, None, 'x')
    """
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@dataclass(frozen=True, kw_only=True)
class Epoch:
    """One finished epoch: its number, the lr it started with, its time and its metrics.

    ``metrics`` maps a metric's name to its value (the built-in trainer reports
    ``train_loss``, ``val_loss`` and ``val_accuracy``).
    """

    epoch: int
    lr: float
    seconds: float
    metrics: Mapping[str, float] = field(default_factory=dict)

    def __getitem__(self, name: str) -> float:
        return self.metrics[name]

    def get(self, name: str) -> float | None:
        """The metric ``name``, or None when this epoch did not report it."""
        return self.metrics.get(name)

    def to_dict(self) -> dict[str, Any]:
        """``{"epoch", "lr", "seconds", ...every metric by name}``; strict-JSON-safe: a
        non-finite value becomes None.

        >>> Epoch(epoch=1, lr=0.1, seconds=2.0, metrics={"loss": float("nan")}).to_dict()
        {'epoch': 1, 'lr': 0.1, 'seconds': 2.0, 'loss': None}
        """
        values = {"epoch": self.epoch, "lr": self.lr, "seconds": self.seconds, **self.metrics}
        return {key: finite_or_none(value) for key, value in values.items()}


@dataclass(frozen=True)
class CheckpointRef:
    """Where a run's checkpoint lies on storage every node reaches (``--checkpoint-dir``):
    the store commits this reference instead of the checkpoint's bytes."""

    uri: str


Checkpoint = bytes | CheckpointRef
"""A committed checkpoint: its bytes, or where they are."""


@dataclass(frozen=True, kw_only=True)
class Outcome:
    """How a run ended, as the store records it with `Store.finish`."""

    status: Literal["finished", "diverged"]
    steps_per_epoch: int
    lrs: tuple[tuple[int, float], ...] = ()
    """Sampled ``(step, lr)`` pairs over the whole run."""
    diverged_at: int | None = None
    final: Mapping[str, float] = field(default_factory=dict)
    """End-of-run metrics (the built-in trainer: ``test_accuracy``)."""
    engine: str = "sequential"
    node: str = ""
    warnings: tuple[str, ...] = ()
    """What looked wrong in the training loop (e.g. a forgotten ``scheduler.step()``)."""


@dataclass(frozen=True, kw_only=True)
class RunRecord:
    """A run as stored: its config (plain JSON data), status and outcome."""

    id: str
    config: Mapping[str, Any]
    status: Status
    epochs_done: int
    seconds: float | None
    error: str | None
    diverged_at: int | None
    steps_per_epoch: int | None
    final: Mapping[str, float]
    engine: str | None
    node: str | None
    warnings: tuple[str, ...] = ()

    @property
    def reason(self) -> str | None:
        """The error's first line (``error`` may go on with a traceback)."""
        return None if self.error is None else self.error.split("\n", 1)[0]


@dataclass(frozen=True, kw_only=True)
class ExperimentRecord:
    """An experiment as stored: its config (plain JSON data), the lr it used and how."""

    id: str
    name: str
    config: Mapping[str, Any]
    lr: float
    lr_source: str
    versions: Mapping[str, str]
    created: float
    updated: float


@dataclass(frozen=True, kw_only=True)
class Member:
    """Which run is which schedule and seed of an experiment."""

    experiment: str
    schedule: str
    seed: int
    run: str
