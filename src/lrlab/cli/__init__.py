"""The ``lrlab`` command line: list, show, plot, values, compare, tune, find-lr, runs, report,
serve, export.

Thin: it parses arguments, calls the library and maps failures to exit codes
(0 ok, 1 the work failed, 2 bad usage or input: one line on stderr, no traceback).
Only argparse is imported at start-up; numpy comes with the first command that needs it,
matplotlib only for ``plot -o``; torch only for the lab's commands.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from lrlab import __version__
from lrlab.cli.usage import PROG, Parser, UsageError, WriteFailed
from lrlab.cli.usage import positive_int as _positive_int
from lrlab.lab.records import MAX_JOBS

__all__ = ["PROG", "UsageError", "build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = Parser(
        prog=PROG,
        description="See, check, export and compare learning-rate schedules.",
        epilog="A SPEC is a schedule call such as 'cosine(init=0.1, steps=1000, end=1e-5)' "
        "or 'StepLR(lr=0.1, step_size=30, gamma=0.5)'; see 'lrlab list'.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    commands.required = True

    commands.add_parser("list", help="every schedule with its parameters and defaults")

    show = commands.add_parser("show", help="canonical form and summary numbers of a SPEC")
    show.add_argument("spec", metavar="SPEC")
    show.add_argument(
        "--steps",
        type=_positive_int,
        help="steps to summarise (default: the schedule's length, else 1000)",
    )

    plot = commands.add_parser("plot", help="draw one or more SPECs (file or terminal)")
    plot.add_argument("specs", metavar="SPEC", nargs="+")
    plot.add_argument("--steps", type=_positive_int, required=True, help="steps to draw")
    plot.add_argument("--steps-per-epoch", type=_positive_int, help="draw the x axis in epochs")
    plot.add_argument("--log", action="store_true", help="log-scale y axis")
    plot.add_argument("--title", help="figure title")
    plot.add_argument("-o", "--output", help="write a .png, .svg or .pdf file")
    plot.add_argument(
        "--terminal", action="store_true", help="draw in the terminal (the default without -o)"
    )

    values = commands.add_parser(
        "values", help="the learning rate at every step, as CSV, JSON or .npy"
    )
    values.add_argument("spec", metavar="SPEC")
    values.add_argument("--steps", type=_positive_int, required=True, help="number of steps")
    values.add_argument("--every", type=_positive_int, default=1, help="keep every K-th step")
    values.add_argument(
        "--format",
        choices=("csv", "json", "npy"),
        help="output format (default: from -o's extension, else csv)",
    )
    values.add_argument("-o", "--output", help="output file (default: standard output)")
    _lab_parsers(commands)
    from lrlab.cli.serve import add_parser as add_serve  # loads the standard library only

    add_serve(commands)
    from lrlab.cli.export import add_parser as add_export  # loads the standard library only

    add_export(commands)
    return parser


def _lr(text: str) -> float | str:
    if text == "auto":
        return text
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or 'auto', got {text!r}") from None


def _lab_parsers(commands: argparse._SubParsersAction[Parser]) -> None:
    compare = commands.add_parser(
        "compare",
        help="train a model under several schedules and seeds; store, rank and report",
        description="Train one model under each schedule and seed, keep every number in "
        "OUT/lrlab.sqlite, and write OUT/report.html. Running it again skips finished runs "
        "and resumes interrupted ones. Flags override the --config file.",
    )
    compare.add_argument("--seeds", type=_positive_int, help="number of seeds (0..N-1)")
    compare.add_argument(
        "--schedule",
        action="append",
        metavar="[NAME=]SPEC",
        help="a schedule to compare (repeat it); placeholders {lr} {epochs} {steps} "
        "{steps_per_epoch}; default: the tutorials' ten",
    )
    compare.add_argument(
        "--per",
        choices=("epoch", "batch"),
        default="epoch",
        help="when --schedule SPECs step (default: epoch)",
    )
    _experiment_arguments(compare)

    tune = commands.add_parser(
        "tune",
        help="search one schedule's parameters (Optuna), then confirm on fresh seeds",
        description="Search a schedule's parameters with Optuna (TPE, Hyperband pruning), "
        "each trial trained by the lab into OUT/search; then train the best settings and "
        "the untuned baseline on fresh seeds and test the difference (OUT/confirm). "
        "Writes OUT/tune.html. Running it again continues the study (see docs/tune.md).",
    )
    tune.add_argument(
        "--preset",
        metavar="NAME",
        help="a ready-made search (its schedule, space and untuned baseline): plateau, "
        "onecycle, warmup-cosine, step, or lr (the initial lr alone)",
    )
    tune.add_argument(
        "--schedule",
        metavar="[NAME=]SPEC",
        help="the schedule to search, its parameters as placeholders, e.g. "
        "'StepLR(lr={lr}, step_size=5, gamma={gamma})' (their ranges: the --config's "
        "[search] table)",
    )
    tune.add_argument(
        "--per", choices=("epoch", "batch"), default="epoch", help="when --schedule steps"
    )
    tune.add_argument("--baseline", metavar="SPEC", help="the untuned schedule to confirm against")
    tune.add_argument("--trials", type=_positive_int, default=30, help="trials (default 30)")
    tune.add_argument(
        "--search-seeds", type=_positive_int, default=1, help="seeds per trial (default 1)"
    )
    tune.add_argument(
        "--confirm-seeds",
        type=_positive_int,
        default=5,
        help="fresh seeds of the confirmation, from 1000 (default 5)",
    )
    tune.add_argument(
        "--pruner",
        choices=("halving", "hyperband", "none"),
        default="halving",
        help="how trials that fall behind stop early: successive halving (default), "
        "Hyperband, or none (every trial to its last epoch)",
    )
    tune.add_argument(
        "--reduction-factor",
        type=_positive_int,
        default=2,
        help="each rung of the pruner keeps about 1 trial in this many (default 2)",
    )
    tune.add_argument(
        "--min-epochs",
        type=_positive_int,
        help="no trial is pruned before this many epochs (default: a tenth of --epochs)",
    )
    tune.add_argument(
        "--storage",
        metavar="URL",
        help="the study's Optuna storage, e.g. postgresql://user@host/db, shared by many "
        "tune processes (default: OUT/study.db)",
    )
    tune.add_argument("--study", help="the study's name (default: from the search)")
    _experiment_arguments(tune)

    find = commands.add_parser(
        "find-lr",
        help="LR range test: suggest an initial learning rate for a model and optimizer",
        description="Raise the lr every step from --start to --end, watch the loss, and "
        "suggest an lr by three methods (see docs/find-lr.md). Model, data and optimizer "
        "are built as 'lrlab compare' builds them.",
    )
    find.add_argument("--dataset", default="digits", help="digits, synthetic, or a .npz/.csv")
    find.add_argument("--model", default="mlp-bn", help="mlp-bn, mlp, cnn or module:factory")
    find.add_argument("--optimizer", choices=("sgd", "adam", "adamw"), default="sgd")
    find.add_argument("--momentum", type=float, default=0.9, help="SGD momentum")
    find.add_argument("--weight-decay", type=float, default=0.0)
    find.add_argument("--batch-size", type=_positive_int, default=64)
    find.add_argument("--seed", type=int, default=0)
    from lrlab.lab.sweep import MODES, FindLRSettings  # loads neither numpy nor torch

    for name, kind, what in (  # the defaults live in FindLRSettings, once
        ("start", float, "first lr"),
        ("end", float, "last lr"),
        ("steps", int, "optimizer steps"),
        ("smooth", float, "loss smoothing in [0, 1)"),
        ("diverge", float, "stop at this x best loss"),
        ("accumulation", _positive_int, "batches per step"),
    ):
        default = getattr(FindLRSettings, name)
        find.add_argument(
            f"--{name}", type=kind, default=default, help=f"{what} (default %(default)g)"
        )
    find.add_argument(
        "--mode",
        choices=MODES,
        default=FindLRSettings.mode,
        help="how the lr rises (default %(default)s)",
    )
    find.add_argument("-o", "--output", help="write the plot (.png, .svg or .pdf)")
    find.add_argument("--json", action="store_true", help="print the result as JSON")

    runs = commands.add_parser("runs", help="list the runs in an output directory")
    runs.add_argument("directory", metavar="DIR")
    runs.add_argument("--experiment", help="only this experiment's runs (an id or its prefix)")
    runs.add_argument("--json", action="store_true", help="print every run as one JSON document")
    runs.add_argument(
        "--errors",
        action="store_true",
        help="after the table, each failed run's error with its traceback",
    )

    report = commands.add_parser("report", help="write DIR/report.html from the store")
    report.add_argument("directory", metavar="DIR")
    report.add_argument("--experiment", help="experiment id (default: the latest run)")


def _experiment_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags ``compare`` and ``tune`` share: the experiment's keys, where it trains."""
    parser.add_argument("--config", help="a TOML experiment file (see docs/lab.md)")
    parser.add_argument("--name", help="experiment name (default: compare)")
    parser.add_argument(
        "--train",
        metavar="MODULE:FUNCTION",
        help="your own training function train(run) (see docs/own-training.md); the "
        "dataset, model, optimizer and batch-size settings then do not apply",
    )
    parser.add_argument(
        "--rank-by",
        metavar="METRIC",
        help="the reported metric that ranks the schedules (default: val_accuracy, or "
        "val_loss with --train)",
    )
    parser.add_argument(
        "--mode",
        choices=("min", "max"),
        help="whether a smaller or larger --rank-by is better (default: from its name)",
    )
    parser.add_argument("--dataset", help="digits, synthetic, or a .npz/.csv file")
    parser.add_argument("--model", help="mlp-bn, mlp, cnn or package.module:factory")
    parser.add_argument("--optimizer", choices=("sgd", "adam", "adamw"))
    parser.add_argument("--lr", type=_lr, help="initial learning rate, or 'auto' (range test)")
    parser.add_argument("--momentum", type=float, help="SGD momentum")
    parser.add_argument("--weight-decay", type=float)
    parser.add_argument("--epochs", type=_positive_int)
    parser.add_argument("--batch-size", type=_positive_int)
    parser.add_argument(
        "--engine",
        choices=("auto", "batched", "sequential"),
        help="batched: a seed's runs, one model per schedule, train together in one pass; "
        "sequential: one run after another (default auto: batched for the built-in models)",
    )
    parser.add_argument(
        "--device", help="where the built-in trainer trains: cpu (default), cuda or cuda:N"
    )
    parser.add_argument("--out", required=True, help="output directory (stores and reports)")
    parser.add_argument(
        "--jobs",
        type=_jobs,
        help=f"runs at once: worker processes, or a local Ray instance's CPUs (at most "
        f"{MAX_JOBS}; default 1)",
    )
    parser.add_argument(
        "--executor",
        choices=("inprocess", "processes", "ray"),
        help="where runs train (default: processes with --jobs > 1, else inprocess); ray: "
        "see docs/cluster.md",
    )
    parser.add_argument(
        "--address",
        help="with --executor ray: the cluster, 'auto' or HOST:PORT (default: a local Ray "
        "instance of --jobs CPUs, started and stopped by lrlab)",
    )
    parser.add_argument(
        "--checkpoint-dir",
        metavar="URI",
        help="storage every worker reaches (a path, or an fsspec URL such as s3://...): "
        "checkpoints go there, and the store keeps references",
    )
    parser.add_argument(
        "--runtime-env",
        metavar="JSON",
        help='with --executor ray: Ray\'s runtime environment, e.g. \'{"working_dir": "."}\'',
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def _jobs(text: str) -> int:
    jobs = _positive_int(text)
    if jobs > MAX_JOBS:
        raise argparse.ArgumentTypeError(f"expected at most {MAX_JOBS} workers, got {text!r}")
    return jobs


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 ok, 1 failed, 2 bad usage/input)."""
    try:
        args = build_parser().parse_args(argv)
        if args.command == "serve":
            from lrlab.cli import serve

            return serve.run(args)
        if args.command == "export":
            from lrlab.cli import export

            return export.run(args)
        from lrlab.cli import commands

        return commands.run(args)
    except UsageError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 2
    except WriteFailed as error:
        print(f"{PROG}: failed: {error}", file=sys.stderr)
        return 1
    except SystemExit as done:  # --help and --version print and exit 0 through argparse
        if done.code is None or isinstance(done.code, int):
            return done.code or 0
        print(f"{PROG}: failed: {done.code}", file=sys.stderr)  # sys.exit("message")
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted; run the same command again to resume", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader stopped early (`lrlab values ... | head`): fine
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # no second error when Python flushes stdout
        return 0
    except Exception as error:
        print(f"{PROG}: failed: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
