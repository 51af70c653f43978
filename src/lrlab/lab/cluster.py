"""The lab on a Ray cluster: each run a Ray task streaming its commits to the driver.

`RayExecutor` has the executor shape of `lrlab.lab.runner` (``map(function, tasks,
receive)``), so the driver stays the store's only writer: a run is a streaming-generator
task (``num_returns="streaming"``) that yields each `Commit` (epochs, and a checkpoint or
its reference) as the run makes it and its `RunEnd` last; the driver commits each as it
arrives. Workers need no shared filesystem and never open the store.

A task is never retried by Ray itself (``max_retries=0``): Ray would re-run it from its
start and send commits the driver already has. When a worker or its node dies, the driver
submits the run again from what it committed (`Task.after`), on whatever node has room,
up to ``retries`` times in a row without a commit in between; the run's own resume check
makes the numbers equal an uninterrupted run's. A user data file is read once on the
driver and put in Ray's object store; every task gets it from there.

Without an ``address``, lrlab starts a local Ray instance of ``jobs`` CPUs and shuts it
down after (never attaching to a cluster that happens to run); with ``"auto"`` or
``"host:port"`` it connects to that cluster and leaves it running.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import platform
import queue
import socket
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import suppress
from typing import Any

from lrlab.lab.data import NAMES, Raw, provided, read_file
from lrlab.lab.runner import Commit, Job, RunEnd, Send, Work

INSTALL = "pip install 'lrlab[ray]'"
"""How to install what `RayExecutor` needs."""
RETRIES = 3
"""How many times in a row a run whose worker (or node) died before it committed again
is submitted again, by default."""
BACKLOG = 4
"""How many of a run's messages may wait for the driver before the task pauses, and so
many more in the task's queue before the run itself waits: a driver slower than its
workers (big streamed checkpoints) slows them down instead of filling their memory, and
the run's commit-cost pacing sees the wait."""
ROOM_SECONDS = 5.0
"""How often the driver asks the cluster how many CPUs it has."""


class RayUnavailable(ImportError):
    """Ray is not installed; the message says how to install it."""


def require_ray() -> Any:
    """The ``ray`` module, or `RayUnavailable` with the install command."""
    try:
        import ray
    except ImportError:
        raise RayUnavailable(
            f"--executor ray needs Ray, which is not installed: {INSTALL}"
        ) from None
    return ray


class RayExecutor:
    """Run tasks as Ray tasks, one CPU each, on a local instance or an existing cluster.

    ``jobs``: the local instance's CPUs (ignored with an ``address``); ``address``:
    ``"auto"`` (the cluster ``ray start`` started on this machine) or ``"host:port"``;
    ``runtime_env``: Ray's runtime environment for the tasks (e.g. ``{"working_dir": "."}``
    so that own training's module reaches every node); ``retries``: how often a run whose
    worker died is submitted again before it is marked failed.

    >>> from lrlab.lab.cluster import RayExecutor
    >>> RayExecutor(2).describe()
    'a local Ray instance with 2 CPUs'
    """

    def __init__(
        self,
        jobs: int = 1,
        *,
        address: str | None = None,
        runtime_env: Mapping[str, Any] | None = None,
        retries: int = RETRIES,
    ) -> None:
        self.jobs = jobs
        self.address = address
        self.runtime_env = dict(runtime_env) if runtime_env else None
        self.retries = retries

    def describe(self) -> str:
        """Where the runs go, in words."""
        if self.address is None:
            return f"a local Ray instance with {self.jobs} CPU{'' if self.jobs == 1 else 's'}"
        return f"the Ray cluster at {self.address}"

    def map(self, function: Work, tasks: Iterable[Job], receive: Send) -> Iterator[RunEnd]:
        """Ends as the cluster finishes them; commits go to ``receive`` as they arrive.
        Connects first if `connect` was not called; a Ray this executor started is shut
        down at the end, however the comparison ends."""
        ray = require_ray()
        self.connect()
        try:
            yield from _Driver(ray, function, receive, self.retries).run(tasks)
        finally:
            self.close()

    def connect(self) -> None:
        """Start the local instance, or connect to the cluster (before any task).

        Raises `RayUnavailable`, or ``ConnectionError`` naming the address when nothing
        answers there (checked with a bounded TCP connect first: Ray itself would wait
        for minutes). A Ray session the caller already started is used as it is.
        """
        ray = require_ray()
        if ray.is_initialized():  # the caller's own session (or ours): leave it be
            return
        options: dict[str, Any] = {
            "logging_level": logging.WARNING,
            "log_to_driver": False,
            "include_dashboard": False,
        }
        if self.runtime_env is not None:
            options["runtime_env"] = self.runtime_env
        if self.address is not None:
            _reachable(self.address)
        try:
            if self.address is None:
                ray.init(address="local", num_cpus=self.jobs, **options)
            else:
                ray.init(address=self.address, **options)
        except Exception as error:  # no cluster there, a runtime env Ray refuses, ...
            where = (
                "a local Ray instance" if self.address is None else f"--address {self.address!r}"
            )
            reason = str(error).strip().split("\n", 1)[0]
            raise ConnectionError(
                f"{where}: Ray did not start: {type(error).__name__}: {reason}"
            ) from None
        self._started = True

    def close(self) -> None:
        """Shut down the Ray this executor started (nothing otherwise)."""
        if getattr(self, "_started", False):
            require_ray().shutdown()
            self._started = False


CONNECT_SECONDS = 5.0
"""How long `RayExecutor.connect` waits for a ``host:port`` address to answer."""


