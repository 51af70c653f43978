"""The comparison's answer, from the store alone: a ranked summary and a static HTML page.

`summarise` reads an experiment back from the store and ranks it (`lrlab.lab.ranking`
says how); `write_summary` writes ``report.html`` from the template
``lrlab/lab/templates/report.html`` (Jinja2, autoescaped; inline SVG figures from
`lrlab.plot`, no scripts, nothing fetched, so it opens from disk) plus the figures as
``lr.svg`` and ``curves.svg`` next to it.

>>> import tempfile
>>> from pathlib import Path
>>> from lrlab.lab.experiment import Experiment, ScheduleEntry
>>> from lrlab.lab.ranking import Row, Summary
>>> experiment = Experiment(seeds=(0,), schedules=(
...     ScheduleEntry(name="flat", spec="constant(value={lr})"),))
>>> row = Row(schedule="flat", seeds=[0], status={"finished": 1}, final=[0.9])
>>> with tempfile.TemporaryDirectory() as out:
...     summary = Summary(experiment=experiment, lr=0.1, lr_source="given", versions={},
...                       rows=[row], directory=Path(out))
...     page = write_summary(summary).read_text()
>>> "flat ranks first" in page, "<script" in page
(True, False)
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from lrlab.lab.experiment import Experiment, metric_mode
from lrlab.lab.ranking import (
    ALPHA,
    Row,
    Summary,
    Verdict,
    header,
    headline,
    percent,
    ranking_text,
    table,
)
from lrlab.lab.store import Store, StoreError

if TYPE_CHECKING:
    from lrlab.lab.records import RunRecord

__all__ = [
    "Summary",
    "figures",
    "ranking_text",
    "render_html",
    "summarise",
    "write_report",
    "write_summary",
]

TEMPLATE = "report.html"
"""The page's template, in the package's ``templates`` folder."""

_CSS = {
    Verdict.BEST: "best",
    Verdict.WITHIN_NOISE: "noise",
    Verdict.WORSE: "worse",
    Verdict.DIVERGED: "worse",
    Verdict.FAILED: "worse",
}
"""A verdict's class on the page (the rest are "other")."""


def _css(row: Row) -> str:
    return "other" if row.verdict is None else _CSS.get(row.verdict, "other")


def summarise(directory: str | Path, experiment_id: str | None = None) -> Summary:
    """Read an experiment (default: the most recently run) back from the store and rank it.

    ``experiment_id`` may be a unique prefix of the id. Raises `StoreError` when there is
    no store, no experiment, or no single one with that id.
    """
    with Store(directory, read_only=True) as store:
        chosen = store.find_experiment(experiment_id)
        try:
            experiment = Experiment.from_mapping(chosen.config)
            members = store.members(chosen.id)
            runs = {r.id: r for r in store.runs([m.run for m in members])}
            entries = {e.name: e for e in experiment.schedules}
            rows: dict[str, Row] = {}
            for member in members:
                entry = entries[member.schedule]
                row = rows.setdefault(
                    member.schedule, Row(schedule=entry.name, spec=entry.spec, per=entry.per)
                )
                _add_run(
                    row,
                    store,
                    runs[member.run],
                    member.seed,
                    experiment.rank_metric,
                    experiment.rank_mode,
                )
            warnings = [
                (member.schedule, member.seed, text)
                for member in members
                for text in runs[member.run].warnings
            ]
        except (ValueError, KeyError, IndexError) as error:
            raise StoreError(
                f"experiment {chosen.id} in {str(directory)!r} is not readable: {error!r}"
            ) from None
    return Summary(
        experiment=experiment,
        lr=float(chosen.lr),
        lr_source=chosen.lr_source,
        versions=dict(chosen.versions),
        rows=list(rows.values()),
        directory=Path(directory),
        warnings=warnings,
    )


def _add_run(  # noqa: PLR0917 - one private helper, called once
    row: Row, store: Store, run: RunRecord, seed: int, metric: str, mode: str
) -> None:
    row.seeds.append(seed)
    row.status[run.status] = row.status.get(run.status, 0) + 1
    if row.lr_epochs.size == 0 and run.steps_per_epoch:
        lrs = store.lrs(run.id)
        row.lr_epochs = np.array([s for s, _ in lrs], dtype=np.float64) / run.steps_per_epoch
        row.lr_values = np.array([v for _, v in lrs], dtype=np.float64)
    if run.status != "finished":
        return
    epochs = store.epochs(run.id)
    values = [e[metric] for e in epochs]
    best = int(np.argmax(values) if mode == "max" else np.argmin(values))
    row.final.append(values[-1])
    row.best.append(values[best])
    row.best_epoch.append(best)
    if "test_accuracy" in run.final:
        row.test_acc.append(float(run.final["test_accuracy"]))
    row.seconds.append(float(run.seconds or 0.0))
    names = dict.fromkeys(name for e in epochs for name in e.metrics)
    for name in names:
        line = np.array([e.get(name) for e in epochs], dtype=np.float64)  # None: NaN
        old = row.curves.get(name)
        if old is not None and old.shape[1] != line.size:
            continue
        row.curves[name] = line[None, :] if old is None else np.vstack([old, line])


