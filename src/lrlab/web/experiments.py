"""The experiment browser's reading: every store under a directory, as JSON documents.

A store is a directory with the lab's SQLite file (`lrlab.lab.store.FILENAME`); `find`
walks the served directory for them (hidden folders and checkpoint folders skipped).
Everything is read with ``Store(read_only=True)``: the browser never writes, and a
comparison that runs meanwhile shows its committed epochs on the next read.

>>> import tempfile
>>> from pathlib import Path
>>> from lrlab.lab.store import Store
>>> with tempfile.TemporaryDirectory() as root:
...     with Store(Path(root) / "a" / "b") as store:
...         _ = store.register("r1", {"schedule": "constant(value=0.1)", "seed": 0, "epochs": 2})
...     [(s["path"], len(s["runs"])) for s in stores_document(root)["stores"]]
[('a/b', 1)]
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath
from typing import Any

from lrlab.lab.experiment import Experiment
from lrlab.lab.listing import RunView, run_views
from lrlab.lab.ranking import Summary, Verdict, header, headline, table
from lrlab.lab.records import finite_or_none
from lrlab.lab.report import summarise
from lrlab.lab.store import FILENAME, Store, StoreError

__all__ = [
    "SEARCH_DEPTH",
    "BrowseError",
    "experiment_document",
    "find",
    "locate",
    "stores_document",
]

SEARCH_DEPTH = 6
"""How deep under the served directory stores are looked for."""
_SKIPPED = frozenset({"checkpoints", "node_modules", "__pycache__"})
_VERDICT_CLASS = {
    Verdict.BEST: "best",
    Verdict.WITHIN_NOISE: "noise",
    Verdict.WORSE: "worse",
    Verdict.DIVERGED: "worse",
    Verdict.FAILED: "worse",
}


class BrowseError(LookupError):
    """A store or experiment that is not there, or cannot be read; names what was asked."""


def _visible(name: str) -> bool:
    return not name.startswith(".") and name not in _SKIPPED


def find(root: str | Path) -> list[str]:
    """The stores under ``root`` (``root`` itself included) as paths relative to it
    (``"."`` for ``root``), sorted."""
    base = Path(root)
    found = []
    for folder, subfolders, files in os.walk(base):
        here = Path(folder)
        depth = len(here.relative_to(base).parts)
        subfolders[:] = sorted(
            name for name in subfolders if _visible(name) and depth < SEARCH_DEPTH
        )
        if FILENAME in files:
            found.append(here.relative_to(base).as_posix())
    return sorted(found)


def locate(root: str | Path, store: str) -> Path:
    """The directory of ``store``, a path as `find` gives it, under ``root``; a
    `BrowseError` for any path `find` would not give (nothing outside ``root`` is opened).

    >>> locate(".", "../elsewhere")
    Traceback (most recent call last):
    ...
    lrlab.web.experiments.BrowseError: store: no lrlab store '../elsewhere' under '.'
    """
    parts = PurePosixPath(store).parts
    base = Path(root).resolve()
    folder = (base / store).resolve()
    plain = store == "." or (
        PurePosixPath(*parts).as_posix() == store
        and 0 < len(parts) <= SEARCH_DEPTH
        and all(_visible(part) and part != ".." for part in parts)
    )
    if not plain or not folder.is_relative_to(base) or not (folder / FILENAME).is_file():
        raise BrowseError(f"store: no lrlab store {store!r} under {str(root)!r}")
    return folder


def _run(view: RunView) -> dict[str, Any]:
    run = view.run
    return {
        "id": run.id,
        "experiment": view.experiment,
        "schedule": view.schedule,
        "seed": view.seed,
        "status": run.status,
        "epochs_done": run.epochs_done,
        "epochs": run.config.get("epochs"),
        "seconds": run.seconds,
        "error": run.error.splitlines()[0] if run.error else None,
    }


def stores_document(root: str | Path) -> dict[str, Any]:
    """``{"stores": [...]}``: each store's ``path``, its ``experiments`` (most recent
    first) and its ``runs`` (each one's status and epochs done), or the ``error`` that
    makes it unreadable."""
    stores: list[dict[str, Any]] = []
    for path in find(root):
        entry: dict[str, Any] = {"path": path, "experiments": [], "runs": [], "error": None}
        try:
            with Store(Path(root) / path, read_only=True) as store:
                entry["experiments"] = [
                    {
                        "id": e.id,
                        "name": e.name,
                        "updated": e.updated,
                        "runs": len(store.members(e.id)),
                    }
                    for e in store.experiments()
                ]
                entry["runs"] = [
                    {
                        "id": run.id,
                        "status": run.status,
                        "epochs_done": run.epochs_done,
                        "epochs": run.config.get("epochs"),
                    }
                    for run in store.runs()
                ]
        except StoreError as error:
            entry["error"] = str(error)
        stores.append(entry)
    return {"stores": stores}


def _ranking(summary: Summary) -> dict[str, Any]:
    rows = table(summary)[1:]
    return {
        "header": header(summary),
        "rows": [
            {
                "schedule": row.schedule,
                "cells": cells,
                "verdict": "other"
                if row.verdict is None
                else _VERDICT_CLASS.get(row.verdict, "other"),
            }
            for row, cells in zip(summary.rows, rows, strict=True)
        ],
        "headline": headline(summary),
        "metric": summary.metric,
    }


def _schedule_lrs(store: Store, views: list[RunView], order: list[str]) -> list[dict[str, Any]]:
    """Each schedule's lr against the epoch, from one of its runs: the first with sampled
    steps (a finished run), else the one with the most committed epochs (each epoch's
    starting lr: a comparison in progress)."""
    out = []
    for name in order:
        mine = [view for view in views if view.schedule == name]
        if not mine:
            continue
        chosen, x, lr = mine[0], [], []
        for view in mine:
            steps = view.run.steps_per_epoch
            sampled = store.lrs(view.run.id) if steps else []
            if sampled and steps:
                chosen = view
                x, lr = [s / steps for s, _ in sampled], [v for _, v in sampled]
                break
        else:
            chosen = max(mine, key=lambda view: len(view.epochs))
            x = [float(e.epoch) for e in chosen.epochs]
            lr = [e.lr for e in chosen.epochs]
        out.append(
            {
                "schedule": name,
                "run": chosen.run.id,
                "seed": chosen.seed,
                "x": x,
                "lr": [finite_or_none(value) for value in lr],
            }
        )
    return out


def experiment_document(root: str | Path, store: str, experiment: str | None) -> dict[str, Any]:
    """One experiment of a store (default: the most recently run): its settings, the
    ranking with its verdicts, every run with its config and epochs, each schedule's lr
    (``lrs``) and the store's range tests (``lr_finds``)."""
    directory = locate(root, store)
    try:
        summary = summarise(directory, experiment)
        with Store(directory, read_only=True) as db:
            record = db.find_experiment(experiment)
            views = run_views(db, record.id)
            runs = []
            for view in views:
                entry = _run(view)
                entry["config"] = dict(view.run.config)
                entry["metrics"] = [e.to_dict() for e in view.epochs]
                runs.append(entry)
            config = Experiment.from_mapping(record.config)
            lrs = _schedule_lrs(db, views, [e.name for e in config.schedules])
            lr_finds = [{"key": key, **result} for key, result in db.lr_finds()]
    except StoreError as error:
        raise BrowseError(str(error)) from None
    return {
        "store": store,
        "experiment": {
            "id": record.id,
            "name": record.name,
            "lr": record.lr,
            "lr_source": record.lr_source,
            "created": record.created,
            "updated": record.updated,
            "config": dict(record.config),
            "versions": dict(record.versions),
            "schedules": [{"name": e.name, "spec": e.spec, "per": e.per} for e in config.schedules],
            "rank_metric": config.rank_metric,
            "rank_mode": config.rank_mode,
        },
        "ranking": _ranking(summary),
        "runs": runs,
        "lrs": lrs,
        "lr_finds": lr_finds,
    }
