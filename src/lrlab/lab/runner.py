"""Run many configs through an executor; the driver is the store's only writer.

`run_all` reads what the store has for each run (its committed epochs and latest
checkpoint) into a `Task` (plain data; own training's function travels by reference),
and hands the tasks to an executor. In the worker, `run_task` gives a
`lrlab.lab.run.Run` handle to the run's trainable (the built-in trainer or own training:
one path) and sends each `Commit` (epochs, and a checkpoint when one is due) back; the
driver writes them to the store as they arrive, then the run's `RunEnd`. Workers never
open the store, so they need no shared filesystem, and an interrupted run resumes from
what the driver committed.

An executor needs ``map(function, tasks, receive)``: `InProcess` (the default) and
`ProcessPool` (``--jobs N``) are here; `lrlab.lab.cluster.RayExecutor` runs on Ray. A
pool worker that dies (the OOM killer, ``kill -9``) does not hang the pool: its run is
tried again in a fresh worker, resuming from what that worker had sent, and a run whose
worker dies there too is marked ``failed`` while the others go on.
"""

from __future__ import annotations

import dataclasses
import math
import multiprocessing
import platform
import signal
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import TYPE_CHECKING, Any, Protocol

from lrlab.lab import storage
from lrlab.lab.config import TrainConfig, batch_key
from lrlab.lab.records import DONE, Checkpoint, CheckpointRef, Epoch, Outcome, Status
from lrlab.lab.store import Store

if TYPE_CHECKING:
    from lrlab.lab.run import Ending, Run

WORKER_DIED = "its worker process died (killed by the OS, or out of memory?), twice"


@dataclass(frozen=True)
class Task:
    """One run to do: its config, what every report must hold, and where it resumes."""

    config: dict[str, Any]
    required: tuple[str, ...] = ()
    """Metrics each epoch must report (the experiment's rank metric)."""
    train: Callable[..., None] | None = field(default=None, compare=False)
    """Own training's function when it is not importable by ``config["train"]`` (in
    process only); None: import it, or the built-in trainer."""
    history: tuple[Epoch, ...] = ()
    """The epochs the store has committed."""
    checkpoint: Checkpoint | None = field(default=None, repr=False)
    """The run's latest committed checkpoint (its bytes, or where they are)."""
    checkpoint_dir: str | None = None
    """Storage every node reaches (a path or an fsspec URL): checkpoints are written there
    and only their references travel (`lrlab.lab.storage`); None: the bytes travel."""
    every_epoch: bool = False
    """Commit every epoch as it is reported (a watcher, e.g. a pruner, reads each one)."""

    @property
    def run(self) -> str:
        """The run's id."""
        return TrainConfig(**self.config).run_id

    @property
    def runs(self) -> tuple[str, ...]:
        """The ids of the runs the task trains: its own."""
        return (self.run,)

    def after(self, commit: Commit) -> Task:
        """This task as it resumes once ``commit`` is committed."""
        checkpoint = self.checkpoint if commit.checkpoint is None else commit.checkpoint
        return dataclasses.replace(
            self, history=(*self.history, *commit.epochs), checkpoint=checkpoint
        )


@dataclass(frozen=True)
class Batch:
    """Runs trained together in one pass by the batched engine (`lrlab.lab.batched`):
    one seed's runs that differ only in their schedule and lr."""

    tasks: tuple[Task, ...]

    @property
    def runs(self) -> tuple[str, ...]:
        """The ids of its runs."""
        return tuple(task.run for task in self.tasks)

    @property
    def config(self) -> dict[str, Any]:
        """The config its runs share (the first one's)."""
        return self.tasks[0].config

    def after(self, commit: Commit) -> Batch:
        """This batch as it resumes once ``commit`` (of one of its runs) is committed."""
        return Batch(tuple(t.after(commit) if t.run == commit.run else t for t in self.tasks))


Job = Task | Batch
"""What an executor hands a worker: one run, or a batch of runs trained together."""


@dataclass(frozen=True)
class Commit:
    """A run's epochs to commit, in order, with the checkpoint after the last of them."""

    run: str
    epochs: tuple[Epoch, ...]
    checkpoint: Checkpoint | None = field(default=None, repr=False)
    node: str = ""
    """Where the run is training (the store shows it while it runs)."""


