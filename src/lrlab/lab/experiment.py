"""Experiments: one model trained under several schedules and seeds, from TOML or flags.

An `Experiment` is a frozen, validated value. It expands into one `TrainConfig` per
(schedule, seed), seed-major, so that after the first seed every schedule has a run. Its
schedules are spec templates: ``{lr}``, ``{epochs}``, ``{steps}`` and
``{steps_per_epoch}`` are filled in per run (see `lrlab.lab.train`). Without schedules,
`default_schedules` gives the tutorials' comparison, scaled to the epoch budget.

A TOML file holds the same keys as the dataclass (``seeds`` may be a count or a list,
``schedules`` a list of spec strings or of ``{name, spec, per}`` tables)::

    name = "digits-sgd"
    epochs = 20
    seeds = 3
    [[schedules]]
    name = "cosine"
    spec = "cosine(init={lr}, steps={steps})"
    per = "batch"

>>> from lrlab.lab.experiment import Experiment
>>> e = Experiment(model="mlp-bn", epochs=10, seeds=(0, 1))
>>> len(e.schedules), len(e.configs())
(10, 20)
>>> e.schedules[1].name, e.schedules[1].spec
('StepLR', 'StepLR(lr={lr}, step_size=3, gamma=0.1)')
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib.util
import math
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 reads TOML with the tomli backport
    import tomli as tomllib

from lrlab.lab.config import (
    BUILT_IN_METRICS,
    BUILT_IN_ONLY,
    ENGINES,
    OPTIMIZERS,
    PER,
    TrainConfig,
    check_metric_name,
    is_schedule_free,
    schedule_for,
)
from lrlab.lab.records import MAX_JOBS, stable_id
from lrlab.schedules.checks import check_choice, check_int
from lrlab.spec import SpecError

MODES = ("min", "max")
_SMALLER = ("loss", "mse", "mae", "rmse", "error", "err", "perplexity", "ppl", "nll", "wer", "cer")
_LARGER = ("acc", "accuracy", "auc", "f1", "r2", "precision", "recall", "score", "iou", "bleu")


def metric_mode(name: str) -> Literal["min", "max"] | None:
    """The direction a metric's name says: a loss or an error is ``min``, an accuracy or
    a score ``max``; None when the name does not say.

    >>> metric_mode("val_mse"), metric_mode("top1_acc"), metric_mode("reward")
    ('min', 'max', None)
    """
    words = set(re.split(r"[_.\-/]", name.lower()))
    if words & set(_SMALLER):
        return "min"
    if words & set(_LARGER):
        return "max"
    return None


_NAME = re.compile(r"^\s*([^()=]+?)\s*=\s*(.+)$", re.DOTALL)
_HEAD = re.compile(r"^\s*([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)?)")  # a prefixed name: hf.cosine


@dataclass(frozen=True, kw_only=True)
class ScheduleEntry:
    """One schedule of an experiment: a label, a spec template, and when it steps."""

    name: str
    spec: str
    per: Literal["epoch", "batch"] = "epoch"

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError(f"schedules: name must be a non-empty string, got {self.name!r}")
        if not isinstance(self.spec, str) or not self.spec.strip():
            raise ValueError(f"schedules: spec must be a spec string, got {self.spec!r}")
        check_choice("schedules", "per", self.per, PER)

    @classmethod
    def from_text(cls, text: str, *, per: str = "epoch") -> ScheduleEntry:
        """``'SPEC'`` or ``'NAME=SPEC'`` (a name has no parentheses); per as given."""
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"schedules: a schedule must be a spec, got {text!r}")
        named = _NAME.match(text)
        if named is not None:
            return cls(name=named.group(1), spec=named.group(2).strip(), per=per)  # type: ignore[arg-type]
        head = _HEAD.match(text)
        return cls(name=head.group(1) if head else text.strip(), spec=text.strip(), per=per)  # type: ignore[arg-type]


def default_schedules(epochs: int) -> tuple[ScheduleEntry, ...]:
    """The tutorials' comparison, each schedule scaled to ``epochs``.

    Decays end near 1% of the initial lr at the budget's end; cyclic and one-cycle step
    per batch (as torch recommends); ReduceLROnPlateau watches the validation loss.

    >>> [e.name for e in default_schedules(30)][:4]
    ['constant', 'StepLR', 'MultiStepLR', 'ExponentialLR']
    """
    epochs = check_int("default_schedules", "epochs", epochs)
    third = max(1, epochs // 3)
    gamma = round(0.01 ** (1 / epochs), 4)
    restart = math.ceil(epochs / 7)  # cycles of T, 2T, 4T: the third ends at the budget
    patience = max(1, epochs // 10)
    warm = max(1, epochs // 10)
    entries = [
        ("constant", "constant(value={lr})", "epoch"),
        ("StepLR", f"StepLR(lr={{lr}}, step_size={third}, gamma=0.1)", "epoch"),
        (
            "MultiStepLR",
            f"MultiStepLR(lr={{lr}}, milestones=[{epochs // 2}, {3 * epochs // 4}], gamma=0.1)",
            "epoch",
        ),
        ("ExponentialLR", f"ExponentialLR(lr={{lr}}, gamma={gamma})", "epoch"),
        ("CosineAnnealingLR", "CosineAnnealingLR(lr={lr}, T_max={epochs})", "epoch"),
        (
            "CosineAnnealingWarmRestarts",
            f"CosineAnnealingWarmRestarts(lr={{lr}}, T_0={restart}, T_mult=2)",
            "epoch",
        ),
        (
            "CyclicLR",
            "CyclicLR(base_lr={lr}/10, max_lr={lr}, step_size_up=2*{steps_per_epoch})",
            "batch",
        ),
        ("OneCycleLR", "OneCycleLR(max_lr={lr}, total_steps={steps})", "batch"),
        (
            "ReduceLROnPlateau",
            f"ReduceLROnPlateau(lr={{lr}}, factor=0.1, patience={patience})",
            "epoch",
        ),
        (
            "warmup+cosine",
            f"warmup(cosine(init={{lr}}, steps={{steps}}-{warm}*{{steps_per_epoch}}), "
            f"steps={warm}*{{steps_per_epoch}})",
            "batch",
        ),
    ]
    return tuple(ScheduleEntry(name=n, spec=s, per=p) for n, s, p in entries)  # type: ignore[arg-type]


@dataclass(frozen=True, kw_only=True)
class Experiment:
    """A comparison: the shared training settings, the seeds and the schedules.

    The defaults are the teaching default of docs/lab.md: the small CNN on digits, SGD with
    momentum at lr 0.1, 20 epochs, 5 seeds. (The tutorials' MLP with BatchNorm saturates
    digits near 98% under every schedule, so no schedule stands out from the seed noise.)
    """

    name: str = "compare"
    dataset: str = "digits"
    model: str = "cnn"
    optimizer: Literal["sgd", "adam", "adamw"] = "sgd"
    lr: float | Literal["auto"] = 0.1
    momentum: float = 0.9
    weight_decay: float = 0.0
    epochs: int = 20
    batch_size: int = 64
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    schedules: tuple[ScheduleEntry, ...] = field(default=())
    train: str | None = None
    """Own training: ``'module:function'`` (see `lrlab.lab.Run`); the dataset, model,
    optimizer and batch-size keys are then not given."""
    rank_by: str | None = None
    """The reported metric that ranks the schedules (default: ``val_accuracy`` for the
    built-in trainer, ``val_loss`` for own training)."""
    mode: Literal["min", "max"] | None = None
    """Whether a smaller or a larger ``rank_by`` is better (default: from its name)."""
    plateau_metric: str = "val_loss"
    """The reported metric that feeds a schedule's plateau phase."""
    engine: Literal["auto", "batched", "sequential"] = "auto"
    """How the built-in trainer trains a seed's runs (`lrlab.lab.batched`); ``auto``: see
    `resolved_engine`."""
    device: str = "cpu"
    """Where the built-in trainer trains: ``cpu``, ``cuda`` or ``cuda:N``."""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError(f"experiment: name must be a non-empty string, got {self.name!r}")
        check_choice("experiment", "optimizer", self.optimizer, OPTIMIZERS)
        check_choice("experiment", "engine", self.engine, ("auto", *ENGINES))
        if self.lr != "auto" and (
            isinstance(self.lr, bool)
            or not isinstance(self.lr, (int, float))
            or not 0 < self.lr <= 1e6
        ):
            raise ValueError(
                f"experiment: lr must be a number in (0, 1e6] or 'auto', got {self.lr!r}"
            )
        if not isinstance(self.seeds, tuple) or not self.seeds:
            raise ValueError(f"experiment: seeds must be a non-empty tuple, got {self.seeds!r}")
        for seed in self.seeds:
            check_int("experiment", "seeds", seed, minimum=0, maximum=2**31 - 1)
        if len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"experiment: seeds must be distinct, got {list(self.seeds)!r}")
        for key in ("dataset", "model"):
            value = getattr(self, key)
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"experiment: {key} must be a non-empty string, got {value!r}")
        self._check_training()
        if not self.schedules:
            check_int("experiment", "epochs", self.epochs)
            if self.epochs < 2:
                raise ValueError(
                    "experiment: the default schedules need epochs >= 2, got "
                    f"{self.epochs}; give your own schedules"
                )
            object.__setattr__(self, "schedules", default_schedules(self.epochs))
        names = [entry.name for entry in self.schedules]
        if len(set(names)) != len(names):
            twice = sorted({n for n in names if names.count(n) > 1})
            raise ValueError(f"experiment: schedule names must be distinct, got {twice!r} twice")
        runs: dict[tuple[str, str], str] = {}
        for entry in self.schedules:
            same = runs.setdefault((entry.spec, entry.per), entry.name)
            if same != entry.name:
                raise ValueError(
                    f"experiment: schedules {same!r} and {entry.name!r} are the same run "
                    f"({entry.spec}, per {entry.per}); keep one"
                )
        self.config(self.schedules[0], self.seeds[0], lr=0.1)  # the shared settings' checks
        for entry in self.schedule_free:
            self._check_schedule_free(entry)

    def _check_schedule_free(self, entry: ScheduleEntry) -> None:
        try:
            self.config(entry, self.seeds[0], lr=0.1)
        except ValueError as error:
            raise ValueError(
                f"experiment: schedule {entry.name!r}: {str(error).removeprefix('config: ')}"
            ) from None

    @property
    def schedule_free(self) -> tuple[ScheduleEntry, ...]:
        """The ``schedulefree(...)`` entries: trained by a schedule-free optimizer (the
        ``schedulefree`` package) at a constant lr, with no schedule."""
        return tuple(entry for entry in self.schedules if is_schedule_free(entry.spec))

    def _check_training(self) -> None:
        if self.train is not None:
            given = [key for key in BUILT_IN_ONLY if getattr(self, key) != _DEFAULTS[key]]
            if given:
                raise ValueError(
                    f"experiment: {given[0]} does not apply to own training (train = "
                    f"{self.train!r}): your function builds its own data, model and "
                    "optimizer; remove it"
                )
            if self.lr == "auto":
                raise ValueError(
                    "experiment: lr 'auto' runs the range test on the built-in trainer; "
                    f"with train = {self.train!r} give the lr (run your own range test)"
                )
        if self.rank_by is not None:
            check_metric_name("experiment", "rank_by", self.rank_by)
        if self.train is None:  # the built-in trainer's metrics are known before it trains
            for key in ("rank_by", "plateau_metric"):
                name = getattr(self, key)
                if name is not None and name not in BUILT_IN_METRICS:
                    close = difflib.get_close_matches(name, BUILT_IN_METRICS, n=1)
                    hint = f"; did you mean {close[0]!r}?" if close else ""
                    raise ValueError(
                        f"experiment: {key} {name!r} is not a metric the built-in trainer "
                        f"reports ({', '.join(BUILT_IN_METRICS)}){hint}"
                    )
        if self.mode is not None:
            check_choice("experiment", "mode", self.mode, MODES)
        check_metric_name("experiment", "plateau_metric", self.plateau_metric)
        self.rank_mode  # noqa: B018 - a rank_by whose direction is unknown fails here

    @property
    def resolved_engine(self) -> Literal["batched", "sequential"]:
        """The engine the runs train with, ``auto`` resolved.

        ``auto`` is ``batched`` for the built-in MLPs, and for the CNN on a GPU; on a
        CPU the CNN's convolutions cost the same stacked or not (docs/lab.md), and a model
        factory, own training or an experiment with a ``schedulefree(...)`` entry trains
        ``sequential``.

        >>> Experiment(model="mlp-bn").resolved_engine, Experiment().resolved_engine
        ('batched', 'sequential')
        """
        if self.engine != "auto":
            return self.engine
        if self.train is not None or ":" in self.model or self.schedule_free:
            return "sequential"
        return "sequential" if self.model == "cnn" and self.device == "cpu" else "batched"

    @property
    def rank_metric(self) -> str:
        """The metric that ranks the schedules: ``rank_by``, or the trainer's default."""
        if self.rank_by is not None:
            return self.rank_by
        return "val_loss" if self.train is not None else "val_accuracy"

    @property
    def rank_mode(self) -> Literal["min", "max"]:
        """``mode``, or the direction the rank metric's name says (a loss: ``min``)."""
        if self.mode is not None:
            return self.mode
        guessed = metric_mode(self.rank_metric)
        if guessed is None:
            raise ValueError(
                f"experiment: is a smaller or a larger {self.rank_metric!r} better? "
                'give the mode: min or max (--mode, or mode = "..." in TOML)'
            )
        return guessed

    def config(self, entry: ScheduleEntry, seed: int, *, lr: float | None = None) -> TrainConfig:
        """The run of ``entry`` with ``seed`` (``lr`` replaces ``'auto'``)."""
        chosen = lr if lr is not None else self.lr
        if chosen == "auto":
            raise ValueError("experiment: lr is 'auto'; pass the found lr to config()")
        return TrainConfig(
            dataset=self.dataset,
            model=self.model,
            optimizer=self.optimizer,
            lr=float(chosen),
            momentum=self.momentum,
            weight_decay=self.weight_decay,
            schedule=entry.spec,
            per=entry.per,
            epochs=self.epochs,
            batch_size=self.batch_size,
            seed=seed,
            train=self.train,
            plateau_metric=self.plateau_metric,
            engine=self.resolved_engine,
            device=self.device,
        )

    def runs(self, *, lr: float | None = None) -> list[tuple[ScheduleEntry, int, TrainConfig]]:
        """Every (schedule, seed, config), seed-major."""
        return [(e, s, self.config(e, s, lr=lr)) for s in self.seeds for e in self.schedules]

    def configs(self, *, lr: float | None = None) -> list[TrainConfig]:
        """Every run's config, seed-major."""
        return [config for _, _, config in self.runs(lr=lr)]

    def check_schedules(self, steps_per_epoch: int) -> None:
        """Parse every schedule as its runs will (placeholders filled): errors name it.

        A ``schedulefree(...)`` entry needs the ``schedulefree`` package installed.
        """
        if self.schedule_free and importlib.util.find_spec("schedulefree") is None:
            raise ValueError(
                f"schedule {self.schedule_free[0].name!r} needs the schedulefree package: "
                "pip install 'lrlab[schedulefree]'"
            )
        for entry in self.schedules:
            _check_schedule(self.config(entry, self.seeds[0], lr=0.1), entry, steps_per_epoch)

    def to_dict(self) -> dict[str, Any]:
        """JSON- and TOML-safe; `from_mapping` reads it back."""
        out = dataclasses.asdict(self)
        out["seeds"] = list(self.seeds)
        out["schedules"] = [dataclasses.asdict(e) for e in self.schedules]
        for key in ("train", "rank_by", "mode"):  # absent at their defaults: ids stay stable
            if out[key] is None:
                del out[key]
        for key, default in (("plateau_metric", "val_loss"), ("engine", "auto"), ("device", "cpu")):
            if out[key] == default:
                del out[key]
        if self.train is not None:
            for key in BUILT_IN_ONLY:
                out.pop(key, None)
        return out

    @property
    def id(self) -> str:
        """A stable id: `lrlab.lab.records.stable_id` of the experiment's dict form, with
        the engine it resolves to (its runs' numbers depend on it)."""
        data = self.to_dict()
        data.pop("engine", None)
        if self.resolved_engine != "sequential":
            data["engine"] = self.resolved_engine
        return stable_id(data)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, source: str = "config") -> Experiment:
        """Build from a TOML-like mapping; an unknown key or bad value names itself."""
        try:
            return cls._from_mapping(data, source)
        except TypeError as error:  # a value of the wrong type deep inside a check
            raise ValueError(f"{source}: a value has the wrong type: {error}") from None

    @classmethod
    def _from_mapping(cls, data: Mapping[str, Any], source: str) -> Experiment:
        known = [f.name for f in dataclasses.fields(cls)]
        values: dict[str, Any] = {}
        for key, value in data.items():
            if key not in known:
                close = difflib.get_close_matches(key, known, n=1, cutoff=0.5)
                hint = f"; did you mean {close[0]!r}?" if close else f"; known: {', '.join(known)}"
                raise ValueError(f"{source}: unknown key {key!r}{hint}")
            values[key] = value
        if values.get("train") is not None:
            given = [key for key in BUILT_IN_ONLY if key in values]
            if given:
                raise ValueError(
                    f"{source}: {given[0]} does not apply to own training (train = "
                    f"{values['train']!r}): your function builds its own data, model and "
                    "optimizer; remove it"
                )
        if "seeds" in values:
            values["seeds"] = _seeds(values["seeds"], source)
        if "schedules" in values:
            values["schedules"] = _entries(values["schedules"], source)
        for key in ("lr", "momentum", "weight_decay"):
            if isinstance(values.get(key), int) and not isinstance(values[key], bool):
                values[key] = float(values[key])
        return cls(**values)

    @classmethod
    def from_toml(cls, path: str | Path) -> Experiment:
        """Read a TOML file (see the module docs); errors name the file and the key. The
        file's `Execution` keys are read by `Execution.from_mapping`, not here."""
        _, rest = Execution.split(read_toml(path), source=str(path))
        return cls.from_mapping(rest, source=str(path))


