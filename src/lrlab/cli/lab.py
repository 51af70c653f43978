"""The lab's subcommands (compare, find-lr, runs, report); they import torch, others never."""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from lrlab.cli.usage import UsageError, check_figure_path, output_error
from lrlab.lab.experiment import Execution, Experiment, entries_from, read_toml
from lrlab.lab.store import Store, StoreError, StoreWriteError

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
    "train",
    "rank_by",
    "mode",
    "engine",
    "device",
)
"""Flags that set the experiment key of the same name."""


def run(args: argparse.Namespace) -> int:
    """Dispatch a lab subcommand."""
    try:
        if args.command == "compare":
            return cmd_compare(args)
        if args.command == "tune":
            return cmd_tune(args)
        if args.command == "runs":
            return cmd_runs(args)
        if args.command == "find-lr":
            return cmd_find_lr(args)
        return cmd_report(args)
    except StoreWriteError as error:  # a usable store that failed to take a write
        print(f"lrlab: failed: {error}", file=sys.stderr)
        return 1
    except StoreError as error:
        raise UsageError(str(error)) from None


_EXECUTION_FLAGS = ("executor", "jobs", "address", "checkpoint_dir")
"""Flags that set the `Execution` key of the same name."""


def experiment_from(args: argparse.Namespace) -> Experiment:
    """The experiment of a ``compare`` command line: the --config file, then the flags."""
    return _read(args)[0]


def _read(
    args: argparse.Namespace, data: dict[str, Any] | None = None
) -> tuple[Experiment, Execution]:
    try:
        if data is None:
            data = read_toml(args.config) if args.config is not None else {}
        execution, data = Execution.split(data, source=args.config or args.command)
        given = {key: getattr(args, key) for key in _EXECUTION_FLAGS}
        if args.runtime_env is not None:
            given["runtime_env"] = _runtime_env(args.runtime_env)
        given = {key: value for key, value in given.items() if value is not None}
        if given:
            execution = _with_flags(execution, given)
        for key in _FLAGS:
            value = getattr(args, key)
            if value is not None:
                data[key] = value
        if getattr(args, "seeds", None) is not None:
            data["seeds"] = args.seeds  # a count: validated as the TOML key is
        if args.command == "compare" and args.schedule:
            entries = entries_from(args.schedule, per=args.per)
            data["schedules"] = [dataclasses.asdict(e) for e in entries]
        return Experiment.from_mapping(data, source=args.config or args.command), execution
    except ValueError as error:
        raise UsageError(str(error)) from None


def _with_flags(execution: Execution, given: dict[str, Any]) -> Execution:
    try:
        return dataclasses.replace(execution, **given)
    except (TypeError, ValueError) as error:
        keys = "|".join((*_EXECUTION_FLAGS, "runtime_env"))
        text = re.sub(
            rf"\b({keys})\b",
            lambda key: "--" + key.group(1).replace("_", "-"),
            str(error).removeprefix("execution: "),
        )
        raise ValueError(f"compare: {text}") from None


def _runtime_env(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"--runtime-env must be a JSON object, got {text!r}: {error}") from None
    if not isinstance(value, dict):
        raise ValueError(f"--runtime-env must be a JSON object, got {text!r}")
    return value


def output_directory(text: str) -> Path:
    """``--out``: a directory that exists or can be made (not '', not a file)."""
    if not text.strip():
        raise UsageError("--out must name a directory, got ''")
    path = Path(text)
    for place in (path, *path.parents):
        if place.exists() and not place.is_dir():
            raise UsageError(f"--out {text!r}: {str(place)!r} is not a directory")
    return path


