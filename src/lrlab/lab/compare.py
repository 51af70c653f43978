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

import fcntl
import hashlib
import json
import platform
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from lrlab.lab.data import Dataset, load
from lrlab.lab.experiment import Experiment
from lrlab.lab.models import build_for
from lrlab.lab.report import Summary, summarise, write_summary
from lrlab.lab.runner import Executor, InProcess, run_all
from lrlab.lab.store import Store, StoreError
from lrlab.lab.train import batches_per_epoch

LOCK = ".lrlab.lock"
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
    build_for(experiment.model, data)
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

    With ``experiment.lr == 'auto'`` the lr comes from `auto_lr` (or from ``lr``, given
    as ``(value, how it was chosen)``).
    """
    check(experiment)
    if lr is None:
        lr = (
            auto_lr(experiment, directory)
            if experiment.lr == "auto"
            else (float(experiment.lr), "given")
        )
    with _exclusive(Path(directory)):
        return _run(experiment, directory, executor=executor, progress=progress, lr=lr)


@contextmanager
def _exclusive(directory: Path) -> Iterator[None]:
    """One `compare` per directory at a time (a second would train the same runs twice)."""
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / LOCK, "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StoreError(
                f"another 'lrlab compare' is running in {str(directory)!r}; wait for it"
            ) from None
        yield


def _run(
    experiment: Experiment,
    directory: str | Path,
    *,
    executor: Executor | None,
    progress: Progress | None,
    lr: tuple[float, str],
) -> Done:
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
    summary = summarise(directory, experiment.id)
    return Done(summary=summary, report=write_summary(summary), outcomes=outcomes)


def auto_lr(experiment: Experiment, directory: str | Path) -> tuple[float, str]:
    """The range test's suggestion for the experiment's model and optimizer, and how.

    Runs `find_lr_for` once (first seed, default sweep) and keeps the result in the
    store, so a re-run uses the same lr. Raises ValueError when there is no suggestion.
    """
    from lrlab.lab.find_lr import find_lr_for

    config = experiment.config(experiment.schedules[0], experiment.seeds[0], lr=1.0)
    shared = {k: v for k, v in config.to_dict().items() if k not in ("lr", "schedule", "per")}
    key = hashlib.sha256(json.dumps(shared, sort_keys=True).encode()).hexdigest()[:16]
    store = Store(directory)
    try:
        found = store.lr_find(key)
        if found is None:
            found = find_lr_for(config).to_dict()
            store.save_lr_find(key, found)
    finally:
        store.close()
    chosen = found["suggestion"]
    if chosen is None:
        why = found["suggestions"]["steepest"]["reason"]
        raise ValueError(f"compare: --lr auto: the range test suggests no lr: {why}")
    others = ", ".join(
        f"{name} {item['lr']:.3g}"
        for name, item in found["suggestions"].items()
        if name != "steepest" and item["lr"] is not None
    )
    settings = found["settings"]
    how = (
        f"auto: steepest descent of a range test on seed {config.seed} "
        f"({settings['start']:g} to {settings['end']:g}, {len(found['lrs'])} steps); "
        f"also suggested: {others}"
    )
    return float(chosen), how


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
