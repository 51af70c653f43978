"""Run many configs through an executor, resuming what the store already has.

An executor only needs ``map(function, items)``: `InProcess` (the default) and
`ProcessPool` (``--jobs N``) are here; a cluster engine can be a third without touching
the trainer, because each task is ``run_one(directory, config_dict)``: plain data in,
plain data out, results committed to the store by the worker itself.
"""

from __future__ import annotations

import multiprocessing
import signal
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol

from lrlab.lab.store import Store
from lrlab.lab.train import Checkpoint, EpochMetrics, TrainConfig, train

Task = tuple[str, dict[str, Any]]
Summary = dict[str, Any]
Work = Callable[[Task], Summary]


class Executor(Protocol):
    """Anything that maps a function over tasks (results in any order)."""

    def map(
        self, function: Callable[[Task], dict[str, Any]], tasks: Iterable[Task]
    ) -> Iterator[dict[str, Any]]:
        """Results of ``function`` for each task, as they come."""
        ...


class InProcess:
    """Run tasks one after another in this process."""

    def map(
        self, function: Callable[[Task], dict[str, Any]], tasks: Iterable[Task]
    ) -> Iterator[dict[str, Any]]:
        """Results in task order."""
        for task in tasks:
            yield function(task)


class ProcessPool:
    """Run tasks in ``jobs`` worker processes (one torch thread each).

    Workers ignore Ctrl-C; the parent stops them all (a run loses at most its current
    epoch, which the store has not committed) and re-raises ``KeyboardInterrupt``.
    """

    def __init__(self, jobs: int) -> None:
        self.jobs = jobs

    def map(
        self, function: Callable[[Task], dict[str, Any]], tasks: Iterable[Task]
    ) -> Iterator[dict[str, Any]]:
        """Results as workers finish them."""
        context = multiprocessing.get_context("fork")
        with context.Pool(self.jobs, initializer=_worker) as pool:  # exit terminates
            yield from pool.imap_unordered(function, tasks)


def _worker() -> None:
    import torch

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    torch.set_num_threads(1)


def run_one(task: Task) -> dict[str, Any]:
    """Train one config, resuming from the store; commits every epoch before returning."""
    directory, config_dict = task
    config = TrainConfig(**config_dict)
    run = config.run_id
    store = Store(directory)
    try:
        status = store.register(config)
        if status in ("finished", "diverged"):
            return {"id": run, "status": status, "resumed_from": None, "skipped": True}
        resume = store.checkpoint(run)
        done = len(store.epochs(run))
        if resume is None and done:
            store.restart(run)  # a missing or corrupt checkpoint: start this run over
        resumed_from = done if resume is not None else None

        def commit(metrics: EpochMetrics, checkpoint: Checkpoint) -> None:
            store.save_epoch(run, metrics, checkpoint)

        try:
            result = train(config, resume=resume, on_epoch=commit)
        except Exception as error:
            store.fail(run, str(error))
            return {"id": run, "status": "failed", "error": f"{type(error).__name__}: {error}"}
        store.finish(result)
        return {"id": run, "status": result.status, "resumed_from": resumed_from, "skipped": False}
    finally:
        store.close()


def run_all(
    directory: str, configs: list[TrainConfig], executor: Executor | None = None
) -> Iterator[dict[str, Any]]:
    """Run every config (skipping finished ones); yields each run's summary as it ends."""
    unique = {config.run_id: config for config in configs}  # the same run is trained once
    tasks = [(directory, config.to_dict()) for config in unique.values()]
    yield from (executor or InProcess()).map(run_one, tasks)