def _reachable(address: str) -> None:
    """Raise ``ConnectionError`` naming ``address`` unless a TCP connect to it succeeds."""
    if address == "auto" or address.startswith("ray://") or ":" not in address:
        return  # Ray finds (or refuses) these itself, without waiting
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), CONNECT_SECONDS):
            return
    except ValueError:
        raise ConnectionError(f"--address {address!r}: expected auto or HOST:PORT") from None
    except OSError as error:
        raise ConnectionError(
            f"--address {address!r}: no Ray cluster answers there "
            f"({error.strerror or error}); is 'ray start --head' running?"
        ) from None


class _Driver:
    """Keeps the cluster busy, brings commits back in order, resubmits lost runs."""

    def __init__(self, ray: Any, function: Work, receive: Send, retries: int) -> None:
        self.ray = ray
        self.receive = receive
        self.retries = retries
        self.remote = ray.remote(
            num_cpus=1,
            num_returns="streaming",
            max_retries=0,
            _generator_backpressure_num_objects=BACKLOG,
        )(_stream)
        self.function = function
        self.data: dict[str, Any] = {}  # user data files, in the object store once each
        self.live: dict[Any, tuple[Job, int]] = {}  # generator -> (its task now, tries)
        self.room = (0, -math.inf)  # how many to keep submitted, and when that was asked

    def run(self, tasks: Iterable[Job]) -> Iterator[RunEnd]:
        todo = iter(tasks)
        again: list[tuple[Job, int]] = []
        try:
            while True:
                while len(self.live) < self._room():
                    item = again.pop(0) if again else _first(next(todo, None))
                    if item is None:
                        break
                    self._submit(*item)
                if not self.live:
                    return
                ready, _ = self.ray.wait(list(self.live), num_returns=1)
                for generator in ready:
                    task, tries = self.live[generator]
                    try:
                        message = self.ray.get(next(generator))
                    except StopIteration:  # ended without its end: treat as lost
                        message = None
                    except self.ray.exceptions.RayTaskError as error:  # outside the run's code
                        del self.live[generator]
                        yield from _raised(task, error)
                        continue
                    except self.ray.exceptions.RayError as error:  # the worker or node died
                        message = error
                    if isinstance(message, Commit):
                        self.receive(message)
                        self.live[generator] = (task.after(message), 0)  # it moves on: reset
                        continue
                    del self.live[generator]
                    if isinstance(message, _Ends):
                        yield from message.ends
                        continue
                    with suppress(Exception):  # a lost object of a live task: stop the copy
                        self.ray.cancel(generator, force=True)
                    if tries < self.retries:
                        again.append((task, tries + 1))
                    else:
                        lost = _lost(tries, message)
                        yield from (RunEnd(id=r, status="failed", error=lost) for r in task.runs)
        except BaseException:
            for generator in self.live:
                with suppress(Exception):
                    self.ray.cancel(generator, force=True)
            raise

    def _room(self) -> int:
        """How many tasks to keep submitted: the cluster's CPUs and as many waiting (so an
        autoscaler sees demand, and a freed CPU starts the next run at once); asked of
        the cluster at most every `ROOM_SECONDS`, as nodes come and go."""
        count, asked = self.room
        now = time.monotonic()
        if now - asked > ROOM_SECONDS:
            count = max(2, 2 * int(self.ray.cluster_resources().get("CPU", 1)))
            self.room = (count, now)
        return count

    def _submit(self, task: Job, tries: int) -> None:
        name = str(task.config.get("dataset"))
        data = None
        if task.config.get("train") is None and name not in NAMES:
            if name not in self.data:
                self.data[name] = self.ray.put(read_file(name))
            data = self.data[name]
        generator = self.remote.remote(self.function, task, name, data)
        self.live[generator] = (task, tries)


def _first(task: Job | None) -> tuple[Job, int] | None:
    return None if task is None else (task, 0)


def _raised(task: Job, error: Any) -> list[RunEnd]:
    """The ends of a job whose code outside the runs raised (a bug, an unpicklable job)."""
    cause = error.cause if error.cause is not None else error
    why = f"{type(cause).__name__}: {cause}"
    return [RunEnd(id=run, status="failed", error=why, details=str(error)) for run in task.runs]


def _lost(tries: int, error: object) -> str:
    times = "once" if tries == 0 else f"{tries + 1} times"
    why = str(error).strip().split("\n", 1)[0] if error is not None else "it ended early"
    return f"its Ray worker died {times} ({why})"


def _stream(function: Work, task: Job, dataset: str, data: Raw | None) -> Iterator[object]:
    """The Ray task: train ``task`` in a thread, yielding each commit as it is sent, then
    the ends of its runs (with the Ray node they ran on)."""
    import ray
    import torch

    torch.set_num_threads(1)
    node = f"{platform.node()}/{ray.get_runtime_context().get_node_id()[:8]}"
    messages: queue.Queue[object] = queue.Queue(maxsize=BACKLOG)

    def send(commit: Commit) -> None:
        messages.put(dataclasses.replace(commit, node=node))

    def work() -> None:
        try:
            if data is None:
                ends = function(task, send)
            else:
                with provided(dataset, data):
                    ends = function(task, send)
            messages.put(_Ends(tuple(end.on(node) for end in ends)))
        except BaseException as error:
            messages.put(_Raised(error))

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    while True:
        message = messages.get()
        if isinstance(message, _Raised):
            raise message.error
        yield message
        if isinstance(message, _Ends):
            break
    thread.join()


@dataclasses.dataclass(frozen=True)
class _Ends:
    """The ends of a job's runs: its stream's last message."""

    ends: tuple[RunEnd, ...]


@dataclasses.dataclass(frozen=True)
class _Raised:
    error: BaseException
