"""The lab's trainer: one model, one optimizer, one schedule, one seed; resumable.

The schedule is a spec (any lrlab family, composite or torch name) that may use the
placeholders ``{lr}`` (the run's initial lr), ``{epochs}``, ``{steps}`` (all scheduler
steps of the run) and ``{steps_per_epoch}``; it is stepped once per epoch or once per
batch (``per``). A metric-driven plateau phase is fed the validation loss at the end of
each epoch. A NaN or infinite loss, or a training loss above `DIVERGE_FACTOR` times the
first batch's, stops the run as ``diverged``.

Determinism: the same config gives the same numbers on CPU (seeded model init, seeded
shuffling). ``train`` reports each finished epoch with a checkpoint (model, optimizer,
scheduler and random state); passing that checkpoint back resumes the run exactly.

>>> from lrlab.lab.config import TrainConfig
>>> from lrlab.lab.train import train
>>> result = train(TrainConfig(epochs=2, schedule="cosine(init={lr}, steps={steps})"))
>>> result.status, len(result.epochs)
('finished', 2)
"""

from __future__ import annotations

import io
import math
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch

from lrlab.lab.batches import batch_indices
from lrlab.lab.config import TrainConfig, batches_per_epoch, schedule_for
from lrlab.lab.data import Dataset, load
from lrlab.lab.models import build_for
from lrlab.lab.records import Epoch, Outcome
from lrlab.torch import ScheduleLR

DIVERGE_FACTOR = 100.0
"""A training loss above this many times the first batch's loss counts as divergence."""
LR_SAMPLES = 2000
"""At most this many (step, lr) pairs are kept per run; longer runs are sampled evenly."""
METRICS = ("train_loss", "val_loss", "val_accuracy")
"""What the built-in trainer reports each epoch."""


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

    def outcome(self) -> Outcome:
        """The result as the store records it."""
        final = {} if self.test_accuracy is None else {"test_accuracy": self.test_accuracy}
        return Outcome(
            status=self.status,
            steps_per_epoch=self.steps_per_epoch,
            lrs=tuple(self.lrs),
            diverged_at=self.diverged_at,
            final=final,
            node=platform.node(),
        )


def _evaluate(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    model.eval()
    with torch.no_grad():
        logits = model(x)
        loss = torch.nn.functional.cross_entropy(logits, y).item()
        accuracy = (logits.argmax(1) == y).float().mean().item()
    model.train()
    return loss, accuracy


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


Checkpoint = bytes
"""A run's state after an epoch, serialised (model, optimizer, scheduler, random state)."""
EpochCallback = Callable[[Epoch, Checkpoint], None]


def train(
    config: TrainConfig,
    *,
    data: Dataset | None = None,
    resume: Checkpoint | None = None,
    on_epoch: EpochCallback | None = None,
) -> RunResult:
    """Train ``config``; ``on_epoch(metrics, checkpoint)`` after each epoch; ``resume`` from one.

    torch runs with ``config.threads`` CPU threads meanwhile (restored afterwards).
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(config.threads)
    try:
        return _train(config, data, resume, on_epoch)
    finally:
        torch.set_num_threads(previous)


def _train(  # noqa: PLR0915 - one loop, read top to bottom
    config: TrainConfig,
    data: Dataset | None,
    resume: Checkpoint | None,
    on_epoch: EpochCallback | None,
) -> RunResult:
    data = data if data is not None else load(config.dataset, seed=config.seed)
    torch.manual_seed(config.seed)
    model = build_for(config.model, data)
    optimizer = optimizer_for(config, model)
    x_train, y_train = torch.from_numpy(data.x_train), torch.from_numpy(data.y_train)
    x_val, y_val = torch.from_numpy(data.x_val), torch.from_numpy(data.y_val)
    n = len(y_train)
    batches = batches_per_epoch(n, config.batch_size)
    scheduler = ScheduleLR(optimizer, schedule_for(config, batches))
    shuffle = torch.Generator().manual_seed(config.seed)
    result = RunResult(config=config, steps_per_epoch=batches)
    first_epoch = 0
    limit: float | None = None
    if resume is not None:
        state = read_checkpoint(resume)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        shuffle.set_state(state["shuffle"])
        torch.set_rng_state(state["torch_rng"])
        result.epochs = [_epoch(e) for e in state["epochs"]]
        result.lrs = [(int(step), float(lr)) for step, lr in state["lrs"].tolist()]
        limit = state["limit"]
        first_epoch = len(result.epochs)
    total_steps = config.epochs * batches
    sample_every = max(1, total_steps // LR_SAMPLES)
    model.train()
    for epoch in range(first_epoch, config.epochs):
        start = time.perf_counter()
        epoch_lr = float(optimizer.param_groups[0]["lr"])
        losses = []
        for b, index in enumerate(batch_indices(n, config.batch_size, shuffle)):
            step = epoch * batches + b
            if step % sample_every == 0:
                result.lrs.append((step, float(optimizer.param_groups[0]["lr"])))
            loss = torch.nn.functional.cross_entropy(model(x_train[index]), y_train[index])
            value = loss.item()
            if limit is None:
                limit = DIVERGE_FACTOR * max(value, 1.0)
            if not math.isfinite(value) or value > limit:
                result.status, result.diverged_at = "diverged", step
                return result
            optimizer.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            optimizer.step()
            losses.append(value)
            if config.per == "batch" and b < batches - 1:
                scheduler.step()
        val_loss, val_accuracy = _evaluate(model, x_val, y_val)
        if not math.isfinite(val_loss):
            result.status, result.diverged_at = "diverged", (epoch + 1) * batches - 1
            return result
        if scheduler.metric_driven:
            scheduler.step(val_loss)
        else:
            scheduler.step()
        metrics = Epoch(
            epoch=epoch,
            lr=epoch_lr,
            seconds=time.perf_counter() - start,
            metrics={
                "train_loss": float(np.mean(losses)),
                "val_loss": val_loss,
                "val_accuracy": val_accuracy,
            },
        )
        result.epochs.append(metrics)
        if on_epoch is not None:
            on_epoch(
                metrics, _checkpoint(model, optimizer, scheduler, shuffle, result, limit=limit)
            )
    _, result.test_accuracy = _evaluate(
        model, torch.from_numpy(data.x_test), torch.from_numpy(data.y_test)
    )
    return result


def _checkpoint(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: ScheduleLR,
    shuffle: torch.Generator,
    result: RunResult,
    *,
    limit: float | None,
) -> Checkpoint:
    buffer = io.BytesIO()
    torch.save(
        {
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "shuffle": shuffle.get_state(),
            "torch_rng": torch.get_rng_state(),
            "epochs": [
                {"epoch": e.epoch, "lr": e.lr, "seconds": e.seconds, "metrics": dict(e.metrics)}
                for e in result.epochs
            ],
            "lrs": torch.tensor(result.lrs, dtype=torch.float64).reshape(-1, 2),
            "limit": limit,
        },
        buffer,
    )
    return buffer.getvalue()


def _epoch(saved: dict[str, Any]) -> Epoch:
    """An epoch from a checkpoint; those of schema-1 stores hold the metrics flat."""
    if "metrics" in saved:
        return Epoch(**saved)
    metrics = {name: saved[name] for name in METRICS}
    return Epoch(epoch=saved["epoch"], lr=saved["lr"], seconds=saved["seconds"], metrics=metrics)


def read_checkpoint(checkpoint: Checkpoint) -> dict[str, Any]:
    """A checkpoint's contents (raises if it is not one): tensors and plain data only."""
    state: dict[str, Any] = torch.load(io.BytesIO(checkpoint), weights_only=True)
    return state
