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

import dataclasses
import functools
import pickle
import platform
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from filelock import FileLock, Timeout

from lrlab.lab import storage
from lrlab.lab.cluster import RayExecutor
from lrlab.lab.config import batches_per_epoch
from lrlab.lab.data import load
from lrlab.lab.experiment import Execution, Experiment
from lrlab.lab.imports import reference_of
from lrlab.lab.models import check_device, check_model
from lrlab.lab.records import ExperimentRecord, Member, stable_id
from lrlab.lab.report import Summary, summarise, write_summary
from lrlab.lab.runner import (
    Executor,
    InProcess,
    ProcessPool,
    RunEnd,
    Send,
    run_all,
    trainable_for,
)
from lrlab.lab.store import Store, StoreError

LOCK = ".lrlab.lock"
Trainable = Callable[..., None]
"""A training function ``train(run)``, given a `lrlab.lab.Run`."""
Progress = Callable[[str, int, int], None]
"""``progress(kind, done, total)`` with kind ``'runs'`` or ``'epochs'``."""
Log = Callable[[str], None]
"""Where `compare` says what it decided before training (e.g. the lr ``--lr auto`` chose)."""


class ExperimentError(ValueError):
    """The experiment cannot run as given (data, model, schedules): nothing was trained."""


class NoSuggestion(RuntimeError):
    """``lr = 'auto'``, and the range test suggests no lr (the work failed, not the input)."""


@dataclass(frozen=True)
class Done:
    """What `compare` leaves: the ranked summary, the report's path and every run's outcome."""

    summary: Summary
    report: Path
    outcomes: list[RunEnd]

    @property
    def failed(self) -> list[RunEnd]:
        """Runs that failed with an error (not divergence, which is a result)."""
        return [o for o in self.outcomes if o.status == "failed"]


@functools.cache
def _versions() -> tuple[tuple[str, str], ...]:
    names = ("lrlab", "torch", "numpy", "scikit-learn")
    return (("python", platform.python_version()), *((n, _installed(n)) for n in names))


def versions() -> dict[str, str]:
    """The versions that shape the numbers: python, lrlab, torch, numpy, scikit-learn."""
    return dict(_versions())  # read once per process: a search records hundreds


