"""What `lrlab tune` searches: a schedule spec with named placeholders and their ranges.

A search is a schedule entry whose spec names its free parameters as placeholders
(``{factor}``), a space that gives each one a range, and the untuned baseline it is
confirmed against. It is data only (no torch, no Optuna): it is read and checked before
anything trains.

>>> search = Search.from_mapping({
...     "schedule": {"name": "plateau", "spec": "ReduceLROnPlateau(lr={lr}, factor={factor})"},
...     "space": {"lr": {"log": [0.001, 1.0]}, "factor": {"uniform": [0.05, 0.7]}},
... })
>>> search.fill({"lr": 0.05, "factor": 0.25}).spec
'ReduceLROnPlateau(lr=0.05, factor=0.25)'
>>> search.baseline.spec
'ReduceLROnPlateau(lr={lr})'
"""

from __future__ import annotations

import ast
import dataclasses
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from lrlab.lab.experiment import Experiment, ScheduleEntry, default_schedules

KINDS = ("log", "uniform", "int", "choice")
"""How a parameter is drawn: log-uniform or uniform floats, uniform ints (both ends
included), or one of listed values."""
LAB_PLACEHOLDERS = ("lr", "epochs", "steps", "steps_per_epoch")
"""The placeholders the lab fills itself (a search parameter named ``lr`` replaces the
experiment's lr in the spec)."""
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
Value = float | int | str


@dataclass(frozen=True)
class Param:
    """One search parameter: its name, how it is drawn and its range (or choices)."""

    name: str
    kind: Literal["log", "uniform", "int", "choice"]
    values: tuple[Value, ...]

    def describe(self) -> str:
        """The range as the config writes it, e.g. ``log [0.001, 1]``."""
        shown = (repr(v) if isinstance(v, str) else f"{v:g}" for v in self.values)
        return f"{self.kind} [{', '.join(shown)}]"


@dataclass(frozen=True)
class Search:
    """The schedule to tune (its spec with placeholders), the space, the baseline."""

    schedule: ScheduleEntry
    space: tuple[Param, ...]
    baseline: ScheduleEntry

    def __post_init__(self) -> None:
        names = [p.name for p in self.space]
        if not names:
            raise ValueError("search: the space has no parameter; give at least one")
        used = set(_PLACEHOLDER.findall(self.schedule.spec))
        for name in names:
            if name not in used:
                raise ValueError(
                    f"search: parameter {name!r} is not a placeholder of the schedule "
                    f"{self.schedule.spec!r}; write {{{name}}} where it goes"
                )
        unknown = sorted(used - set(names) - set(LAB_PLACEHOLDERS))
        if unknown:
            raise ValueError(
                f"search: the schedule's placeholder {{{unknown[0]}}} has no range in "
                f"[search]; give one, or use {', '.join('{' + p + '}' for p in LAB_PLACEHOLDERS)}"
            )

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, source: str = "search") -> Search:
        """``schedule`` (a name/spec/per table or a ``'NAME=SPEC'`` string), ``space`` (the
        ``[search]`` table) and an optional ``baseline`` (default: the spec with every
        search parameter left out, i.e. the defaults)."""
        schedule = _entry(data.get("schedule"), f"{source}: schedule")
        space = read_space(data.get("space"), source=source)
        given = data.get("baseline")
        baseline = (
            _entry(given, f"{source}: baseline")
            if given is not None
            else untuned(schedule, [p.name for p in space])
        )
        return cls(
            schedule=schedule, space=space, baseline=dataclasses.replace(baseline, name="baseline")
        )

    def fill(self, values: Mapping[str, Value], *, name: str | None = None) -> ScheduleEntry:
        """The schedule with each search parameter's placeholder replaced by its value
        (a float to 4 significant digits)."""

        def put(match: re.Match[str]) -> str:
            key = match.group(1)
            if key in values:
                return repr(_short(values[key]))
            return match.group(0)

        spec = _PLACEHOLDER.sub(put, self.schedule.spec)
        return ScheduleEntry(name=name or self.schedule.name, spec=spec, per=self.schedule.per)

    def corner_entries(self) -> list[ScheduleEntry]:
        """The schedule at every end of every range (the others at their first end), each
        once, named ``NAME #i``: what is checked before the search trains anything."""
        first = {p.name: p.values[0] for p in self.space}
        specs = {
            self.fill({**first, param.name: value}).spec: None
            for param in self.space
            for value in param.values
        }
        return [
            ScheduleEntry(name=f"{self.schedule.name} #{i}", spec=spec, per=self.schedule.per)
            for i, spec in enumerate(specs)
        ]

    def to_dict(self) -> dict[str, Any]:
        """A plain, JSON-ready description (what a study is keyed by)."""
        return {
            "schedule": dataclasses.asdict(self.schedule),
            "space": {p.name: {p.kind: list(p.values)} for p in self.space},
            "baseline": dataclasses.asdict(self.baseline),
        }