_DEFAULTS = {f.name: f.default for f in dataclasses.fields(Experiment)}

EXECUTORS = ("inprocess", "processes", "ray")


@dataclass(frozen=True, kw_only=True)
class Execution:
    """Where and how an experiment's runs train. Not part of the experiment (nor of its
    id): the lab gives the same numbers on every executor.

    ``executor``: ``inprocess``, ``processes`` (``jobs`` worker processes) or ``ray``
    (default: ``processes`` when ``jobs`` > 1, else ``inprocess``); ``address``: the Ray
    cluster (``auto`` or ``host:port``; default a local instance of ``jobs`` CPUs);
    ``checkpoint_dir``: storage every worker reaches, for checkpoints (a path or an fsspec
    URL); ``runtime_env``: Ray's runtime environment for the tasks.

    >>> Execution(jobs=2).kind, Execution(executor="ray", address="auto").kind
    ('processes', 'ray')
    >>> Execution(address="auto")
    Traceback (most recent call last):
    ...
    ValueError: execution: address needs executor 'ray', not 'inprocess'
    """

    executor: Literal["inprocess", "processes", "ray"] | None = None
    jobs: int = 1
    address: str | None = None
    checkpoint_dir: str | None = None
    runtime_env: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.executor is not None:
            check_choice("execution", "executor", self.executor, EXECUTORS)
        check_int("execution", "jobs", self.jobs, maximum=MAX_JOBS)
        for key in ("address", "checkpoint_dir"):
            value = getattr(self, key)
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise ValueError(f"execution: {key} must be a non-empty string, got {value!r}")
        if self.address is not None:
            object.__setattr__(self, "address", self.address.strip())
        if self.runtime_env is not None and not isinstance(self.runtime_env, Mapping):
            raise ValueError(f"execution: runtime_env must be a table, got {self.runtime_env!r}")
        for key in ("address", "runtime_env"):
            if getattr(self, key) is not None and self.kind != "ray":
                raise ValueError(f"execution: {key} needs executor 'ray', not {self.kind!r}")
        if self.address is not None and self.jobs > 1:
            raise ValueError(
                f"execution: jobs does not apply with an address (a cluster runs as many "
                f"runs as it has CPUs), got jobs {self.jobs} and address {self.address!r}"
            )
        if self.executor == "inprocess" and self.jobs > 1:
            raise ValueError(
                f"execution: executor 'inprocess' runs one job at a time, got jobs {self.jobs}; "
                "choose executor 'processes' or 'ray'"
            )

    @property
    def kind(self) -> str:
        """The executor, its default resolved."""
        if self.executor is not None:
            return self.executor
        return "processes" if self.jobs > 1 else "inprocess"

    @classmethod
    def split(
        cls, data: Mapping[str, Any], *, source: str = "config"
    ) -> tuple[Execution, dict[str, Any]]:
        """The execution keys of a TOML-like mapping, and the rest (the experiment's)."""
        names = {f.name for f in dataclasses.fields(cls)}
        mine = {k: v for k, v in data.items() if k in names}
        rest = {k: v for k, v in data.items() if k not in names}
        try:
            return cls(**mine), rest
        except (TypeError, ValueError) as error:
            raise ValueError(f"{source}: {error}") from None


