"""The runs of a store as one table: each run with its experiment, schedule and seed.

What ``lrlab runs DIR`` prints, and its ``--json`` document. Reads the store only (no
torch, nothing written).

>>> import tempfile
>>> from lrlab.lab.store import Store
>>> with tempfile.TemporaryDirectory() as directory:
...     with Store(directory) as store:
...         _ = store.register("r1", {"schedule": "constant(value={lr})", "seed": 0, "epochs": 2})
...     with Store(directory, read_only=True) as store:
...         [(v.schedule, v.seed, v.run.status) for v in run_views(store)]
[('constant(value={lr})', 0, 'pending')]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lrlab.lab.experiment import Experiment
from lrlab.lab.records import Epoch, RunRecord, finite_or_none
from lrlab.lab.store import Store


@dataclass(frozen=True, kw_only=True)
class RunView:
    """A run joined with its membership: the latest experiment it belongs to, if any."""

    run: RunRecord
    experiment: str | None
    """The id of the most recently run experiment that has this run (None: no experiment)."""
    experiments: tuple[str, ...]
    """Every experiment that has this run, the most recent first."""
    schedule: str
    seed: int
    epochs: tuple[Epoch, ...]
    rank_metric: str | None = None
    """The metric that latest experiment ranks by (None: no experiment)."""

    def to_dict(self) -> dict[str, Any]:
        """The run's entry of the ``lrlab runs --json`` document."""
        run = self.run
        return {
            "id": run.id,
            "experiment": self.experiment,
            "experiments": list(self.experiments),
            "schedule": self.schedule,
            "seed": self.seed,
            "status": run.status,
            "engine": run.engine,
            "node": run.node,
            "error": run.error,
            "warnings": list(run.warnings),
            "diverged_at": run.diverged_at,
            "seconds": run.seconds,
            "steps_per_epoch": run.steps_per_epoch,
            "final": {k: finite_or_none(v) for k, v in run.final.items()},
            "config": dict(run.config),
            "epochs": [epoch.to_dict() for epoch in self.epochs],
        }


def run_views(store: Store, experiment: str | None = None) -> list[RunView]:
    """Every run of the store, oldest first; with ``experiment`` (an id or its prefix),
    only that experiment's runs, named as it names them. Raises `StoreError` when no
    single experiment has that id (see `Store.find_experiment`)."""
    experiments = store.experiments()
    chosen = None if experiment is None else {store.find_experiment(experiment).id}
    names: dict[str, tuple[str, int]] = {}
    owners: dict[str, list[str]] = {}
    ranked: dict[str, str] = {}
    for record in reversed(experiments):  # oldest first: the latest experiment names a run
        if chosen is not None and record.id not in chosen:
            continue
        try:
            metric: str | None = Experiment.from_mapping(record.config).rank_metric
        except (TypeError, ValueError, KeyError):  # a config this lrlab cannot read
            metric = None
        for member in store.members(record.id):
            names[member.run] = (member.schedule, member.seed)
            owners.setdefault(member.run, []).insert(0, record.id)
            if metric is not None:
                ranked[member.run] = metric
    views = []
    for run in store.runs():
        if chosen is not None and run.id not in names:
            continue
        schedule, seed = names.get(
            run.id, (str(run.config.get("schedule", "?")), int(run.config.get("seed", 0)))
        )
        mine = tuple(owners.get(run.id, ()))
        views.append(
            RunView(
                run=run,
                experiment=mine[0] if mine else None,
                experiments=mine,
                schedule=schedule,
                seed=seed,
                epochs=tuple(store.epochs(run.id)),
                rank_metric=ranked.get(run.id),
            )
        )
    return views


def runs_document(views: list[RunView]) -> dict[str, Any]:
    """``{"runs": [...]}``: every run with its epochs, each metric by name (JSON-safe)."""
    return {"runs": [view.to_dict() for view in views]}


def runs_table(views: list[RunView]) -> list[list[str]]:
    """The rows ``lrlab runs`` prints, with a header row."""
    rows = [
        [
            "id",
            "experiment",
            "schedule",
            "seed",
            "status",
            "epochs",
            "last metric",
            "time s",
            "node",
        ]
    ]
    for view in views:
        run = view.run
        status: str = run.status
        if status == "diverged":
            status += f" at step {run.diverged_at}"
        if run.warnings:
            status += " (warnings)"
        last = _last(view.epochs[-1], view.rank_metric) if view.epochs else "-"
        rows.append(
            [
                run.id,
                view.experiment or "-",
                view.schedule,
                str(view.seed),
                status,
                f"{run.epochs_done}/{run.config.get('epochs', '?')}",
                last,
                "-" if run.seconds is None else f"{run.seconds:.3g}",
                run.node or "-",
            ]
        )
    return rows


def _last(epoch: Epoch, rank_metric: str | None) -> str:
    """The last epoch's headline metric: the one its experiment ranks by, else the
    validation accuracy, else the loss, else the first reported."""
    for name in (
        *([rank_metric] if rank_metric else []),
        "val_accuracy",
        "val_loss",
        *epoch.metrics,
    ):
        value = epoch.get(name)
        if value is not None:
            shown = f"{100 * value:.2f}%" if name == "val_accuracy" else f"{value:.4g}"
            return f"{name}={shown}"
    return "-"
