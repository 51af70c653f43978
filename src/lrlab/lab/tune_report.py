"""What a search leaves, as plain records, and its page (``tune.html``): no Optuna here.

>>> c = Confirmation(metric="val_loss", mode="min", seeds=[1, 2], tuned=[0.2, 0.3],
...     baseline=[0.3, 0.3], gap=0.05, gap_se=0.05, p_value=0.5, verdict="within seed noise")
>>> c.tuned_mean, c.baseline_mean
(0.25, 0.3)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from lrlab.lab.ranking import format_mean, label
from lrlab.plot import search_history, search_slices

if TYPE_CHECKING:
    from lrlab.lab.experiment import ScheduleEntry
    from lrlab.lab.search import Search, Value


@dataclass(frozen=True)
class Trial:
    """One trial of a study: its state (``complete``, ``pruned``, ``fail``, ``running``,
    ``waiting``), value, parameters and per-epoch values as the pruner saw them."""

    number: int
    state: str
    value: float | None
    params: dict[str, Value]
    curve: tuple[float, ...] = ()
    diverged: bool = False


@dataclass(frozen=True)
class Confirmation:
    """The tuned schedule against the baseline on fresh seeds (paired by seed)."""

    metric: str
    mode: str
    seeds: list[int]
    tuned: list[float]
    baseline: list[float]
    gap: float
    """Mean of tuned minus baseline, signed so that positive is better."""
    gap_se: float
    p_value: float | None
    verdict: str
    notes: list[str] = field(default_factory=list)

    @property
    def tuned_mean(self) -> float:
        """The tuned schedule's mean over the paired seeds."""
        return sum(self.tuned) / len(self.tuned) if self.tuned else math.nan

    @property
    def baseline_mean(self) -> float:
        """The baseline's mean over the paired seeds."""
        return sum(self.baseline) / len(self.baseline) if self.baseline else math.nan


def write_report(
    path: Path,
    *,
    study: str,
    metric: str,
    mode: str,
    search: Search,
    trials: list[Trial],
    best: Trial,
    tuned: ScheduleEntry,
    code: str,
    confirmation: Confirmation,
    importance: dict[str, float],
    find_lr: tuple[float | None, str] | None = None,
) -> Path:
    """Write the search's page to ``path``; returns it. ``find_lr``: the range test's
    suggestion (or none) and how it was found, shown beside a search of the lr."""
    from jinja2 import Environment, PackageLoader, StrictUndefined
    from markupsafe import Markup

    shown = [t for t in trials if t.state in ("complete", "pruned")]
    values = [
        (t.value if t.state == "complete" else (t.curve[-1] if t.curve else None)) for t in shown
    ]
    history = search_history(
        [t.number for t in shown],
        [math.nan if v is None else v for v in values],
        [t.state == "pruned" for t in shown],
        mode=mode,
    )
    complete = [t for t in trials if t.state == "complete" and t.value is not None]
    slices = search_slices(
        [
            (
                p.name,
                [
                    float(t.params[p.name])
                    if p.kind != "choice"
                    else float(list(p.values).index(t.params[p.name]))
                    for t in complete
                ],
                p.kind == "log",
            )
            for p in search.space
        ],
        [t.value for t in complete if t.value is not None],
    )
    states = {s: sum(t.state == s for t in trials) for s in ("complete", "pruned", "fail")}
    environment = Environment(
        loader=PackageLoader("lrlab.lab", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )
    page = environment.get_template("tune.html").render(
        study=study,
        metric=label(metric),
        better="smaller" if mode == "min" else "larger",
        space=[(p.name, p.describe()) for p in search.space],
        schedule=search.schedule.spec,
        baseline=search.baseline.spec,
        states=states,
        best=best,
        best_value=_value(metric, best.value),
        tuned=tuned.spec,
        code=code,
        confirmation=confirmation,
        tuned_mean=format_mean(metric, confirmation.tuned),
        baseline_mean=format_mean(metric, confirmation.baseline),
        pairs=[
            (seed, _value(metric, a), _value(metric, b))
            for seed, a, b in zip(
                confirmation.seeds, confirmation.tuned, confirmation.baseline, strict=True
            )
        ],
        find_lr=find_lr,
        importance=sorted(importance.items(), key=lambda item: -item[1]),
        trials=[(t, _value(metric, t.value)) for t in trials],
        history=Markup(history),  # our own SVG text, escaped as it was written
        slices=Markup(slices),
    )
    path.write_text(page, encoding="utf-8")
    return path


def _value(metric: str, value: float | None) -> str:
    return "-" if value is None else format_mean(metric, [value]).split(" ±")[0]
