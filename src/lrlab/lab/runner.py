"""Run many configs through an executor, resuming what the store already has.

An executor only needs ``map(function, tasks)``: `InProcess` (the default) and
`ProcessPool` (``--jobs N``) are here. Each `Task` is a directory and a config (plain
data; own training's function travels by reference), a `RunEnd` comes out; the worker
commits each epoch to the store itself before it goes on, so an interrupted run resumes
from its last committed epoch. The built-in trainer and own training take one path:
`run_one` gives a `lrlab.lab.run.Run` handle to the run's trainable.

A pool worker that dies (the OOM killer, ``kill -9``) does not hang the pool: each run
that was in flight is tried again alone in a fresh worker (resuming from its checkpoint),
and a run whose worker dies there too is marked ``failed`` while the others go on.
"""

from __future__ import annotations

import multiprocessing
import signal
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any, Protocol

from lrlab.lab.config import TrainConfig
from lrlab.lab.records import DONE, Epoch, Status
from lrlab.lab.store import Store

WORKER_DIED = "its worker process died (killed by the OS, or out of memory?), twice"


@dataclass(frozen=True)
class Task:
    """One run to do: where its store is, its config, and what every report must hold."""

    directory: str
    config: dict[str, Any]
    required: tuple[str, ...] = ()
    """Metrics each epoch must report (the experiment's rank metric)."""
    train: Callable[..., None] | None = field(default=None, compare=False)
    """Own training's function when it is not importable by ``config["train"]`` (in
    process only); None: import it, or the built-in trainer."""


@dataclass(frozen=True, kw_only=True)
class RunEnd:
    """How one task ended: its status, whether it was already done, where it resumed."""

    id: str
    status: Status
    skipped: bool = False
    resumed_from: int | None = None
    """The number of epochs it resumed after, or None when it started from scratch."""
    error: str | None = None


Work = Callable[[Task], RunEnd]


class Executor(Protocol):
    """Anything that maps a function over tasks (results in any order)."""

    def map(self, function: Work, tasks: Iterable[Task]) -> Iterator[RunEnd]:
        """Results of ``function`` for each task, as they come."""
        ...


class InProcess:
    """Run tasks one after another in this process."""

    def map(self, function: Work, tasks: Iterable[Task]) -> Iterator[RunEnd]:
        """Results in task order."""
        for task in tasks:
            yield function(task)


class ProcessPool:
    """Run tasks in ``jobs`` worker processes (one torch thread each).

    ``start_method``: ``"fork"``, ``"spawn"`` or ``"forkserver"`` (default: the
    platform's; spawn is the default on macOS and Windows). Workers ignore Ctrl-C; the
    parent stops them all (a run loses at most its current epoch, which the store has
    not committed) and re-raises ``KeyboardInterrupt``.
    """

    def __init__(self, jobs: int, *, start_method: str | None = None) -> None:
        self.jobs = jobs
        self.context = multiprocessing.get_context(start_method)

    def map(self, function: Work, tasks: Iterable[Task]) -> Iterator[RunEnd]:
        """Results as workers finish them."""
        queue = list(tasks)
        while queue:
            suspects, queue = yield from self._round(function, queue, self.jobs)
            for task in suspects:  # alone, a death is this task's own
                again, _ = yield from self._round(function, [task], 1)
                if again:
                    yield _died(task)

    def _round(
        self, function: Work, queue: list[Task], jobs: int
    ) -> Generator[RunEnd, None, tuple[list[Task], list[Task]]]:
        """One pool's life; if a worker dies, returns (the tasks it may have held, the rest)."""
        jobs = min(jobs, len(queue))  # never more workers than runs
        pool = ProcessPoolExecutor(jobs, mp_context=self.context, initializer=_worker)
        pending = list(queue)
        running: dict[Future[RunEnd], Task] = {}
        try:
            while pending or running:
                while pending and len(running) < jobs:
                    task = pending.pop(0)
                    running[pool.submit(function, task)] = task
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                broken = []
                for future in finished:
                    task = running.pop(future)
                    try:
                        result = future.result()
                    except BrokenProcessPool:
                        broken.append(task)
                        continue
                    yield result
                if broken:  # the pool is unusable: every task in flight is a suspect
                    return [*broken, *running.values()], pending
        except BaseException:
            _terminate(pool)
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        return [], []