@dataclass(frozen=True, kw_only=True)
class RunEnd:
    """How one task ended: its status, whether it was already done, where it resumed."""

    id: str
    status: Status
    skipped: bool = False
    resumed_from: int | None = None
    """The number of epochs it resumed after, or None when it started from scratch."""
    error: str | None = None
    details: str | None = field(default=None, repr=False)
    """A failed run's traceback."""
    outcome: Outcome | None = field(default=None, repr=False)
    """A finished or diverged run's end, as the store records it."""
    node: str = ""
    """Where it ran (an executor may name more than the host: a Ray node's id)."""

    def on(self, node: str) -> RunEnd:
        """This end as it ran on ``node``."""
        outcome = None if self.outcome is None else dataclasses.replace(self.outcome, node=node)
        return dataclasses.replace(self, node=node, outcome=outcome)


Send = Callable[[Commit], None]


class Stop(Exception):
    """Raised by `run_all`'s ``watch`` to stop the run whose commit it was shown: the run
    is marked ``pruned`` with this message (in-process executors only, where the commit is
    written while the run trains)."""


Work = Callable[[Job, Send], list[RunEnd]]


class Executor(Protocol):
    """Runs ``function(job, send)`` for each job, somewhere, and brings back what
    ``send`` was given (to ``receive``, in the driver, in order) and the `RunEnd` of each
    of the job's runs (after the commits of its run)."""

    def map(self, function: Work, tasks: Iterable[Job], receive: Send) -> Iterator[RunEnd]:
        """Each run's end, as they come."""
        ...


class InProcess:
    """Run jobs one after another in this process."""

    def map(self, function: Work, tasks: Iterable[Job], receive: Send) -> Iterator[RunEnd]:
        """Ends in job order; each commit is written as it is sent."""
        for task in tasks:
            yield from function(task, receive)


class ProcessPool:
    """Run tasks in ``jobs`` worker processes (one torch thread each).

    ``start_method``: ``"fork"``, ``"spawn"`` or ``"forkserver"`` (default: the
    platform's; spawn is the default on macOS and Windows). Each worker talks to the
    driver through a pipe of its own. Workers ignore Ctrl-C; the driver stops them all
    (a run loses at most what it had not sent) and re-raises ``KeyboardInterrupt``.
    """

    def __init__(self, jobs: int, *, start_method: str | None = None) -> None:
        self.jobs = jobs
        self.context = multiprocessing.get_context(start_method)

    def map(self, function: Work, tasks: Iterable[Job], receive: Send) -> Iterator[RunEnd]:
        """Ends as workers finish them."""
        todo = iter(tasks)
        retry: list[Job] = []  # jobs whose worker died once: they go again first
        idle: list[_Worker] = []
        busy: dict[Connection, tuple[_Worker, Job, bool]] = {}
        workers: list[_Worker] = []
        try:
            while True:
                while len(busy) < self.jobs:
                    again = bool(retry)
                    task = retry.pop(0) if again else next(todo, None)
                    if task is None:
                        break
                    if idle:
                        worker = idle.pop()
                    else:
                        worker = _Worker(self.context, function)
                        workers.append(worker)
                    worker.conn.send(task)
                    busy[worker.conn] = (worker, task, again)
                if not busy:
                    return
                for conn in wait(list(busy)):
                    assert isinstance(conn, Connection)
                    worker, task, again = busy[conn]
                    try:
                        message = conn.recv()
                    except (EOFError, OSError):  # the worker died
                        del busy[conn]
                        worker.stop()
                        if again:
                            yield from (_died(run) for run in task.runs)
                        else:
                            retry.append(task)
                        continue
                    if isinstance(message, Commit):
                        receive(message)
                        busy[conn] = (worker, task.after(message), again)
                    else:
                        del busy[conn]
                        idle.append(worker)
                        yield from message
        except BaseException:
            for worker in workers:
                worker.process.terminate()
            raise
        finally:
            for worker in workers:
                worker.stop()