def read_toml(path: str | Path) -> dict[str, Any]:
    """A TOML file's raw table (flags may be merged in before `Experiment.from_mapping`)."""
    path = Path(path)
    if path.exists() and not path.is_file():
        raise ValueError(f"config: {str(path)!r} is not a regular file")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8-sig"))  # a BOM is fine
    except OSError as error:
        raise ValueError(f"config: cannot read {str(path)!r}: {error.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"config: {str(path)!r} is not valid TOML: {error}") from None


def _check_schedule(config: TrainConfig, entry: ScheduleEntry, steps_per_epoch: int) -> None:
    try:
        schedule_for(config, steps_per_epoch)
    except (SpecError, ValueError) as error:
        raise ValueError(f"schedule {entry.name!r} ({entry.spec}): {error}") from None


def _seeds(value: object, source: str) -> tuple[int, ...]:
    if isinstance(value, int) and not isinstance(value, bool):
        return tuple(range(check_int(source, "seeds", value, maximum=1000)))
    if isinstance(value, list) and all(
        isinstance(seed, int) and not isinstance(seed, bool) for seed in value
    ):
        return tuple(value)
    raise ValueError(f"{source}: seeds must be a count or a list of ints, got {value!r}")


def _entries(value: object, source: str) -> tuple[ScheduleEntry, ...]:
    if not isinstance(value, list) or not value:
        raise ValueError(f"{source}: schedules must be a non-empty list, got {value!r}")
    entries = []
    for item in value:
        if isinstance(item, str):
            entries.append(ScheduleEntry.from_text(item))
        elif isinstance(item, dict):
            unknown = sorted(set(item) - {"name", "spec", "per"})
            if unknown:
                raise ValueError(
                    f"{source}: unknown key {unknown[0]!r} in a schedule; use name, spec, per"
                )
            if "spec" not in item:
                raise ValueError(f"{source}: a schedule needs a spec, got {item!r}")
            text = item["spec"]
            name = item.get("name") or ScheduleEntry.from_text(str(text)).name
            entries.append(ScheduleEntry(name=name, spec=text, per=item.get("per", "epoch")))
        else:
            raise ValueError(f"{source}: a schedule is a spec or a table, got {item!r}")
    return tuple(entries)


def entries_from(texts: Sequence[str], *, per: str = "epoch") -> tuple[ScheduleEntry, ...]:
    """Entries from ``[NAME=]SPEC`` texts; unnamed ones get their head name, numbered
    ``name#2``, ``name#3`` when it repeats. Explicit names are kept as given."""
    entries = []
    seen: dict[str, int] = {}
    for text in texts:
        entry = ScheduleEntry.from_text(text, per=per)
        if _NAME.match(text) is None:
            count = seen.get(entry.name, 0) + 1
            seen[entry.name] = count
            if count > 1:
                entry = dataclasses.replace(entry, name=f"{entry.name}#{count}")
        entries.append(entry)
    return tuple(entries)
