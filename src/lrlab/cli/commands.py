"""The subcommands. Library errors about the input become `UsageError` (exit 2)."""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import json
import math
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import numpy as np

from lrlab.cli import UsageError
from lrlab.schedules import Schedule, families, torch_names
from lrlab.spec import SpecError, parse

CHUNK = 1 << 16
DEFAULT_STEPS = 1000


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
        raise UsageError(f"{error} in {text!r}") from None
    if schedule.metric_driven:
        raise UsageError(
            f"{text!r} has a metric-driven plateau phase: its values depend on the "
            "metric, so there is no curve to compute without one"
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
    """Every family and torch name, with parameters, defaults and one line."""
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
    return 0


def natural_length(schedule: Schedule) -> int | None:
    """How many steps a schedule naturally lasts, when it says (``steps`` and phases)."""
    from lrlab.schedules import join, warmup

    if isinstance(schedule, join):
        last = natural_length(schedule.phases[-1])
        return None if last is None else schedule.at[-1] + last if schedule.at else last
    if isinstance(schedule, warmup):
        inner = natural_length(schedule.inner)
        if inner is None:
            return None
        return schedule.steps + inner if schedule.mode == "prefix" else max(schedule.steps, inner)
    steps = getattr(schedule, "steps", None)
    if isinstance(steps, int):
        return steps
    lengths = [natural_length(child) for child in schedule._children()]
    if not lengths or None in lengths:
        return None
    return max(n for n in lengths if n is not None)


def cmd_show(args: argparse.Namespace) -> int:
    """Canonical form and summary numbers, computed in chunks (any number of steps)."""
    schedule = read_spec(args.spec)
    steps = args.steps or natural_length(schedule) or DEFAULT_STEPS
    if steps > 2**52:
        raise UsageError(f"{args.spec!r} lasts {steps} steps; give --steps (at most 2**52)")
    low, high = (math.inf, 0), (-math.inf, 0)
    total = 0.0
    first = last = 0.0
    for rows, lrs in _chunks(schedule, steps, 1):
        if rows.start == 0:
            first = float(lrs[0])
        last = float(lrs[-1])
        total += float(lrs.sum())
        i, j = int(lrs.argmin()), int(lrs.argmax())
        low = min(low, (float(lrs[i]), rows.start + i))
        high = max(high, (float(lrs[j]), -(rows.start + j)))
    marks = schedule.marks(steps)
    shown = ", ".join(f"{m:g}" for m in marks[:12]) + (", ..." if len(marks) > 12 else "")
    rows_out = [
        ("spec", repr(schedule)),
        ("steps", f"{steps} (t = 0 .. {steps - 1})"),
        ("first", f"{first:.6g}"),
        ("last", f"{last:.6g}"),
        ("min", f"{low[0]:.6g} at t = {low[1]}"),
        ("max", f"{high[0]:.6g} at t = {-high[1]}"),
        ("mean", f"{total / steps:.6g}"),
        ("marks", f"{shown or 'none'}"),
    ]
    for key, value in rows_out:
        print(f"{key:<6} {value}")
    return 0


def check_figure_path(path: str) -> None:
    """A figure file must end in .png, .svg or .pdf (matplotlib picks the format by it)."""
    from lrlab.plot import FORMATS

    if Path(path).suffix.lower().lstrip(".") not in FORMATS:
        raise UsageError(f"cannot tell the format of {path!r}: use .png, .svg or .pdf")


def cmd_plot(args: argparse.Namespace) -> int:
    """A figure file, or a plot in the terminal."""
    from lrlab import plot

    schedules = [read_spec(text) for text in args.specs]
    if args.output and not args.terminal:
        check_figure_path(args.output)
        try:
            plot.plot_lr(
                schedules,
                steps=args.steps,
                steps_per_epoch=args.steps_per_epoch,
                log=args.log,
                title=args.title,
                save=args.output,
            )
        except OSError as error:
            raise UsageError(f"cannot write {args.output!r}: {error.strerror or error}") from None
        print(f"wrote {args.output}")
        return 0
    data = plot.curves(schedules, args.steps)
    print(plot.terminal_plot(data, log=args.log, color=sys.stdout.isatty()))
    return 0


@contextmanager
def _output(path: str | None, binary: bool) -> Iterator[IO[Any]]:
    if path is None:
        yield sys.stdout.buffer if binary else sys.stdout
        return
    try:
        handle = open(path, "wb" if binary else "w", encoding=None if binary else "utf-8")  # noqa: SIM115
    except OSError as error:
        raise UsageError(f"cannot write {path!r}: {error.strerror or error}") from None
    with handle:
        yield handle


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
    fmt = args.format
    if fmt is None:
        suffix = Path(args.output).suffix.lower().lstrip(".") if args.output else "csv"
        if suffix not in ("csv", "json", "npy"):
            raise UsageError(
                f"cannot tell the format of {args.output!r}: give --format csv|json|npy"
            )
        fmt = suffix
    count = len(range(0, args.steps, args.every))
    with _output(args.output, binary=fmt == "npy") as out:
        if fmt == "npy":
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
    return 0