class _Worker:
    """A worker process serving tasks over its own pipe."""

    def __init__(self, context: Any, function: Work) -> None:
        self.conn, theirs = context.Pipe()
        self.process = context.Process(target=_serve, args=(theirs, function))
        self.process.start()
        theirs.close()

    def stop(self) -> None:
        with suppress(OSError, ValueError):  # already gone
            self.conn.send(None)
        self.conn.close()
        self.process.join(5)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join()


def _serve(conn: Connection, function: Work) -> None:
    """A worker's life: tasks in, commits and ends out, until told to stop."""
    import torch

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    torch.set_num_threads(1)
    while (task := conn.recv()) is not None:
        try:
            ends = function(task, conn.send)
        except Exception as error:  # a bug outside the runs' own code: they fail
            node, why = platform.node(), repr(error)
            ends = [RunEnd(id=run, status="failed", error=why, node=node) for run in task.runs]
        conn.send(ends)


def _died(run: str) -> RunEnd:
    return RunEnd(id=run, status="failed", error=WORKER_DIED)


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


def run_job(job: Job, send: Send) -> list[RunEnd]:
    """Train a job (in a worker): each commit goes to ``send``; the store is never
    touched. A `Batch` trains its runs in one pass (`lrlab.lab.batched`)."""
    if isinstance(job, Task):
        return [run_task(job, send)]
    from lrlab.lab.batched import train_together
    from lrlab.lab.run import Cadence, execute_together

    handles = [_handle(task, send) for task in job.tasks]
    ends = []
    for covered in sorted({handle.covered for handle in handles}):  # together from one epoch
        group = [handle for handle in handles if handle.covered == covered]
        first = group[0].cadence  # one cadence for the group, with the tasks' overheads
        cadence = Cadence(first.checkpoint_overhead, first.commit_overhead)
        for handle in group:
            handle.cadence = cadence
        endings = execute_together(group, train_together)  # a failed commit is raised
        ends += [_end(handle, ending) for handle, ending in zip(group, endings, strict=True)]
    return ends


def run_task(task: Task, send: Send) -> RunEnd:
    """Train one task (in a worker): each commit goes to ``send``; the store is never
    touched."""
    handle = _handle(task, send)
    try:
        function = trainable_for(handle.config, task.train)
    except ValueError as error:
        return RunEnd(id=handle.id, status="failed", error=str(error), node=platform.node())
    return _end(handle, handle.execute(function))


def _handle(task: Task, send: Send) -> Run:
    """The task's `Run` handle, whose commits go to ``send`` (a checkpoint that cannot be
    read: the run trains again from its start, with a warning)."""
    from lrlab.lab.run import Run

    config = TrainConfig(**task.config)
    run = config.run_id
    node = platform.node()
    where = task.checkpoint_dir

    def commit(epochs: Sequence[Epoch], data: bytes | None) -> None:
        checkpoint: Checkpoint | None = data
        if where is not None and data is not None:
            checkpoint = storage.put(where, run, epochs[-1].epoch, data)
        send(Commit(run, tuple(epochs), checkpoint, node))

    settings: dict[str, Any] = {
        "history": list(task.history),
        "commit": commit,
        "required": task.required,
    }
    if task.every_epoch:
        settings["commit_overhead"] = math.inf
    try:
        state = task.checkpoint
        if isinstance(state, CheckpointRef):
            state = storage.get(state)
        return Run(config, checkpoint=state, **settings)
    except Exception as error:  # unreadable (damaged, gone, another torch): train it again
        handle = Run(config, **settings)
        if task.checkpoint is not None:
            why = str(error).strip().split("\n", 1)[0][:160] or type(error).__name__
            handle.warnings.append(
                f"[checkpoint] the committed checkpoint could not be used ({why}); the run "
                "was trained again from its start, with the same numbers"
            )
        return handle


def _end(handle: Run, ending: Ending) -> RunEnd:
    """The `RunEnd` of a run that ended with ``ending``."""
    node = platform.node()
    if ending.status == "failed":
        return RunEnd(
            id=handle.id,
            status="failed",
            error=ending.error or "failed",
            details=ending.details,
            node=node,
        )
    assert ending.outcome is not None
    return RunEnd(
        id=handle.id,
        status=ending.outcome.status,
        resumed_from=handle.resumed_from,
        outcome=ending.outcome,
        node=node,
    )


