"""Run many configs through an executor, resuming what the store already has.

An executor only needs ``map(function, tasks)``: `InProcess` (the default) and
`ProcessPool` (``--jobs N``) are here. Each task is ``(directory, config_dict)``: plain
data in, a `RunEnd` out; the worker commits each epoch to the store itself before it
goes on, so an interrupted run resumes from its last committed epoch.

A pool worker that dies (the OOM killer, ``kill -9``) does not hang the pool: each run
that was in flight is tried again alone in a fresh worker (resuming from its checkpoint),
and a run whose worker dies there too is marked ``failed`` while the others go on.
"""

from __future__ import annotations

import multiprocessing
import signal
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, Protocol

from lrlab.lab.config import TrainConfig
from lrlab.lab.records import DONE, Epoch, Status
from lrlab.lab.store import Store, StoreError

Task = tuple[str, dict[str, Any]]
WORKER_DIED = "its worker process died (killed by the OS, or out of memory?), twice"


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
    directory, config_dict = task
    run = TrainConfig(**config_dict).run_id
    with Store(directory) as store:
        store.fail(run, WORKER_DIED)
    return RunEnd(id=run, status="failed", error=WORKER_DIED)


def _worker() -> None:
    import torch

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    torch.set_num_threads(1)


def run_one(task: Task) -> RunEnd:
    """Train one config, resuming from the store; commits every epoch before returning."""
    from lrlab.lab.train import read_checkpoint, train

    directory, config_dict = task
    config = TrainConfig(**config_dict)
    run = config.run_id
    with Store(directory) as store:
        status = store.register(run, config.to_dict())
        if status in DONE:
            return RunEnd(id=run, status=status, skipped=True)
        resume = store.checkpoint(run)
        if resume is not None:
            try:
                read_checkpoint(resume)
            except Exception:  # unreadable (damaged, or from another torch): start over
                resume = None
        done = len(store.epochs(run))
        if resume is None and done:
            store.restart(run)
        resumed_from = done if resume is not None else None

        def commit(epoch: Epoch, checkpoint: bytes) -> None:
            store.save_epoch(run, epoch, checkpoint)

        try:
            result = train(config, resume=resume, on_epoch=commit)
        except StoreError:  # the store itself failed: it cannot record that either
            raise
        except (Exception, SystemExit) as error:  # a model may call sys.exit(): a failure
            message = (
                f"it called sys.exit({error.code!r})"
                if isinstance(error, SystemExit)
                else f"{type(error).__name__}: {error}"
            )
            store.fail(run, message)
            return RunEnd(id=run, status="failed", error=message)
        store.finish(run, result.outcome())
        return RunEnd(id=run, status=result.status, resumed_from=resumed_from)


def run_all(
    directory: str, configs: list[TrainConfig], executor: Executor | None = None
) -> Iterator[RunEnd]:
    """Run every config (skipping finished ones); yields each run's end as it comes."""
    unique = {config.run_id: config for config in configs}  # the same run is trained once
    tasks = [(directory, config.to_dict()) for config in unique.values()]
    yield from (executor or InProcess()).map(run_one, tasks)