def read_space(value: object, *, source: str = "search") -> tuple[Param, ...]:
    """The ``[search]`` table: each key a parameter, each value ``{KIND = [...]}``.

    >>> read_space({"patience": {"int": [0, 6]}})
    (Param(name='patience', kind='int', values=(0, 6)),)
    >>> read_space({"factor": {"log": [0.5, 0.1]}})
    Traceback (most recent call last):
    ...
    ValueError: search: factor: log range must go from low to high, got [0.5, 0.1]
    """
    if not isinstance(value, Mapping) or not value:
        raise ValueError(
            f"{source}: the search space must be a table of parameters, e.g. "
            f"factor = {{ uniform = [0.05, 0.7] }}; got {value!r}"
        )
    return tuple(_param(str(name), spec, source) for name, spec in value.items())


def _param(name: str, spec: object, source: str) -> Param:
    where = f"{source}: {name}"
    if not re.fullmatch(r"[A-Za-z_]\w*", name):
        raise ValueError(f"{source}: parameter name must be an identifier, got {name!r}")
    if name in LAB_PLACEHOLDERS[1:]:
        raise ValueError(f"{source}: {name!r} is filled by the lab; name the parameter otherwise")
    if not isinstance(spec, Mapping) or len(spec) != 1:
        raise ValueError(
            f"{where} must be one table {{ KIND = [...] }}, KIND one of {', '.join(KINDS)}; "
            f"got {spec!r}"
        )
    ((kind, values),) = spec.items()
    if kind not in KINDS:
        raise ValueError(f"{where}: kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if not isinstance(values, Sequence) or isinstance(values, str):
        raise ValueError(f"{where}: {kind} takes a list, got {values!r}")
    if kind == "choice":
        if not values or not all(_plain(v) for v in values):
            raise ValueError(
                f"{where}: choice takes a non-empty list of numbers or strings, "
                f"got {list(values)!r}"
            )
        if len(set(values)) != len(values):
            raise ValueError(f"{where}: choice lists a value twice: {list(values)!r}")
        return Param(name, "choice", tuple(values))
    if len(values) != 2:
        raise ValueError(f"{where}: {kind} range must be [low, high], got {list(values)!r}")
    low, high = values
    if kind == "int":
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            raise ValueError(f"{where}: int range must hold two ints, got {list(values)!r}")
    elif not all(_number(v) for v in values):
        raise ValueError(
            f"{where}: {kind} range must hold two finite numbers, got {list(values)!r}"
        )
    if not low < high:
        raise ValueError(f"{where}: {kind} range must go from low to high, got {list(values)!r}")
    if kind == "log" and low <= 0:
        raise ValueError(f"{where}: log range must be above 0, got {list(values)!r}")
    if kind == "int":
        return Param(name, "int", (int(low), int(high)))
    return Param(name, kind, (float(low), float(high)))


def _short(value: Value) -> Value:
    """A float to 4 significant digits (what a trial trains and a user pastes)."""
    return float(f"{value:.4g}") if isinstance(value, float) else value


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _plain(value: object) -> bool:
    return _number(value) or isinstance(value, str)


def _entry(value: object, where: str) -> ScheduleEntry:
    if isinstance(value, str):
        return ScheduleEntry.from_text(value)
    if isinstance(value, Mapping):
        unknown = sorted(set(value) - {"name", "spec", "per"})
        if unknown:
            raise ValueError(f"{where}: unknown key {unknown[0]!r} (name, spec, per)")
        entry = ScheduleEntry.from_text(value.get("spec"), per=value.get("per", "epoch"))  # type: ignore[arg-type]
        return dataclasses.replace(entry, name=value.get("name", entry.name))
    raise ValueError(f"{where} must be a spec or a table with name and spec, got {value!r}")


def untuned(schedule: ScheduleEntry, names: Sequence[str]) -> ScheduleEntry:
    """The schedule with the keyword arguments set by search parameters left out (their
    defaults), keeping ``{lr}``.

    >>> untuned(ScheduleEntry(name="p", spec="ReduceLROnPlateau(lr={lr}, factor={f})"), ["f"]).spec
    'ReduceLROnPlateau(lr={lr})'
    """
    drop = [n for n in names if n != "lr"]
    spec = schedule.spec
    for name in drop:
        spec = re.sub(rf",?\s*\w+\s*=\s*\{{{name}\}}", "", spec)
    spec = re.sub(r"\(\s*,\s*", "(", spec)
    if any(f"{{{n}}}" in spec for n in drop):
        raise ValueError(
            f"search: no untuned baseline follows from {schedule.spec!r} (a parameter is "
            "not a plain keyword); give baseline = '...'"
        )
    return ScheduleEntry(name="baseline", spec=spec, per=schedule.per)


PRESETS = ("plateau", "onecycle", "warmup-cosine", "step", "lr")


def preset(name: str, epochs: int) -> Search:
    """A ready-made search for one of the lab's default schedules, scaled to ``epochs``.

    >>> [p.name for p in preset("plateau", 20).space]
    ['lr', 'factor', 'patience', 'threshold', 'cooldown']
    >>> preset("step", 20).baseline.spec
    'StepLR(lr={lr}, step_size=6, gamma=0.1)'
    """
    defaults = {e.name: e for e in default_schedules(epochs)}
    lr = {"lr": {"log": [1e-3, 1.0]}}
    tables: dict[str, tuple[str, str, dict[str, Any], ScheduleEntry | None]] = {
        "plateau": (
            "ReduceLROnPlateau(lr={lr}, factor={factor}, patience={patience}, "
            "threshold={threshold}, cooldown={cooldown})",
            "epoch",
            {
                **lr,
                "factor": {"uniform": [0.05, 0.7]},
                "patience": {"int": [0, max(1, epochs // 3)]},
                "threshold": {"log": [1e-5, 1e-2]},
                "cooldown": {"int": [0, max(1, epochs // 7)]},
            },
            None,
        ),
        "onecycle": (
            "OneCycleLR(max_lr={max_lr}, total_steps={steps}, pct_start={pct_start}, "
            "div_factor={div_factor}, final_div_factor={final_div_factor})",
            "batch",
            {
                "max_lr": {"log": [1e-2, 1.0]},
                "pct_start": {"uniform": [0.05, 0.5]},
                "div_factor": {"log": [2.0, 100.0]},
                "final_div_factor": {"log": [10.0, 1e5]},
            },
            ScheduleEntry(
                name="baseline", spec="OneCycleLR(max_lr={lr}, total_steps={steps})", per="batch"
            ),
        ),
        "warmup-cosine": (
            "warmup(cosine(init={lr}, steps={steps}-{warmup_epochs}*{steps_per_epoch}, "
            "end={lr}*{end_ratio}), steps={warmup_epochs}*{steps_per_epoch})",
            "batch",
            {
                **lr,
                "warmup_epochs": {"int": [1, max(2, epochs // 4)]},
                "end_ratio": {"log": [1e-4, 0.1]},
            },
            dataclasses.replace(defaults["warmup+cosine"], name="baseline"),
        ),
        "step": (
            "StepLR(lr={lr}, step_size={step_size}, gamma={gamma})",
            "epoch",
            {
                **lr,
                "step_size": {"int": [1, max(2, epochs // 2)]},
                "gamma": {"uniform": [0.05, 0.9]},
            },
            dataclasses.replace(defaults["StepLR"], name="baseline"),
        ),
        "lr": ("constant(value={lr})", "epoch", lr, None),
    }
    if name not in tables:
        raise ValueError(f"tune: preset must be one of {', '.join(PRESETS)}, got {name!r}")
    spec, per, space, baseline = tables[name]
    data: dict[str, Any] = {"schedule": {"name": name, "spec": spec, "per": per}, "space": space}
    if baseline is not None:
        data["baseline"] = dataclasses.asdict(baseline)
    return Search.from_mapping(data, source=f"preset {name}")


OPTIMIZERS = {"sgd": "SGD", "adam": "Adam", "adamw": "AdamW"}
"""The lab's optimizer names and torch's classes."""


def torch_code(
    entry: ScheduleEntry, *, optimizer: str = "sgd", settings: Mapping[str, float] | None = None
) -> str:
    """PyTorch code for a schedule entry, with `lrlab.torch`'s drop-ins: a torch name
    becomes its drop-in (its ``lr`` the optimizer's), any other spec a ``ScheduleLR``; the
    lab's placeholders become variables to set (``{lr}`` must be filled in already).
    ``optimizer`` (``sgd``, ``adam``, ``adamw``) and its ``settings`` (e.g. ``momentum``;
    those at torch's defaults are left out) make the optimizer line.

    >>> entry = ScheduleEntry(name="p", spec="StepLR(lr=0.05, step_size=3, gamma=0.5)")
    >>> print(torch_code(entry, settings={"momentum": 0.9, "weight_decay": 0.0}))
    import torch
    import lrlab.torch
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    scheduler = lrlab.torch.StepLR(optimizer, step_size=3, gamma=0.5)  # step once per epoch
    """
    from lrlab.schedules import torch_names

    kind = OPTIMIZERS[optimizer]
    extra = "".join(f", {k}={v!r}" for k, v in (settings or {}).items() if v != 0.0)
    text = _PLACEHOLDER.sub(lambda m: m.group(1), entry.spec)
    used = [name for name in LAB_PLACEHOLDERS[1:] if f"{{{name}}}" in entry.spec]
    lines = ["import torch", "import lrlab.torch"]
    if used:
        lines.append("epochs = ...  # the epochs you train")
        if "steps_per_epoch" in used or "steps" in used:
            lines.append("steps_per_epoch = len(train_loader)")
        if "steps" in used:
            per = "epochs * steps_per_epoch" if entry.per == "batch" else "epochs"
            lines.append(f"steps = {per}")
    when = "per batch (after optimizer.step())" if entry.per == "batch" else "once per epoch"
    call = ast.parse(text, mode="eval").body
    name = _called(call) if isinstance(call, ast.Call) else ""
    if name in torch_names.__all__ and isinstance(call, ast.Call) and not call.args:
        keywords = {k.arg: ast.unparse(k.value) for k in call.keywords if k.arg is not None}
        lr = keywords.pop("lr", None) or keywords.get("max_lr") or "0.1"
        rest = "".join(f", {k}={v}" for k, v in keywords.items())
        lines.append(f"optimizer = torch.optim.{kind}(model.parameters(), lr={lr}{extra})")
        lines.append(f"scheduler = lrlab.torch.{name}(optimizer{rest})  # step {when}")
    elif isinstance(call, ast.Call) and name == "constant" and not used:
        value = next((ast.unparse(k.value) for k in call.keywords if k.arg == "value"), "0.1")
        lines[1:] = [f"optimizer = torch.optim.{kind}(model.parameters(), lr={value}{extra})"]
        lines.append("# a constant lr: no scheduler")
    else:
        lines[1] = "import lrlab, lrlab.torch"
        spec = ("f" if used else "") + repr(entry.spec)
        lines.append(
            f"optimizer = torch.optim.{kind}(model.parameters(), lr=0.1{extra})"
            "  # the schedule sets the lr"
        )
        lines.append(
            f"scheduler = lrlab.torch.ScheduleLR(optimizer, lrlab.parse({spec}))  # step {when}"
        )
    return "\n".join(lines)


def optimizer_code(experiment: Experiment) -> dict[str, Any]:
    """`torch_code`'s ``optimizer`` and ``settings`` for an experiment's optimizer."""
    settings = {"weight_decay": float(experiment.weight_decay)}
    if experiment.optimizer == "sgd":
        settings = {"momentum": float(experiment.momentum), **settings}
    return {"optimizer": experiment.optimizer, "settings": settings}


def _called(call: ast.Call) -> str:
    return call.func.id if isinstance(call.func, ast.Name) else ""