def _installed(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:  # pragma: no cover - a source tree without metadata
        return "unknown"


NOMINAL_STEPS = 10
"""Steps per epoch that own training's schedules are checked with before training (its
function says the true number when it calls ``run.scheduler``)."""


def executor_for(execution: Execution) -> Executor:
    """The executor ``execution`` describes (`lrlab.lab.cluster.RayUnavailable` when it is
    Ray and Ray is not installed).

    >>> type(executor_for(Execution(jobs=2))).__name__
    'ProcessPool'
    """
    if execution.kind == "ray":
        from lrlab.lab.cluster import require_ray

        require_ray()
        return RayExecutor(
            execution.jobs, address=execution.address, runtime_env=execution.runtime_env
        )
    if execution.kind == "processes":
        return ProcessPool(execution.jobs)
    return InProcess()


def check(experiment: Experiment, train: Trainable | None = None) -> None:
    """Everything that can fail before training: the device, data, model (that it
    stacks, for the batched engine) and each schedule's spec; with own training, that its
    function imports (or ``train`` is given)."""
    if experiment.train is not None:
        if train is None:
            trainable_for(experiment.config(experiment.schedules[0], experiment.seeds[0], lr=0.1))
        experiment.check_schedules(NOMINAL_STEPS)
        return
    check_device(experiment.device)
    data = load(experiment.dataset, seed=experiment.seeds[0])
    check_model(experiment.model, data, experiment.batch_size, seed=experiment.seeds[0])
    experiment.check_schedules(batches_per_epoch(len(data.y_train), experiment.batch_size))
    if experiment.resolved_engine == "batched":
        from lrlab.lab.batched import check_batchable

        check_batchable(
            experiment.config(experiment.schedules[0], experiment.seeds[0], lr=0.1), data
        )


def compare(
    experiment: Experiment,
    directory: str | Path,
    *,
    train: Trainable | None = None,
    executor: Executor | None = None,
    progress: Progress | None = None,
    log: Log | None = None,
    checkpoint_dir: str | None = None,
) -> Done:
    """Run ``experiment`` into ``directory`` (skipping finished runs) and write the report.

    ``train``: own training, a function ``train(run)`` (see `lrlab.lab.Run`); any
    callable in process, one that pickles (a module-level function) with a process pool.
    Without it, ``experiment.train`` names the function, or the built-in trainer trains.
    ``checkpoint_dir``: storage every worker reaches (a path or an fsspec URL) where
    checkpoints are written; the store then commits references (`lrlab.lab.storage`).

    In order: take the directory's lock (`StoreError` if another compare holds it),
    `check` the experiment (`ExperimentError`), choose the lr (`auto_lr` when it is
    ``'auto'``; `NoSuggestion` when the range test has none), then train and report.
    """
    experiment = _with_train(experiment, train, executor)
    with exclusive(Path(directory)):
        if checkpoint_dir is not None and not storage.is_url(checkpoint_dir):
            checkpoint_dir = str(Path(checkpoint_dir).absolute())  # the same on every worker
        try:
            check(experiment, train)
            if checkpoint_dir is not None:
                storage.check(checkpoint_dir)
            if isinstance(executor, RayExecutor):
                executor.connect()  # after the checks (Ray takes seconds), before the lr test
        except (ValueError, TypeError, OSError, ImportError) as error:
            _close(executor)
            raise ExperimentError(str(error)) from None
        try:
            return _checked(
                experiment,
                directory,
                executor=executor,
                progress=progress,
                log=log,
                train=train,
                checkpoint_dir=checkpoint_dir,
            )
        finally:
            _close(executor)


def _close(executor: Executor | None) -> None:
    if isinstance(executor, RayExecutor):
        executor.close()


def _checked(
    experiment: Experiment,
    directory: str | Path,
    *,
    executor: Executor | None,
    progress: Progress | None,
    log: Log | None,
    train: Trainable | None,
    checkpoint_dir: str | None,
) -> Done:
    if experiment.lr == "auto":
        lr = auto_lr(experiment, directory)
        if log is not None:
            log(f"lr {lr[0]:.4g}: {lr[1]}")
    else:
        lr = (float(experiment.lr), "given")
    outcomes = train_runs(
        experiment,
        directory,
        executor=executor,
        progress=progress,
        lr=lr,
        train=train,
        checkpoint_dir=checkpoint_dir,
    )
    summary = summarise(directory, experiment.id)
    return Done(summary=summary, report=write_summary(summary), outcomes=outcomes)


def _with_train(
    experiment: Experiment, train: Trainable | None, executor: Executor | None
) -> Experiment:
    """The experiment with ``train``'s reference as its ``train`` key."""
    if train is None:
        return experiment
    if not callable(train):
        raise ExperimentError(f"compare: train must be a function train(run), got {train!r}")
    reference = reference_of(train) or (
        f"{getattr(train, '__module__', None) or 'local'}:"
        f"{getattr(train, '__qualname__', None) or type(train).__name__}"
    )
    if experiment.train is not None and experiment.train != reference:
        raise ExperimentError(
            f"compare: the experiment trains with {experiment.train!r}, but train= is "
            f"{reference!r}; give one"
        )
    if isinstance(executor, ProcessPool):
        try:
            pickle.dumps(train)
        except Exception:
            raise ExperimentError(
                f"compare: train {reference!r} cannot go to worker processes (a lambda or a "
                "local function?): define it at module level, or run it in process"
            ) from None
    try:
        return dataclasses.replace(experiment, train=reference)
    except ValueError as error:
        raise ExperimentError(str(error)) from None


@contextmanager
def exclusive(directory: Path) -> Iterator[None]:
    """One `compare` per directory at a time (a second would train the same runs twice).

    Directories made here and left empty (the experiment was refused) are removed again:
    a refused compare leaves no trace.
    """
    made = [p for p in (directory, *directory.parents) if not p.exists()]
    try:
        directory.mkdir(parents=True, exist_ok=True)
        lock = FileLock(directory / LOCK)
        lock.acquire(timeout=0)
    except Timeout:
        raise StoreError(
            f"another 'lrlab compare' is running in {str(directory)!r}; wait for it"
        ) from None
    except OSError as error:
        raise StoreError(f"cannot write in {str(directory)!r}: {error.strerror or error}") from None
    try:
        yield
    finally:
        if made and [p.name for p in directory.iterdir()] == [LOCK]:
            with suppress(OSError):
                (directory / LOCK).unlink()  # before the release: no one else takes it
        lock.release()
        for place in made:  # innermost first; a directory someone filled stays
            with suppress(OSError):
                place.rmdir()


def train_runs(
    experiment: Experiment,
    directory: str | Path,
    *,
    lr: tuple[float, str],
    executor: Executor | None = None,
    progress: Progress | None = None,
    train: Trainable | None = None,
    checkpoint_dir: str | None = None,
    watch: Send | None = None,
) -> list[RunEnd]:
    """Record a checked experiment in the store and train its runs (no lock, no report):
    what `compare` does once it holds the directory, and `lrlab.lab.tune` per trial.

    ``lr``: the lr and how it was chosen; ``watch``: see `run_all`.
    """
    value, source = lr
    runs = experiment.runs(lr=value)
    configs = [config for _, _, config in runs]
    now = time.time()
    record = ExperimentRecord(
        id=experiment.id,
        name=experiment.name,
        config=experiment.to_dict(),
        lr=value,
        lr_source=source,
        versions=versions(),
        created=now,
        updated=now,
    )
    members = [
        (Member(experiment=experiment.id, schedule=e.name, seed=seed, run=c.run_id), c.to_dict())
        for e, seed, c in runs
    ]
    with Store(directory) as store:
        store.add_experiment(record, members)
        start_epochs = sum(r.epochs_done for r in store.runs([c.run_id for c in configs]))
    total_epochs = len(configs) * experiment.epochs
    outcomes: list[RunEnd] = []
    watcher = _EpochWatcher(directory, progress, start_epochs, total_epochs)
    watcher.start()
    try:
        for outcome in run_all(
            str(directory),
            configs,
            executor or InProcess(),
            train=train,
            required=(experiment.rank_metric,),
            checkpoint_dir=checkpoint_dir,
            watch=watch,
        ):
            outcomes.append(outcome)
            if progress is not None:
                progress("runs", len(outcomes), len(configs))
    finally:
        watcher.stop()
    with Store(directory) as store:
        store.settle()  # every worker is done: leave one plain file for the readers
    if progress is not None:
        progress("epochs", total_epochs, total_epochs)
    return outcomes


def auto_lr(experiment: Experiment, directory: str | Path) -> tuple[float, str]:
    """The range test's suggestion for the experiment's model and optimizer, and how.

    Runs `find_lr_for` once (first seed, default sweep) and keeps the result in the
    store, so a re-run uses the same lr. Raises `NoSuggestion` when there is none.
    """
    from lrlab.lab.find_lr import find_lr_for

    config = experiment.config(experiment.schedules[0], experiment.seeds[0], lr=1.0)
    shared = {k: v for k, v in config.to_dict().items() if k not in ("lr", "schedule", "per")}
    key = stable_id(shared)
    with Store(directory) as store:
        found = store.lr_find(key)
        if found is None:
            found = find_lr_for(config).to_dict()
            store.save_lr_find(key, found)
    chosen = found["suggestion"]
    if chosen is None:
        why = found["suggestions"]["steepest"]["reason"]
        raise NoSuggestion(f"compare: --lr auto: the range test suggests no lr: {why}")
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
        try:
            with Store(self.directory, read_only=True) as store:
                first = store.epochs_done()
                while not self.done.wait(0.25):
                    done = self.base + store.epochs_done() - first
                    self.progress("epochs", min(done, self.total), self.total)
        except StoreError:  # progress is best effort: the runs themselves report failures
            return