def run_all(
    directory: str,
    configs: list[TrainConfig],
    executor: Executor | None = None,
    *,
    train: Callable[..., None] | None = None,
    required: tuple[str, ...] = (),
    checkpoint_dir: str | None = None,
    watch: Send | None = None,
) -> Iterator[RunEnd]:
    """Run every config (skipping finished ones); yields each run's end as it comes,
    once the store holds it.

    ``train``: own training's function, when the configs' ``train`` reference does not
    import it (in-process executors only); ``required``: metrics every report holds;
    ``checkpoint_dir``: where workers write checkpoints (`Task.checkpoint_dir`);
    ``watch``: shown each commit once it is written; a `Stop` it raises ends that run
    (and the runs not yet ended) as ``pruned`` (in-process executors only).
    """
    unique = {config.run_id: config for config in configs}  # the same run is trained once
    references: dict[str, CheckpointRef] = {}  # each run's committed checkpoint elsewhere

    def forget(run: str) -> None:
        if run in references:
            storage.remove(references.pop(run))

    with Store(directory) as store:
        todo = []
        for run, config in unique.items():
            status = store.register(run, config.to_dict())
            if status in DONE:
                yield RunEnd(id=run, status=status, skipped=True)
                continue
            if status == "failed":  # tried before and failed: start over
                _start_over(store, run)
            todo.append(config)

        def task(config: TrainConfig) -> Task:
            run = config.run_id
            history = tuple(store.epochs(run))
            checkpoint = store.checkpoint(run)
            if isinstance(checkpoint, CheckpointRef):
                references[run] = checkpoint
            return Task(
                config.to_dict(),
                required,
                train,
                history,
                checkpoint,
                checkpoint_dir,
                every_epoch=watch is not None,
            )

        batches: dict[tuple[tuple[str, Any], ...], list[TrainConfig]] = {}
        for config in todo:
            if config.engine == "batched":
                batches.setdefault(batch_key(config), []).append(config)

        def tasks() -> Iterator[Job]:  # read as they start: one batch's checkpoints at a time
            for config in todo:
                if config.engine != "batched":
                    yield task(config)
                elif (members := batches.pop(batch_key(config), None)) is not None:
                    yield Batch(tuple(task(member) for member in members))

        def receive(commit: Commit) -> None:
            store.save_epochs(commit.run, commit.epochs, commit.checkpoint, node=commit.node)
            if commit.checkpoint is not None:
                forget(commit.run)
                if isinstance(commit.checkpoint, CheckpointRef):
                    references[commit.run] = commit.checkpoint
            if watch is not None:
                watch(commit)

        ended: set[str] = set()
        try:
            for end in (executor or InProcess()).map(run_job, tasks(), receive):
                _record(store, end)
                forget(end.id)
                if checkpoint_dir is not None:  # what no commit named (a worker lost mid-write)
                    storage.sweep(checkpoint_dir, end.id, keep=references.get(end.id))
                ended.add(end.id)
                yield end
        except Stop as stop:  # the watcher stopped a run: it and the runs not ended yet
            rest = [config.run_id for config in todo if config.run_id not in ended]
            yield from _pruned(store, rest, str(stop), forget)


def _record(store: Store, end: RunEnd) -> None:
    """Write how a run ended: its outcome, or its failure with the traceback."""
    if end.outcome is not None:
        store.finish(end.id, end.outcome)
        return
    error = end.error or "failed"
    store.fail(end.id, error if end.details is None else f"{error}\n\n{end.details}", node=end.node)


def _pruned(
    store: Store, runs: Sequence[str], why: str, forget: Callable[[str], None]
) -> Iterator[RunEnd]:
    for run in runs:
        store.prune(run, why)
        forget(run)
        yield RunEnd(id=run, status="pruned", error=why)


def _start_over(store: Store, run: str) -> None:
    stale = store.checkpoint(run)
    store.restart(run)
    if isinstance(stale, CheckpointRef):
        storage.remove(stale)