def cmd_compare(args: argparse.Namespace) -> int:
    """Run the experiment, print the ranking and the report's path."""
    out = output_directory(args.out)
    experiment, execution = _read(args)  # usage errors come before torch is imported

    from lrlab.lab.compare import ExperimentError, NoSuggestion, compare, executor_for
    from lrlab.lab.ranking import ranking_text

    try:
        executor = executor_for(execution)
    except ImportError as error:
        raise UsageError(str(error)) from None
    try:
        with _progress(quiet=args.quiet) as progress, _terminate_as_interrupt():
            done = compare(
                experiment,
                out,
                executor=executor,
                progress=progress,
                log=_say,
                checkpoint_dir=execution.checkpoint_dir,
            )
    except ExperimentError as error:
        raise UsageError(str(error)) from None
    except NoSuggestion as error:
        print(f"lrlab: failed: {error}", file=sys.stderr)
        return 1
    skipped = sum(o.skipped for o in done.outcomes)
    resumed = sum(o.resumed_from is not None for o in done.outcomes)
    if skipped or resumed:
        _say(
            f"lrlab: {_runs(skipped)} done already; {_runs(resumed)} resumed from what the "
            "store had"
        )
    print(ranking_text(done.summary))
    print(f"\nreport: {done.report}")
    for failure in done.failed:
        print(f"{failure.id}: {failure.error}", file=sys.stderr)
    if done.failed:
        print(f"lrlab: 'lrlab runs {out} --errors' shows the tracebacks", file=sys.stderr)
    warned = {(schedule, seed) for schedule, seed, _ in done.summary.warnings}
    if warned:
        first = done.summary.warnings[0]
        print(
            f"lrlab: warning: {len(warned)} run{' has' if len(warned) == 1 else 's have'} "
            f"warnings, e.g. "
            f"{first[0]} seed {first[1]}: {first[2]} ('lrlab runs {out}' lists them)",
            file=sys.stderr,
        )
    return 1 if done.failed else 0


def cmd_tune(args: argparse.Namespace) -> int:
    """Search, confirm, print the verdict, the best settings (spec and torch code), the
    report's path."""
    out = output_directory(args.out)
    experiment, execution, search = _tune_inputs(args)  # usage errors before torch loads

    from lrlab.lab.compare import ExperimentError, executor_for
    from lrlab.lab.search import optimizer_code, torch_code
    from lrlab.lab.tune import TuneSettings, tune

    try:
        settings = TuneSettings(
            trials=args.trials,
            search_seeds=tuple(range(args.search_seeds)),
            confirm_seeds=tuple(range(1000, 1000 + args.confirm_seeds)),
            pruner=args.pruner,
            reduction_factor=args.reduction_factor,
            min_epochs=args.min_epochs,
            storage=args.storage,
            study=args.study,
        )
        executor = executor_for(execution)
    except (ValueError, ImportError) as error:
        raise UsageError(str(error)) from None
    try:
        with _progress(quiet=args.quiet) as progress, _terminate_as_interrupt():
            tuned = tune(
                experiment,
                search,
                out,
                settings,
                executor=executor,
                progress=progress,
                log=None if args.quiet else _say,
                checkpoint_dir=execution.checkpoint_dir,
            )
    except ExperimentError as error:
        raise UsageError(str(error)) from None
    states = [t.state for t in tuned.trials]
    print(
        f"study {tuned.study} ({tuned.storage}): {states.count('complete')} trials finished, "
        f"{states.count('pruned')} pruned, {states.count('fail')} failed"
    )
    value = tuned.best.value
    shown = "diverged" if value is None else f"{value:.6g}"  # every finished trial diverged
    print(f"best: trial {tuned.best.number}, {experiment.rank_metric} {shown}")
    if tuned.find_lr is not None:
        suggested, how = tuned.find_lr
        print(
            f"find-lr suggests lr {suggested:.4g} ({how})"
            if suggested is not None
            else f"find-lr suggests no lr ({how})"
        )
    print(f"\n{tuned.confirmation.verdict}\n")
    print(f"tuned spec: {tuned.tuned.spec}")
    print('as TOML:\n[[schedules]]\nname = "tuned"')
    print(f'spec = {json.dumps(tuned.tuned.spec)}\nper = "{tuned.tuned.per}"')
    print("as PyTorch:\n" + torch_code(tuned.code_entry(experiment), **optimizer_code(experiment)))
    print(f"\nreport: {tuned.report}")
    return 0


