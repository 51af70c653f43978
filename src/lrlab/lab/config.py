"""A run's config: everything that defines one training run, as a frozen, validated value.

The schedule is a spec (any lrlab family, composite or torch name) that may use the
placeholders ``{lr}`` (the run's initial lr), ``{epochs}``, ``{steps}`` (all scheduler
steps of the run) and ``{steps_per_epoch}``; `schedule_for` fills them in and parses it.
No torch here: the config is plain data, and its `run_id` keys the store.

>>> from lrlab.lab.config import TrainConfig, schedule_for
>>> config = TrainConfig(epochs=3, schedule="cosine(init={lr}, steps={steps})", per="batch")
>>> schedule_for(config, steps_per_epoch=10)
cosine(init=0.1, steps=30)
>>> TrainConfig(lr=0)
Traceback (most recent call last):
...
lrlab.schedules.checks.ParameterError: config: lr must be > 0 and <= 1e+06, got 0
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass
from typing import Any, Literal

from lrlab.lab.records import stable_id
from lrlab.schedules import Schedule
from lrlab.schedules.checks import check_choice, check_float, check_int
from lrlab.spec import parse

OPTIMIZERS = ("sgd", "adam", "adamw")
PER = ("epoch", "batch")
ENGINES = ("sequential", "batched")
"""How the built-in trainer trains a seed's runs: one after another, or all schedules'
models stacked in one pass (`lrlab.lab.batched`)."""
_DEVICE = re.compile(r"^(cpu|cuda(:\d+)?)$")
BUILT_IN_ONLY = (
    "dataset",
    "model",
    "optimizer",
    "momentum",
    "weight_decay",
    "batch_size",
    "engine",
    "device",
)
"""The settings of the built-in trainer, which own training (``train``) does not have."""
_REFERENCE = re.compile(r"^[^\s:]+:[^\s:]+$")
_METRIC = re.compile(r"^[A-Za-z_][\w.\-/]*$")
RESERVED_METRICS = ("epoch", "lr", "seconds", "state")
"""Names a reported metric cannot have (an epoch row's own fields)."""


def check_metric_name(who: str, key: str, name: object) -> str:
    """A metric's name: letters, digits, ``_ . - /``, not starting with a digit.

    >>> check_metric_name("experiment", "rank_by", "val loss")
    Traceback (most recent call last):
    ...
    ValueError: experiment: rank_by must be a metric name (letters, digits, _ . - /), got 'val loss'
    """
    if not isinstance(name, str) or not _METRIC.match(name) or name in RESERVED_METRICS:
        raise ValueError(
            f"{who}: {key} must be a metric name (letters, digits, _ . - /), got {name!r}"
        )
    return name


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
    train: str | None = None
    """Own training: the ``module:function`` that trains the run (None: the built-in
    trainer, with ``dataset``, ``model``, ``optimizer``, ``momentum``, ``weight_decay``,
    ``batch_size``, ``engine`` and ``device``; they do not apply to own training)."""
    plateau_metric: str = "val_loss"
    """The reported metric that feeds a schedule's plateau phase."""
    engine: Literal["sequential", "batched"] = "sequential"
    """The built-in trainer's engine (`ENGINES`): ``batched`` trains the runs of a seed
    that differ only in their schedule (and lr) together."""
    device: str = "cpu"
    """Where the built-in trainer trains: ``cpu``, ``cuda`` or ``cuda:N``."""

    def __post_init__(self) -> None:
        name = "config"
        check_choice(name, "optimizer", self.optimizer, OPTIMIZERS)
        check_choice(name, "per", self.per, PER)
        check_float(name, "lr", self.lr, minimum=0.0, strict_min=True, maximum=1e6)
        check_float(name, "momentum", self.momentum, minimum=0.0, maximum=1.0, strict_max=True)
        check_float(name, "weight_decay", self.weight_decay, minimum=0.0)
        check_int(name, "epochs", self.epochs, maximum=100_000)
        check_int(name, "batch_size", self.batch_size, maximum=1_000_000)
        check_int(name, "seed", self.seed, minimum=0, maximum=2**31 - 1)
        check_int(name, "threads", self.threads, maximum=1024)
        if not isinstance(self.schedule, str) or not self.schedule.strip():
            raise ValueError(f"config: schedule must be a spec string, got {self.schedule!r}")
        if self.train is not None and not _REFERENCE.match(str(self.train)):
            raise ValueError(f"config: train must be 'module:function', got {self.train!r}")
        check_metric_name("config", "plateau_metric", self.plateau_metric)
        check_choice(name, "engine", self.engine, ENGINES)
        if not isinstance(self.device, str) or not _DEVICE.match(self.device):
            raise ValueError(f"config: device must be cpu, cuda or cuda:N, got {self.device!r}")
        if self.train is not None and (self.engine, self.device) != ("sequential", "cpu"):
            raise ValueError(
                f"config: engine and device are the built-in trainer's; own training (train "
                f"= {self.train!r}) trains as its function says, got engine {self.engine!r} "
                f"and device {self.device!r}"
            )

    def to_dict(self) -> dict[str, Any]:
        """The config as a JSON-safe dict.

        Own training's dict has only the keys that apply to it, and keys at their
        defaults that older lrlab did not have are left out, so run ids stay stable.
        """
        out = dataclasses.asdict(self)
        if self.train is None:
            del out["train"]
        else:
            for key in BUILT_IN_ONLY:
                del out[key]
        defaults = {"plateau_metric": "val_loss", "engine": "sequential", "device": "cpu"}
        for key, default in defaults.items():
            if key in out and out[key] == default:
                del out[key]
        return out

    @property
    def run_id(self) -> str:
        """A stable id: `lrlab.lab.records.stable_id` of the config's dict form."""
        return stable_id(self.to_dict())


SHARED = ("schedule", "per", "lr", "plateau_metric")
"""The settings in which runs trained together (the batched engine) may differ."""


def batch_key(config: TrainConfig) -> tuple[tuple[str, Any], ...]:
    """What runs trained together have in common: their configs but for `SHARED`.

    >>> batch_key(TrainConfig(schedule="a")) == batch_key(TrainConfig(schedule="b"))
    True
    """
    return tuple(sorted((k, v) for k, v in config.to_dict().items() if k not in SHARED))


def batches_per_epoch(n_train: int, batch_size: int) -> int:
    """Optimizer steps per epoch (the last batch may be short).

    >>> batches_per_epoch(1000, 64)
    16
    """
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

    return parse(_PLACEHOLDER.sub(fill, config.schedule))
