"""The lab's trainer: one model, one optimizer, one schedule, one seed; resumable.

The schedule is a spec (any lrlab family, composite or torch name) that may use the
placeholders ``{lr}`` (the run's initial lr), ``{epochs}``, ``{steps}`` (all scheduler
steps of the run) and ``{steps_per_epoch}``; it is stepped once per epoch or once per
batch (``per``). A metric-driven plateau phase is fed the validation loss at the end of
each epoch. A NaN or infinite loss, or a training loss above `DIVERGE_FACTOR` times the
first batch's, stops the run as ``diverged``.

It is a trainable like any user's (`builtin`, on a `lrlab.lab.run.Run` handle): the
store, resume, divergence and ranking have one code path for both. Determinism: the same
config gives the same numbers on CPU (seeded model init, seeded shuffling). ``train``
reports each finished epoch with a checkpoint (model, optimizer, scheduler and random
state); passing that checkpoint back resumes the run exactly.

A ``schedulefree(...)`` entry trains with a schedule-free optimizer at a constant lr: in
its train mode for the training steps, in its eval mode (the averaged weights, BatchNorm
statistics recomputed at them: `recompute_batch_norm`) for every evaluation and every
reported state.

>>> from lrlab.lab.config import TrainConfig
>>> from lrlab.lab.train import train
>>> result = train(TrainConfig(epochs=2, schedule="cosine(init={lr}, steps={steps})"))
>>> result.status, len(result.epochs)
('finished', 2)
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch

from lrlab.lab.batches import batch_indices
from lrlab.lab.config import BUILT_IN_METRICS, TrainConfig, batches_per_epoch
from lrlab.lab.data import Dataset
from lrlab.lab.models import build_for
from lrlab.lab.recipe import (
    DIVERGE_FACTOR,
    dataset_for,
    optimizer_for,
    schedule_free_optimizer_for,
)
from lrlab.lab.records import Epoch
from lrlab.lab.run import LR_SAMPLES, Run, read_checkpoint

__all__ = [
    "BN_BATCHES",
    "DIVERGE_FACTOR",
    "LR_SAMPLES",
    "METRICS",
    "RunResult",
    "builtin",
    "dataset_for",
    "optimizer_for",
    "read_checkpoint",
    "recompute_batch_norm",
    "train",
]

METRICS = BUILT_IN_METRICS
"""What the built-in trainer reports each epoch."""
BN_BATCHES = 50
"""Training batches over which a schedule-free run's BatchNorm statistics are recomputed
before each evaluation (schedulefree's README uses 50)."""
_NORMS = (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d, torch.nn.BatchNorm3d, torch.nn.SyncBatchNorm)


@dataclass
class RunResult:
    """A run's outcome: every epoch, sampled per-step lrs, status and test accuracy."""

    config: TrainConfig
    epochs: list[Epoch] = field(default_factory=list)
    lrs: list[tuple[int, float]] = field(default_factory=list)
    status: Literal["finished", "diverged"] = "finished"
    diverged_at: int | None = None
    test_accuracy: float | None = None
    steps_per_epoch: int = 0
    """Optimizer steps (batches) per epoch; lr sample steps count these."""


def _evaluate(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    model.eval()
    with torch.no_grad():
        logits = model(x)
        loss = torch.nn.functional.cross_entropy(logits, y).item()
        accuracy = (logits.argmax(1) == y).float().mean().item()
    model.train()
    return loss, accuracy


def recompute_batch_norm(
    model: torch.nn.Module, x: torch.Tensor, *, batch_size: int, batches: int = BN_BATCHES
) -> None:
    """Replace every BatchNorm's running statistics with their average over the first
    ``batches`` full batches of ``x``, at the model's current weights.

    A schedule-free optimizer evaluates at averaged weights, not at those the training
    steps ran at (and gathered the statistics at): put it in eval mode first. Only the
    BatchNorm layers run in train mode meanwhile (no dropout, no random draws); the model
    keeps its mode. A model without BatchNorm is left as it is.
    """
    norms = [m for m in model.modules() if isinstance(m, _NORMS) and m.track_running_stats]
    if not norms:
        return
    training = model.training
    momenta = [norm.momentum for norm in norms]
    model.eval()
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # a cumulative average over the batches
        norm.train()
    with torch.no_grad():
        for b in range(min(len(x) // batch_size, batches)):
            model(x[b * batch_size : (b + 1) * batch_size])
    for norm, momentum in zip(norms, momenta, strict=True):
        norm.momentum = momentum
    model.train(training)


def _averaged(free: Any, model: torch.nn.Module, x: torch.Tensor, batch_size: int) -> None:
    """A schedule-free optimizer (``free``; None: none) to its eval mode, the model's
    weights to its averaged ones, their BatchNorm statistics recomputed: to evaluate and
    save the model. (schedulefree's optimizers are untyped.)"""
    if free is not None:
        free.eval()
        recompute_batch_norm(model, x, batch_size=batch_size)


def _training(free: Any) -> None:
    """A schedule-free optimizer (``free``; None: none) to its train mode: to step."""
    if free is not None:
        free.train()


Checkpoint = bytes
"""A run's state after an epoch, serialised (see `lrlab.lab.run.FORMAT`)."""
EpochCallback = Callable[[Epoch, Checkpoint | None], None]


def builtin(run: Run, *, data: Dataset | None = None) -> None:
    """The built-in trainer as a trainable: ``run.config``'s model, data and optimizer.

    Reports ``train_loss``, ``val_loss`` and ``val_accuracy`` each epoch, and the test
    accuracy at the end (`Run.record_final`). ``data``: the dataset, if already loaded.
    """
    config = run.config
    if data is None:
        data = dataset_for(config)
    device = torch.device(config.device)
    torch.manual_seed(config.seed)
    model = build_for(config.model, data).to(device)
    x_train, y_train = (torch.from_numpy(a).to(device) for a in (data.x_train, data.y_train))
    x_val, y_val = (torch.from_numpy(a).to(device) for a in (data.x_val, data.y_val))
    n = len(y_train)
    batches = batches_per_epoch(n, config.batch_size)
    free = schedule_free_optimizer_for(config, model, steps_per_epoch=batches)
    optimizer = free if free is not None else optimizer_for(config, model)
    scheduler = run.scheduler(optimizer, steps_per_epoch=batches)
    shuffle = torch.Generator().manual_seed(config.seed)
    limit: float | None = None
    state = run.restore()
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        shuffle.set_state(state["shuffle"])
        limit = state["limit"]
    _training(free)
    model.train()
    for epoch in run.epochs():
        losses = []
        for b, rows in enumerate(batch_indices(n, config.batch_size, shuffle)):
            index = rows.to(device)
            loss = torch.nn.functional.cross_entropy(model(x_train[index]), y_train[index])
            value = loss.item()
            if limit is None:
                limit = DIVERGE_FACTOR * max(value, 1.0)
            if not math.isfinite(value) or value > limit:
                run.diverge(epoch * batches + b)
            optimizer.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            optimizer.step()
            scheduler.step()
            losses.append(value)
        _averaged(free, model, x_train, config.batch_size)
        val_loss, val_accuracy = _evaluate(model, x_val, y_val)
        run.report(
            train_loss=float(np.mean(losses)),
            val_loss=val_loss,
            val_accuracy=val_accuracy,
            state={
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "shuffle": shuffle.get_state(),
                "limit": limit,
            },
        )
        _training(free)
    _averaged(free, model, x_train, config.batch_size)
    x_test, y_test = (torch.from_numpy(a).to(device) for a in (data.x_test, data.y_test))
    _, test_accuracy = _evaluate(model, x_test, y_test)
    run.record_final(test_accuracy=test_accuracy)


def train(
    config: TrainConfig,
    *,
    data: Dataset | None = None,
    resume: Checkpoint | None = None,
    on_epoch: EpochCallback | None = None,
) -> RunResult:
    """Train ``config`` with the built-in trainer (its engine: batched, a batch of one);
    ``on_epoch(epoch, checkpoint)`` after each epoch (every epoch's checkpoint);
    ``resume`` from one such checkpoint. An error in training is raised.

    torch runs with ``config.threads`` CPU threads meanwhile (restored afterwards).
    """

    def commit(epochs: Sequence[Epoch], checkpoint: Checkpoint | None) -> None:
        assert on_epoch is not None
        for i, epoch in enumerate(epochs, 1):
            on_epoch(epoch, checkpoint if i == len(epochs) else None)

    run = Run(
        config,
        checkpoint=resume,
        commit=None if on_epoch is None else commit,  # no callback: nothing to save
        checkpoint_overhead=math.inf,
        commit_overhead=math.inf,
    )
    if config.engine == "batched":
        from lrlab.lab.batched import train_together
        from lrlab.lab.run import execute_together

        (ending,) = execute_together([run], functools.partial(train_together, data=data))
    else:
        ending = run.execute(functools.partial(builtin, data=data))
    if ending.status == "failed":
        raise RuntimeError(ending.details or ending.error)
    return RunResult(
        config=config,
        epochs=list(run.history),
        lrs=list(run.lrs),
        status=run.outcome().status,
        diverged_at=run.diverged_at,
        test_accuracy=run.final.get("test_accuracy"),
        steps_per_epoch=run.outcome().steps_per_epoch,
    )