def _tune_inputs(args: argparse.Namespace) -> tuple[Experiment, Execution, Any]:
    """The experiment, where it trains, and the search, from --config, --preset and the
    flags."""
    from lrlab.lab.search import Search, preset, read_space

    try:
        data = read_toml(args.config) if args.config is not None else {}
    except ValueError as error:
        raise UsageError(str(error)) from None
    space = data.pop("search", None)
    baseline = data.pop("baseline", args.baseline)
    entries = data.pop("schedules", None)
    stand_in = [{"name": "tune", "spec": "constant(value={lr})"}]  # the search replaces it
    experiment, execution = _read(args, {"name": "tune", **data, "schedules": stand_in})
    try:
        if args.preset is not None:
            if args.schedule is not None or space is not None:
                raise ValueError("tune: give --preset, or a schedule with a [search] table")
            found = preset(args.preset, experiment.epochs)
            if baseline is not None:
                found = Search.from_mapping({**found.to_dict(), "baseline": baseline})
            return experiment, execution, found
        schedule: Any = (
            {"spec": args.schedule, "per": args.per} if args.schedule is not None else None
        )
        if schedule is None and isinstance(entries, list) and len(entries) == 1:
            schedule = entries[0]
        if schedule is None:
            raise ValueError(
                "tune: give --preset NAME, or one schedule (--schedule or one [[schedules]] "
                "in --config) with its [search] table"
            )
        read_space(space, source="tune: [search]")
        search = Search.from_mapping(
            {"schedule": schedule, "space": space, "baseline": baseline}, source="tune"
        )
    except ValueError as error:
        raise UsageError(str(error)) from None
    return experiment, execution, search


def _runs(count: int) -> str:
    return f"{count} run{'' if count == 1 else 's'} {'was' if count == 1 else 'were'}"


@contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM stops a compare as Ctrl-C does: workers stopped, exit 130, resumable."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(*_: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _say(message: str) -> None:
    print(message, file=sys.stderr)


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
    """Every run in the store (or one experiment's): a table, or one JSON document."""
    from lrlab.lab.listing import run_views, runs_document, runs_table

    with Store(args.directory, read_only=True) as store:
        views = run_views(store, args.experiment)
    if args.json:
        print(json.dumps(runs_document(views), indent=1, allow_nan=False))
        return 0
    rows = runs_table(views)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    warned = [(view, text) for view in views for text in view.run.warnings]
    if warned:
        print("\nwarnings (the lr the optimizer used disagrees with the schedule):")
        for view, text in warned:
            print(f"  {view.run.id} ({view.schedule}, seed {view.seed}): {text}")
    if args.errors:
        if not any(view.run.status == "failed" for view in views):
            print("\nno failed runs")
        for view in views:
            if view.run.status == "failed" and view.run.error:
                print(f"\n--- {view.run.id} ({view.schedule}, seed {view.seed}) failed:")
                print(view.run.error.rstrip())
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """(Re)write the HTML report from the store alone."""
    from lrlab.lab.ranking import ranking_text
    from lrlab.lab.report import summarise, write_summary

    if not Path(args.directory).is_dir():
        raise UsageError(f"no such directory: {args.directory!r}")
    summary = summarise(args.directory, args.experiment)
    try:
        path = write_summary(summary)
    except OSError as error:
        raise output_error(str(Path(args.directory) / "report.html"), error) from None
    print(ranking_text(summary))
    print(f"\nreport: {path}")
    return 0


def cmd_find_lr(args: argparse.Namespace) -> int:
    """Run the range test for a lab config; print the suggestions (or JSON), draw the plot."""
    from lrlab.lab.config import TrainConfig
    from lrlab.lab.find_lr import find_lr_for
    from lrlab.lab.sweep import FindLRSettings

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
        settings = FindLRSettings(
            start=args.start,
            end=args.end,
            steps=args.steps,
            mode=args.mode,
            smooth=args.smooth,
            diverge=args.diverge,
            accumulation=args.accumulation,
        )
        result = find_lr_for(config, settings)
    except (ValueError, TypeError, OSError) as error:
        raise UsageError(str(error)) from None
    if args.output is not None:
        try:
            result.plot(path=args.output)
        except OSError as error:
            raise output_error(args.output, error) from None
    if args.json:
        print(json.dumps(result.to_dict(), indent=1, allow_nan=False))
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
