"""One experiment end to end: check it, run it (resuming), store it, report it.

>>> import tempfile
>>> from lrlab.lab.compare import compare
>>> from lrlab.lab.experiment import Experiment, ScheduleEntry
>>> e = Experiment(epochs=2, seeds=(0,), schedules=(
...     ScheduleEntry(name="constant", spec="constant(value={lr})"),
...     ScheduleEntry(name="cosine", spec="cosine(init={lr}, steps={steps})", per="batch"),
... ))
>>> with tempfile.TemporaryDirectory() as out:
...     done = compare(e, out)
...     sorted(r.schedule for r in done.summary.rows), done.report.name
(['constant', 'cosine'], 'report.html')
"""

from __future__ import annotations

import platform
import threading
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from lrlab.lab.data import Dataset, load
from lrlab.lab.experiment import Experiment
from lrlab.lab.models import build
from lrlab.lab.report import Summary, summarise, write_report
from lrlab.lab.runner import Executor, InProcess, run_all
from lrlab.lab.store import Store
from lrlab.lab.train import batches_per_epoch

Progress = Callable[[str, int, int], None]
"""``progress(kind, done, total)`` with kind ``'runs'`` or ``'epochs'``."""


@dataclass(frozen=True)
class Done:
    """What `compare` leaves: the ranked summary, the report's path and every run's outcome."""

    summary: Summary
    report: Path
    outcomes: list[dict[str, Any]]

    @property
    def failed(self) -> list[dict[str, Any]]:
        """Runs that failed with an error (not divergence, which is a result)."""
        return [o for o in self.outcomes if o["status"] == "failed"]


def versions() -> dict[str, str]:
    """The versions that shape the numbers: python, lrlab, torch, numpy, scikit-learn."""
    names = ("lrlab", "torch", "numpy", "scikit-learn")
    return {"python": platform.python_version(), **{name: _installed(name) for name in names}}


def _installed(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:  # pragma: no cover - a source tree without metadata
        return "unknown"


def check(experiment: Experiment) -> Dataset:
    """Everything that can fail before training: data, model and each schedule's spec."""
    data = load(experiment.dataset, seed=experiment.seeds[0])
    build(
        experiment.model,
        n_features=data.n_features,
        n_classes=data.n_classes,
        image_shape=data.image_shape,
    )
    experiment.check_schedules(batches_per_epoch(len(data.y_train), experiment.batch_size))
    return data


def compare(
    experiment: Experiment,
    directory: str | Path,
    *,
    executor: Executor | None = None,
    progress: Progress | None = None,
    lr: tuple[float, str] | None = None,
) -> Done:
    """Run ``experiment`` into ``directory`` (skipping finished runs) and write the report.

    ``lr`` is ``(value, how it was chosen)`` when ``experiment.lr`` is ``'auto'``.
    """
    check(experiment)
    if lr is None:
        if experiment.lr == "auto":
            raise ValueError("compare: experiment.lr is 'auto'; pass lr=(value, source)")
        lr = (float(experiment.lr), "given")
    value, source = lr
    configs = experiment.configs(lr=value)
    store = Store(directory)
    try:
        store.add_experiment(experiment, lr=value, lr_source=source, versions=versions())
        start_epochs = sum(len(store.epochs(c.run_id)) for c in configs)
    finally:
        store.close()
    total_epochs = len(configs) * experiment.epochs
    outcomes: list[dict[str, Any]] = []
    watcher = _EpochWatcher(directory, progress, start_epochs, total_epochs)
    watcher.start()
    try:
        for outcome in run_all(str(directory), configs, executor or InProcess()):
            outcomes.append(outcome)
            if progress is not None:
                progress("runs", len(outcomes), len(configs))
    finally:
        watcher.stop()
    if progress is not None:
        progress("epochs", total_epochs, total_epochs)
    report = write_report(directory, experiment.id)
    return Done(summary=summarise(directory, experiment.id), report=report, outcomes=outcomes)


class _EpochWatcher:
    """Reports epoch progress by reading the store (works for any executor)."""

    def __init__(
        self, directory: str | Path, progress: Progress | None, start: int, total: int
    ) -> None:
        self.directory = directory
        self.progress = progress
        self.total = total
        self.base = start
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)

    def start(self) -> None:
        if self.progress is not None:
            self.progress("epochs", self.base, self.total)
            self.thread.start()

    def stop(self) -> None:
        self.done.set()
        if self.thread.is_alive():
            self.thread.join()

    def _watch(self) -> None:
        assert self.progress is not None
        store = Store(self.directory)
        try:
            first = store.epochs_done()
            while not self.done.wait(0.25):
                done = self.base + store.epochs_done() - first
                self.progress("epochs", min(done, self.total), self.total)
        finally:
            store.close()
