"""The subcommands. Library errors about the input become `UsageError` (exit 2)."""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import json
import sys
import textwrap
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np

from lrlab.cli.usage import (
    PATH_SHORT,
    UsageError,
    abbreviate,
    check_figure_path,
    check_output_path,
    output_error,
)
from lrlab.schedules import Schedule, families, summarize, torch_names
from lrlab.schedules.namespaces import NAMESPACES
from lrlab.schedules.namespaces import names as namespaced
from lrlab.spec import SpecError, parse

CHUNK = 1 << 16
SHOWN_MARKS = 12
"""Marks `show` prints (it says how many there are in all)."""


def run(args: argparse.Namespace) -> int:
    """Dispatch to the subcommand; returns the exit code."""
    handlers: dict[str, Callable[[argparse.Namespace], int]] = {
        "list": cmd_list,
        "show": cmd_show,
        "plot": cmd_plot,
        "values": cmd_values,
    }
    if args.command not in handlers:
        from lrlab.cli import lab

        return lab.run(args)
    return handlers[args.command](args)


def read_spec(text: str) -> Schedule:
    """Parse a spec given on the command line; a bad one is a usage error."""
    try:
        schedule = parse(text)
    except SpecError as error:
        raise UsageError(f"{abbreviate(str(error), 200)} in {abbreviate(text)!r}") from None
    if schedule.metric_driven:
        raise UsageError(
            f"{abbreviate(text)!r} has a metric-driven plateau phase: its values depend on "
            "the metric, so there is no curve to compute without one"
        )
    return schedule


def _signature(name: str, target: Callable[..., Any]) -> str:
    parts = []
    if isinstance(target, type) and dataclasses.is_dataclass(target):
        for field in dataclasses.fields(target):
            if field.default is dataclasses.MISSING:
                parts.append(field.name)
            else:
                parts.append(f"{field.name}={field.default!r}")
    else:
        for parameter in inspect.signature(target).parameters.values():
            if parameter.default is inspect.Parameter.empty:
                parts.append(parameter.name)
            else:
                parts.append(f"{parameter.name}={parameter.default!r}")
    return f"{name}({', '.join(parts)})"


def _summary(target: Callable[..., Any]) -> str:
    doc = inspect.getdoc(target) or ""
    return doc.splitlines()[0].replace("``", "") if doc else ""


def cmd_list(args: argparse.Namespace) -> int:
    """Every family and torch name, with parameters, defaults and one line; the prefixed
    names of other libraries."""
    del args
    print("lrlab schedules (learning rates are absolute; durations count scheduler steps):")
    for name, cls in families().items():
        print(f"  {_signature(name, cls)}")
        print(f"      {_summary(cls)}")
    print("\ntorch names (torch's parameters; lr is the param group's initial lr):")
    for name in torch_names.__all__:
        target = getattr(torch_names, name)
        print(f"  {_signature(name, target)}")
        print(f"      {_summary(target)}")
    print("\nother libraries' names (their own keywords; see docs/ecosystem.md):")
    for prefix in NAMESPACES:
        group = ", ".join(n for n in namespaced() if n.startswith(f"{prefix}."))
        print(textwrap.fill(group, width=88, initial_indent="  ", subsequent_indent="  "))
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    """Canonical form and summary numbers (`lrlab.schedules.summarize`), printed."""
    schedule = read_spec(args.spec)
    steps = args.steps or schedule.length
    if steps is not None and steps > 2**52:
        raise UsageError(
            f"{abbreviate(args.spec)!r} lasts {steps} steps; give --steps (at most 2**52)"
        )
    summary = summarize(schedule, steps)
    approx = "" if summary.exact else "≈ "
    shown = ", ".join(f"{m:g}" for m in summary.marks[:SHOWN_MARKS])
    if summary.mark_count > SHOWN_MARKS:
        shown += f", ... ({summary.mark_count} in all)"
    rows = [
        ("spec", summary.spec),
        ("steps", f"{summary.steps} (t = 0 .. {summary.steps - 1})"),
        ("first", f"{summary.first:.6g}"),
        ("last", f"{summary.last:.6g}"),
        ("min", f"{approx}{summary.min:.6g} at t = {summary.argmin}"),
        ("max", f"{approx}{summary.max:.6g} at t = {summary.argmax}"),
        ("mean", f"{approx}{summary.mean:.6g}"),
        ("marks", shown or "none"),
    ]
    if not summary.exact:
        rows.append(("note", "≈: from sampled steps (both ends, the marks, evenly spread)"))
    for key, value in rows:
        print(f"{key:<6} {value}")
    return 0