def figures(summary: Summary) -> dict[str, str]:
    """The page's figures as SVG text: ``lr`` (every schedule's lr) and ``curves``.

    Both draw the schedules in the experiment's order, schedule ``i`` in
    `lrlab.plot.color` ``(i)``: ``lr`` is `lrlab.plot.lr_grid`, ``curves`` is
    `lrlab.plot.versus_leader` (plain SVG writers, no matplotlib).
    """
    from lrlab import plot

    order = [e.name for e in summary.experiment.schedules]
    rows = sorted(summary.rows, key=lambda r: order.index(r.schedule))
    lr = plot.lr_grid([(r.schedule, r.lr_epochs, r.lr_values) for r in rows])
    traces = [plot.Trace(r.schedule, r.lr_epochs, r.lr_values, r.curves) for r in rows]
    leader = summary.leader
    metrics: tuple[tuple[str, str, bool], ...] = plot.REPORT_METRICS
    if summary.experiment.train is not None:
        names = dict.fromkeys(n for r in rows for n in r.curves)
        metrics = tuple((n, n, not percent(n) and metric_mode(n) == "min") for n in names)
    curves = plot.versus_leader(
        traces, None if leader is None else rows.index(leader), metrics=metrics
    )
    return {"lr": lr, "curves": curves}


def render_html(summary: Summary, svgs: dict[str, str]) -> str:
    """The report page, from the template (``svgs``: `figures`' inline SVG, trusted)."""
    from jinja2 import Environment, PackageLoader, StrictUndefined
    from markupsafe import Markup

    environment = Environment(
        loader=PackageLoader("lrlab.lab", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )
    e = summary.experiment
    rank = f"{e.rank_metric} ({'smaller' if e.rank_mode == 'min' else 'larger'} is better)"
    if e.train is None:
        settings = [
            ("dataset", e.dataset),
            ("model", e.model),
            ("optimizer", e.optimizer),
            ("learning rate", f"{summary.lr:g} ({summary.lr_source})"),
            ("momentum", f"{e.momentum:g}" if e.optimizer == "sgd" else "-"),
            ("weight decay", f"{e.weight_decay:g}"),
            ("epochs", str(e.epochs)),
            ("batch size", str(e.batch_size)),
            ("seeds", ", ".join(map(str, e.seeds))),
            ("ranked by", rank),
        ]
        what = f"{e.model} on {e.dataset}, {e.optimizer} at lr {summary.lr:g}"
    else:
        settings = [
            ("training function", e.train),
            ("learning rate", f"{summary.lr:g} ({summary.lr_source})"),
            ("epochs", str(e.epochs)),
            ("seeds", ", ".join(map(str, e.seeds))),
            ("ranked by", rank),
            ("plateau metric", e.plateau_metric),
        ]
        what = f"{e.train} at lr {summary.lr:g}"
    rows = [
        {"cells": cells[:-1], "verdict": cells[-1], "css": _css(row)}
        for row, cells in zip(summary.rows, table(summary)[1:], strict=True)
    ]
    return environment.get_template(TEMPLATE).render(
        e=e,
        what=what,
        builtin=e.train is None,
        ranked_by=(
            "final validation accuracy"
            if e.rank_metric == "val_accuracy"
            else f"final {e.rank_metric} ({'smaller' if e.rank_mode == 'min' else 'larger'} "
            "is better)"
        ),
        warnings=summary.warnings,
        headline=headline(summary),
        header=header(summary),
        rows=rows,
        tested=sum(r.p_holm is not None for r in summary.rows),
        alpha=ALPHA,
        figures={name: Markup(svg) for name, svg in svgs.items()},
        settings=settings,
        versions=sorted(summary.versions.items()),
        directory=str(summary.directory),
    )


def write_report(directory: str | Path, experiment_id: str | None = None) -> Path:
    """Write ``report.html`` (and its figures as .svg) into ``directory``; returns its path."""
    return write_summary(summarise(directory, experiment_id))


def write_summary(summary: Summary) -> Path:
    """Write an already-read summary's report into its directory; returns its path."""
    svgs = figures(summary)
    for name, svg in svgs.items():
        (summary.directory / f"{name}.svg").write_text(svg, encoding="utf-8")
    path = summary.directory / "report.html"
    path.write_text(render_html(summary, svgs), encoding="utf-8")
    return path
