"""The lab's subcommands (compare, find-lr, runs, report); they import torch, others never."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from lrlab.cli import UsageError
from lrlab.cli.commands import check_figure_path
from lrlab.lab.experiment import Experiment, entries_from, read_toml
from lrlab.lab.store import Store, StoreError

_FLAGS = (
    "name",
    "dataset",
    "model",
    "optimizer",
    "lr",
    "momentum",
    "weight_decay",
    "epochs",
    "batch_size",
)
"""Flags that set the experiment key of the same name."""


def run(args: argparse.Namespace) -> int:
    """Dispatch a lab subcommand."""
    try:
        if args.command == "compare":
            return cmd_compare(args)
        if args.command == "runs":
            return cmd_runs(args)
        if args.command == "find-lr":
            return cmd_find_lr(args)
        return cmd_report(args)
    except StoreError as error:
        raise UsageError(str(error)) from None


def experiment_from(args: argparse.Namespace) -> Experiment:
    """The experiment of a ``compare`` command line: the --config file, then the flags."""
    data: dict[str, Any] = {}
    try:
        if args.config is not None:
            data = read_toml(args.config)
        for key in _FLAGS:
            value = getattr(args, key)
            if value is not None:
                data[key] = value
        if args.seeds is not None:
            data["seeds"] = list(range(args.seeds))
        if args.schedule:
            entries = entries_from(args.schedule, per=args.per)
            data["schedules"] = [dataclasses.asdict(e) for e in entries]
        return Experiment.from_mapping(data, source=args.config or "compare")
    except ValueError as error:
        raise UsageError(str(error)) from None


def cmd_compare(args: argparse.Namespace) -> int:
    """Run the experiment, print the ranking and the report's path."""
    from lrlab.lab.compare import check, compare
    from lrlab.lab.report import ranking_text
    from lrlab.lab.runner import InProcess, ProcessPool

    experiment = experiment_from(args)
    try:
        check(experiment)
    except (ValueError, TypeError, OSError, ImportError) as error:
        raise UsageError(str(error)) from None
    lr = None
    if experiment.lr == "auto":
        from lrlab.lab.compare import auto_lr

        try:
            lr = auto_lr(experiment, args.out)
        except ValueError as error:
            print(f"lrlab: failed: {error}", file=sys.stderr)
            return 1
        print(f"lr {lr[0]:.4g}: {lr[1]}", file=sys.stderr)
    executor = ProcessPool(args.jobs) if args.jobs > 1 else InProcess()
    with _progress(quiet=args.quiet) as progress:
        done = compare(experiment, args.out, executor=executor, progress=progress, lr=lr)
    print(ranking_text(done.summary))
    print(f"\nreport: {done.report}")
    for failure in done.failed:
        print(f"{failure['id']}: {failure['error']}", file=sys.stderr)
    return 1 if done.failed else 0


@contextmanager
def _progress(*, quiet: bool) -> Iterator[Any]:
    """A rich progress display on a terminal (stderr); nothing otherwise."""
    if quiet or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    bars = Progress(
        "{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
    )
    tasks: dict[str, Any] = {}

    def update(kind: str, done: int, total: int) -> None:
        if kind not in tasks:
            tasks[kind] = bars.add_task(kind, total=total)
        bars.update(tasks[kind], completed=done, total=total)

    with bars:
        yield update


def cmd_runs(args: argparse.Namespace) -> int:
    """Every run in the store: schedule, seed, status, epochs and accuracy."""
    store = Store(args.directory, create=False)
    try:
        names: dict[str, tuple[str, int]] = {}
        for experiment in reversed(store.experiments()):
            for schedule, seed, run_id in store.members(experiment["id"]):
                names[run_id] = (schedule, seed)
        rows = [["id", "schedule", "seed", "status", "epochs", "val acc %", "time s"]]
        for run in store.runs():
            schedule, seed = names.get(
                run["id"], (run["config"]["schedule"], run["config"]["seed"])
            )
            epochs = store.epochs(run["id"])
            status = run["status"]
            if status == "diverged":
                status += f" at step {run['diverged_at']}"
            rows.append(
                [
                    run["id"],
                    schedule,
                    str(seed),
                    status,
                    f"{run['epochs_done']}/{run['config']['epochs']}",
                    f"{100 * epochs[-1].val_accuracy:.2f}" if epochs else "-",
                    f"{run['seconds']:.1f}" if run["seconds"] is not None else "-",
                ]
            )
    finally:
        store.close()
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """(Re)write the HTML report from the store alone."""
    from lrlab.lab.report import ranking_text, summarise, write_summary

    if not Path(args.directory).is_dir():
        raise UsageError(f"no such directory: {args.directory!r}")
    summary = summarise(args.directory, args.experiment)
    path = write_summary(summary)
    print(ranking_text(summary))
    print(f"\nreport: {path}")
    return 0


def cmd_find_lr(args: argparse.Namespace) -> int:
    """Run the range test for a lab config; print the suggestions (or JSON), draw the plot."""
    import json

    from lrlab.lab.find_lr import find_lr_for
    from lrlab.lab.train import TrainConfig

    if args.output is not None:
        check_figure_path(args.output)
    try:
        config = TrainConfig(
            dataset=args.dataset,
            model=args.model,
            optimizer=args.optimizer,
            momentum=args.momentum,
            weight_decay=args.weight_decay,
            batch_size=args.batch_size,
            seed=args.seed,
        )
        result = find_lr_for(
            config,
            start=args.start,
            end=args.end,
            steps=args.steps,
            mode=args.mode,
            smooth=args.smooth,
            diverge=args.diverge,
            accumulation=args.accumulation,
        )
    except (ValueError, TypeError, OSError) as error:
        raise UsageError(str(error)) from None
    if args.output is not None:
        try:
            result.plot(path=args.output)
        except OSError as error:
            raise UsageError(f"cannot write {args.output!r}: {error.strerror or error}") from None
    if args.json:
        print(json.dumps(result.to_dict(), indent=1))
        return 0
    print(
        f"range test: {config.model} on {config.dataset}, {config.optimizer}, "
        f"{len(result.lrs)} steps from {args.start:g} ({args.mode}); {result.reason}"
    )
    for note in result.notes:
        print(f"note: {note}")
    width = max(len(name) for name in result.suggestions)
    for name, suggestion in result.suggestions.items():
        value = "-" if suggestion.lr is None else f"{suggestion.lr:.3g}"
        print(f"  {name.ljust(width)}  {value.ljust(9)} {suggestion.reason}")
    if result.suggestion is None:
        print("no suggestion: see the reasons above")
    else:
        print(f"suggested lr: {result.suggestion:.3g} (steepest)")
    if args.output is not None:
        print(f"plot: {args.output}")
    return 0
