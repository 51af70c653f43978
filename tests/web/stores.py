"""Stores written by hand for the web tests (nothing trained, no torch), and `serving`."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from lrlab.lab.experiment import Experiment, ScheduleEntry
from lrlab.lab.records import Epoch, ExperimentRecord, Member, Outcome
from lrlab.lab.store import Store

SCHEDULES = (
    ScheduleEntry(name="flat", spec="constant(value={lr})"),
    ScheduleEntry(name="cos", spec="cosine(init={lr}, steps={epochs})"),
)


def record_of(
    experiment: Experiment,
    *,
    lr: float = 0.05,
    lr_source: str = "given",
    created: float = 1.0,
    updated: float = 2.0,
) -> ExperimentRecord:
    """The store's record of ``experiment``, as `compare` would add it."""
    return ExperimentRecord(
        id=experiment.id,
        name=experiment.name,
        config=experiment.to_dict(),
        lr=lr,
        lr_source=lr_source,
        versions={"python": "3"},
        created=created,
        updated=updated,
    )


def write_experiment(
    directory: Path, *, seeds: int = 3, epochs: int = 3, done: int | None = None
) -> tuple[Experiment, list[Member]]:
    """An experiment of `SCHEDULES` over ``seeds`` seeds; each run gets its first ``done``
    epochs (default all, and then it is finished; fewer leave it running)."""
    experiment = Experiment(
        epochs=epochs, seeds=tuple(range(seeds)), schedules=SCHEDULES, name="hand-made"
    )
    members = [
        Member(experiment=experiment.id, schedule=e.name, seed=s, run=f"{e.name}-{s}")
        for s in experiment.seeds
        for e in experiment.schedules
    ]
    record = record_of(experiment)
    with Store(directory) as store:
        store.add_experiment(record, [(m, {"seed": m.seed, "epochs": epochs}) for m in members])
    for member in members:
        for k in range(epochs if done is None else done):
            commit_epoch(directory, member, k)
        if done is None:
            with Store(directory) as store:
                store.finish(
                    member.run,
                    Outcome(
                        status="finished",
                        steps_per_epoch=4,
                        lrs=tuple((4 * k, 0.05 / (k + 1)) for k in range(epochs)),
                        final={"test_accuracy": 0.8},
                    ),
                )
    with Store(directory) as store:
        store.settle()
    return experiment, members


def accuracy(member: Member, epoch: int) -> float:
    """The made-up validation accuracy of a run at an epoch (flat leads cos by about 5
    points, a little more on each seed: beyond seed noise)."""
    lead = 0.05 + 0.004 * member.seed**2 if member.schedule == "flat" else 0.0
    return 0.5 + 0.1 * epoch + lead + 0.01 * member.seed * (1 + epoch)


def commit_epoch(directory: Path, member: Member, epoch: int) -> None:
    """Commit one epoch of a run, as a comparison's driver does."""
    acc = accuracy(member, epoch)
    metrics = {"train_loss": 1.0 - acc, "val_loss": 1.1 - acc, "val_accuracy": acc}
    with Store(directory) as store:
        store.save_epochs(
            member.run, [Epoch(epoch=epoch, lr=0.05, seconds=0.25, metrics=metrics)], b""
        )


@contextmanager
def serving(*argv: str) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """``lrlab serve ARGV --port 0`` in a process; yields its URL (from its first line)."""
    with subprocess.Popen(
        [sys.executable, "-m", "lrlab", "serve", *argv, "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        try:
            assert process.stdout is not None
            line = process.stdout.readline()
            assert " at http://" in line, line + (process.stderr.read() if process.stderr else "")
            yield line.split(" at ")[1].split()[0], process
        finally:
            process.terminate()
            process.wait(timeout=30)
