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

>>> from lrlab.lab.train import TrainConfig, train
>>> result = train(TrainConfig(epochs=2, schedule="cosine(init={lr}, steps={steps})"))
>>> result.status, len(result.epochs)
('finished', 2)
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch

from lrlab.lab.data import Dataset, load
from lrlab.lab.models import build_for
from lrlab.schedules import Schedule
from lrlab.schedules._base import check_choice, check_float, check_int
from lrlab.spec import parse
from lrlab.torch import ScheduleLR

OPTIMIZERS = ("sgd", "adam", "adamw")
DIVERGE_FACTOR = 100.0
"""A training loss above this many times the first batch's loss counts as divergence."""
LR_SAMPLES = 2000
"""At most this many (step, lr) pairs are kept per run; longer runs are sampled evenly."""


@dataclass(frozen=True, kw_only=True)
class TrainConfig:
    """Everything that defines a run; its `run_id` is a hash of all of it."""

    dataset: str = "digits"
    model: str = "mlp-bn"
    optimizer: Literal["sgd", "adam", "adamw"] = "sgd"
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 0.0
    schedule: str = "constant(value={lr})"
    per: Literal["epoch", "batch"] = "epoch"
    epochs: int = 30
    batch_size: int = 64
    seed: int = 0
    threads: int = 1
    """torch CPU threads while training: results are bit-identical only per thread count."""

    def __post_init__(self) -> None:
        name = "config"
        check_choice(name, "optimizer", self.optimizer, OPTIMIZERS)
        check_choice(name, "per", self.per, ("epoch", "batch"))
        check_float(name, "lr", self.lr, minimum=0.0, strict_min=True, maximum=1e6)
        check_float(name, "momentum", self.momentum, minimum=0.0, maximum=1.0, strict_max=True)
        check_float(name, "weight_decay", self.weight_decay, minimum=0.0)
        check_int(name, "epochs", self.epochs, maximum=100_000)
        check_int(name, "batch_size", self.batch_size, maximum=1_000_000)
        check_int(name, "seed", self.seed, minimum=0, maximum=2**31 - 1)
        check_int(name, "threads", self.threads, maximum=1024)
        if not isinstance(self.schedule, str) or not self.schedule.strip():
            raise ValueError(f"config: schedule must be a spec string, got {self.schedule!r}")

    def to_dict(self) -> dict[str, Any]:
        """The config as a JSON-safe dict."""
        return dataclasses.asdict(self)

    @property
    def run_id(self) -> str:
        """A stable id: the first 16 hex digits of the SHA-256 of the config's JSON."""
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class EpochMetrics:
    """What one epoch measured."""

    epoch: int
    lr: float
    train_loss: float
    val_loss: float
    val_accuracy: float
    seconds: float


@dataclass
class RunResult:
    """A run's outcome: every epoch, sampled per-step lrs, status and test accuracy."""

    config: TrainConfig
    epochs: list[EpochMetrics] = field(default_factory=list)
    lrs: list[tuple[int, float]] = field(default_factory=list)
    status: Literal["finished", "diverged"] = "finished"
    diverged_at: int | None = None
    test_accuracy: float | None = None
    steps_per_epoch: int = 0
    """Optimizer steps (batches) per epoch; lr sample steps count these."""


def batches_per_epoch(n_train: int, batch_size: int) -> int:
    """Optimizer steps per epoch (the last batch may be short)."""
    return math.ceil(n_train / batch_size)


_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


def schedule_for(config: TrainConfig, steps_per_epoch: int) -> Schedule:
    """The run's schedule: the spec with its placeholders filled in, parsed."""
    per_epoch = steps_per_epoch if config.per == "batch" else 1
    values = {
        "lr": repr(config.lr),
        "epochs": str(config.epochs),
        "steps": str(config.epochs * per_epoch),
        "steps_per_epoch": str(per_epoch),
    }

    def fill(match: re.Match[str]) -> str:
        if match.group(1) not in values:
            raise ValueError(
                f"config: schedule {config.schedule!r} has an unknown placeholder "
                f"{match.group(0)!r}; use {{lr}}, {{epochs}}, {{steps}} or {{steps_per_epoch}}"
            )
        return values[match.group(1)]

    text = _PLACEHOLDER.sub(fill, config.schedule)
    return parse(text)


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
EpochCallback = Callable[[EpochMetrics, Checkpoint], None]


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
        result.epochs = [EpochMetrics(**e) for e in state["epochs"]]
        result.lrs = [(int(step), float(lr)) for step, lr in state["lrs"].tolist()]
        limit = state["limit"]
        first_epoch = len(result.epochs)
    total_steps = config.epochs * batches
    sample_every = max(1, total_steps // LR_SAMPLES)
    model.train()
    for epoch in range(first_epoch, config.epochs):
        start = time.perf_counter()
        epoch_lr = float(optimizer.param_groups[0]["lr"])
        order = torch.randperm(n, generator=shuffle)
        losses = []
        for b in range(batches):
            step = epoch * batches + b
            if step % sample_every == 0:
                result.lrs.append((step, float(optimizer.param_groups[0]["lr"])))
            index = order[b * config.batch_size : (b + 1) * config.batch_size]
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
        metrics = EpochMetrics(
            epoch=epoch,
            lr=epoch_lr,
            train_loss=float(np.mean(losses)),
            val_loss=val_loss,
            val_accuracy=val_accuracy,
            seconds=time.perf_counter() - start,
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
            "epochs": [dataclasses.asdict(e) for e in result.epochs],
            "lrs": torch.tensor(result.lrs, dtype=torch.float64).reshape(-1, 2),
            "limit": limit,
        },
        buffer,
    )
    return buffer.getvalue()


def read_checkpoint(checkpoint: Checkpoint) -> dict[str, Any]:
    """A checkpoint's contents (raises if it is not one): tensors and plain data only."""
    state: dict[str, Any] = torch.load(io.BytesIO(checkpoint), weights_only=True)
    return state