def cmd_plot(args: argparse.Namespace) -> int:
    """A figure file, or a plot in the terminal."""
    from lrlab import plot

    schedules = [read_spec(text) for text in args.specs]
    if args.output is not None and not args.terminal:
        check_figure_path(args.output)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # layout advice (a very long title): no error
                plot.plot_lr(
                    schedules,
                    steps=args.steps,
                    steps_per_epoch=args.steps_per_epoch,
                    log=args.log,
                    title=args.title,
                    save=args.output,
                )
        except OSError as error:
            raise output_error(args.output, error) from None
        print(f"wrote {args.output}")
        return 0
    data = plot.curves(schedules, args.steps)
    print(plot.terminal_plot(data, log=args.log, color=sys.stdout.isatty()))
    return 0


def _step_chunks(steps: int, every: int) -> Iterator[range]:
    per = CHUNK * every
    for start in range(0, steps, per):
        yield range(start, min(start + per, steps), every)


def _chunks(schedule: Schedule, steps: int, every: int) -> Iterator[tuple[range, np.ndarray]]:
    for rows in _step_chunks(steps, every):
        yield rows, schedule(np.arange(rows.start, rows.stop, rows.step, dtype=np.float64))


def _write_joined(out: IO[str], pieces: Iterator[str]) -> None:
    for i, piece in enumerate(pieces):
        out.write((", " if i else "") + piece)


def cmd_values(args: argparse.Namespace) -> int:
    """Stream the learning rates in chunks: memory stays constant for any --steps."""
    schedule = read_spec(args.spec)
    if args.output is not None:
        check_output_path(args.output)
    fmt = args.format
    if fmt is None:
        suffix = Path(args.output).suffix.lower().lstrip(".") if args.output else "csv"
        if suffix not in ("csv", "json", "npy"):
            raise UsageError(
                f"cannot tell the format of {abbreviate(args.output, PATH_SHORT)!r}: "
                "give --format csv|json|npy"
            )
        fmt = suffix
    if args.output is None:
        _write_values(sys.stdout.buffer if fmt == "npy" else sys.stdout, schedule, args, fmt)
        return 0
    try:
        with open(
            args.output, "wb" if fmt == "npy" else "w", encoding=None if fmt == "npy" else "utf-8"
        ) as out:
            _write_values(out, schedule, args, fmt)
    except OSError as error:
        raise output_error(args.output, error) from None
    return 0


def _write_values(out: IO[Any], schedule: Schedule, args: argparse.Namespace, fmt: str) -> None:
    """The values in ``fmt``; every value is finite (schedules promise it), so JSON is valid."""
    if fmt == "npy":
        count = len(range(0, args.steps, args.every))
        header = {"descr": "<f8", "fortran_order": False, "shape": (count,)}
        np.lib.format.write_array_header_1_0(out, header)
        for _, lrs in _chunks(schedule, args.steps, args.every):
            out.write(lrs.astype("<f8").tobytes())
    elif fmt == "csv":
        out.write("step,lr\n")
        for rows, lrs in _chunks(schedule, args.steps, args.every):
            out.write("".join(f"{t},{v!r}\n" for t, v in zip(rows, lrs.tolist(), strict=True)))
    else:
        out.write(f'{{"spec": {json.dumps(repr(schedule))}, "every": {args.every}, "step": [')
        _write_joined(
            out, (", ".join(map(str, rows)) for rows in _step_chunks(args.steps, args.every))
        )
        out.write('], "lr": [')
        _write_joined(
            out,
            (
                ", ".join(map(repr, lrs.tolist()))
                for _, lrs in _chunks(schedule, args.steps, args.every)
            ),
        )
        out.write("]}\n")
