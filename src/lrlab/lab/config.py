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

A ``schedulefree(...)`` spec is no schedule at all: the run trains with a schedule-free
optimizer (`schedule_free_for`) at a constant lr, its warmup the optimizer's own.
"""

from __future__ import annotations

import ast
import dataclasses
import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from lrlab.lab.records import stable_id
from lrlab.schedules import Schedule, constant
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
BUILT_IN_METRICS = ("train_loss", "val_loss", "val_accuracy")
"""What the built-in trainer reports each epoch."""
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
        if is_schedule_free(self.schedule):
            problem = schedule_free_problem(self)
            if problem is not None:
                raise ValueError(f"config: {problem}")
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
    """The run's schedule: the spec with its placeholders filled in, parsed.

    A ``schedulefree(...)`` entry's is the constant lr its optimizer trains with.
    """
    free = schedule_free_for(config, steps_per_epoch)
    if free is not None:
        return constant(value=free.lr)
    return parse(_filled(config, steps_per_epoch if config.per == "batch" else 1))


def _filled(config: TrainConfig, per_epoch: int) -> str:
    """The config's spec with its placeholders filled, ``per_epoch`` scheduler steps an
    epoch."""
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

    return _PLACEHOLDER.sub(fill, config.schedule)


SCHEDULE_FREE = "schedulefree"
"""The spec name of an entry trained by a schedule-free optimizer (the ``schedulefree``
package, ``pip install 'lrlab[schedulefree]'``) instead of a schedule."""
_SCHEDULE_FREE = re.compile(rf"^\s*{SCHEDULE_FREE}\s*\(")
_ARITHMETIC: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}


@dataclass(frozen=True, kw_only=True)
class ScheduleFree:
    """A ``schedulefree(lr=..., warmup_steps=...)`` entry, its placeholders filled: the
    constant ``lr`` and the optimizer's own linear warmup over ``warmup_steps`` optimizer
    steps (0: none)."""

    lr: float
    warmup_steps: int = 0


def is_schedule_free(spec: str) -> bool:
    """Whether a spec is a ``schedulefree(...)`` entry rather than a schedule.

    >>> is_schedule_free("schedulefree(warmup_steps=100)"), is_schedule_free("constant(value=1)")
    (True, False)
    """
    return isinstance(spec, str) and _SCHEDULE_FREE.match(spec) is not None


def schedule_free_problem(config: TrainConfig) -> str | None:
    """Why a ``schedulefree(...)`` config cannot train (None: it can); the settings only,
    its arguments are read by `schedule_free_for`."""
    where = f"{SCHEDULE_FREE}(...) trains with a schedule-free optimizer"
    if config.train is not None:
        return (
            f"{where}, which the built-in trainer builds; own training (train = "
            f"{config.train!r}) builds its own optimizer: build schedulefree's in your "
            "function and give the entry the spec constant(value={lr})"
        )
    if config.engine == "batched":
        return f"{where}, which the batched engine has not; use engine 'sequential' or 'auto'"
    if config.optimizer == "sgd" and not 0 < config.momentum < 1:
        return f"{where}: SGDScheduleFree needs 0 < momentum < 1, got {config.momentum!r}"
    if config.optimizer == "adam" and config.weight_decay != 0:
        return (
            f"{where}: schedulefree has AdamW, not Adam with L2 weight decay; use optimizer "
            f"'adamw' (or weight_decay 0), got weight_decay {config.weight_decay!r}"
        )
    return None


def schedule_free_for(config: TrainConfig, steps_per_epoch: int) -> ScheduleFree | None:
    """The config's `ScheduleFree` entry, or None when its spec is a schedule.

    Its placeholders count optimizer steps whatever ``per`` says (there is no schedule to
    step): ``{steps_per_epoch}`` is the batches of an epoch. ``lr`` defaults to ``{lr}``.

    >>> spec = "schedulefree(lr=10*{lr}, warmup_steps={steps_per_epoch})"
    >>> schedule_free_for(TrainConfig(epochs=3, schedule=spec), steps_per_epoch=20)
    ScheduleFree(lr=1.0, warmup_steps=20)
    >>> schedule_free_for(TrainConfig(schedule="schedulefree(warmup=5)"), steps_per_epoch=20)
    Traceback (most recent call last):
    ...
    ValueError: schedulefree: unknown parameter 'warmup'; parameters: lr, warmup_steps
    """
    if not is_schedule_free(config.schedule):
        return None
    text = _filled(config, steps_per_epoch)
    try:
        return _schedule_free(text, config.lr)
    except SyntaxError as error:
        raise ValueError(f"{SCHEDULE_FREE}: not a valid spec: {error.msg}") from None
    except RecursionError:
        raise ValueError(f"{SCHEDULE_FREE}: spec nested too deeply") from None


def _schedule_free(text: str, lr: float) -> ScheduleFree:
    call = ast.parse(text.strip(), mode="eval").body
    if not isinstance(call, ast.Call) or call.args:
        raise ValueError(
            f"{SCHEDULE_FREE}: takes its parameters by name, like "
            f"schedulefree(lr={{lr}}, warmup_steps=100), got {text!r}"
        )
    values: dict[str, Any] = {"lr": lr, "warmup_steps": 0}
    for keyword in call.keywords:
        if keyword.arg not in values:
            raise ValueError(
                f"{SCHEDULE_FREE}: unknown parameter {keyword.arg!r}; parameters: lr, warmup_steps"
            )
        values[keyword.arg] = _number(keyword.arg, keyword.value)
    warmup = values["warmup_steps"]
    if isinstance(warmup, float) and warmup.is_integer():
        warmup = int(warmup)
    return ScheduleFree(
        lr=check_float(
            SCHEDULE_FREE, "lr", values["lr"], minimum=0.0, strict_min=True, maximum=1e6
        ),
        warmup_steps=check_int(SCHEDULE_FREE, "warmup_steps", warmup, minimum=0),
    )


def _number(name: str, node: ast.expr) -> int | float:
    """A number or arithmetic on numbers (``+ - * /``, a sign), nothing else."""
    value = node.value if isinstance(node, ast.Constant) else None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        value = _number(name, node.operand)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp) and type(node.op) in _ARITHMETIC:
        try:
            result = _ARITHMETIC[type(node.op)](_number(name, node.left), _number(name, node.right))
        except (ZeroDivisionError, OverflowError) as error:
            raise ValueError(f"{SCHEDULE_FREE}: {name}: cannot compute it: {error}") from None
        return result  # type: ignore[no-any-return]
    raise ValueError(
        f"{SCHEDULE_FREE}: {name} must be a number (+ - * / allowed), got {ast.unparse(node)!r}"
    )