def _terminate(pool: ProcessPoolExecutor) -> None:
    """Stop this pool's workers now (Ctrl-C): their current epochs are not committed."""
    stop = getattr(pool, "terminate_workers", None)  # Python 3.14+
    if stop is not None:
        stop()
        return
    for process in list(getattr(pool, "_processes", {}).values()):
        process.terminate()


def _died(task: Task) -> RunEnd:
    run = TrainConfig(**task.config).run_id
    with Store(task.directory) as store:
        store.fail(run, WORKER_DIED)
    return RunEnd(id=run, status="failed", error=WORKER_DIED)


def _worker() -> None:
    import torch

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    torch.set_num_threads(1)


def trainable_for(config: TrainConfig, given: Callable[..., None] | None = None) -> Any:
    """The function that trains ``config``: ``given``, its ``train`` imported, or the
    built-in trainer. Raises ValueError (naming it) when it cannot be imported."""
    if given is not None:
        return given
    if config.train is None:
        from lrlab.lab.train import builtin

        return builtin
    from lrlab.lab.imports import import_object

    function = import_object("train", config.train, what="function")
    if not callable(function):
        raise ValueError(
            f"train {config.train!r}: it is a {type(function).__name__}, not a function "
            "called as train(run)"
        )
    return function


def run_one(task: Task) -> RunEnd:
    """Train one config, resuming from the store; commits every epoch before returning."""
    from lrlab.lab.run import Run

    config = TrainConfig(**task.config)
    run = config.run_id
    with Store(task.directory) as store:
        status = store.register(run, config.to_dict())
        if status in DONE:
            return RunEnd(id=run, status=status, skipped=True)
        if status == "failed":  # tried before and failed: start over
            store.restart(run)
        history = store.epochs(run)
        checkpoint = store.checkpoint(run)

        def commit(epochs: Sequence[Epoch], data: bytes | None) -> None:
            store.save_epochs(run, epochs, data)

        try:
            handle = Run(
                config,
                checkpoint=checkpoint,
                history=history,
                commit=commit,
                required=task.required,
            )
        except Exception:  # an unreadable checkpoint (damaged, another torch): train it all again
            handle = Run(config, history=history, commit=commit, required=task.required)
        try:
            function = trainable_for(config, task.train)
        except ValueError as error:
            store.fail(run, str(error))
            return RunEnd(id=run, status="failed", error=str(error))
        ending = handle.execute(function)
        if ending.status == "failed":
            message = ending.error or "failed"
            store.fail(run, message if ending.details is None else f"{message}\n\n{ending.details}")
            return RunEnd(id=run, status="failed", error=message)
        assert ending.outcome is not None
        store.finish(run, ending.outcome)
        return RunEnd(id=run, status=ending.outcome.status, resumed_from=handle.resumed_from)


def run_all(
    directory: str,
    configs: list[TrainConfig],
    executor: Executor | None = None,
    *,
    train: Callable[..., None] | None = None,
    required: tuple[str, ...] = (),
) -> Iterator[RunEnd]:
    """Run every config (skipping finished ones); yields each run's end as it comes.

    ``train``: own training's function, when the configs' ``train`` reference does not
    import it (in-process executors only); ``required``: metrics every report holds.
    """
    unique = {config.run_id: config for config in configs}  # the same run is trained once
    tasks = [Task(directory, c.to_dict(), required, train) for c in unique.values()]
    yield from (executor or InProcess()).map(run_one, tasks)
