"""``lrlab export DIR --to tensorboard LOGDIR | mlflow [URI]``: a store's runs elsewhere.

Light at import (argparse and the standard library): ``lrlab --help`` loads nothing
else. The export reads the store with the records layer (no torch); tensorboardX or
mlflow are imported when it runs, and without them the command says which ``pip
install`` to run (exit 2).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from lrlab.cli.usage import PATH_SHORT, Parser, UsageError, abbreviate

TARGETS = ("tensorboard", "mlflow")


def add_parser(commands: argparse._SubParsersAction[Parser]) -> None:
    """Add ``export`` to the subcommands."""
    export = commands.add_parser(
        "export",
        help="write a store's runs to TensorBoard event files or to MLflow",
        description="Write every run of the store in DIR (read-only) to TensorBoard event "
        "files under LOGDIR (--to tensorboard LOGDIR; needs pip install "
        "'lrlab[tensorboard]') or to MLflow runs (--to mlflow [URI], default "
        "sqlite:///DIR/mlflow.db; needs pip install 'lrlab[mlflow]'): metrics by epoch, "
        "the lr by step, the config as hyperparameters. Exporting again replaces what "
        "changed and duplicates nothing (see docs/ecosystem.md).",
    )
    export.add_argument("directory", metavar="DIR", help="the output directory of a comparison")
    export.add_argument(
        "--to",
        nargs="+",
        required=True,
        metavar=("TARGET", "WHERE"),
        help="tensorboard LOGDIR, or mlflow [URI]",
    )
    export.add_argument("--experiment", help="only this experiment (an id or its prefix)")


def _target(values: list[str]) -> tuple[str, str | None]:
    target, *where = values
    if target not in TARGETS:
        raise UsageError(f"--to: expected tensorboard or mlflow, got {abbreviate(target)!r}")
    if target == "tensorboard" and len(where) != 1:
        raise UsageError("--to tensorboard takes one LOGDIR: --to tensorboard LOGDIR")
    if len(where) > 1:
        raise UsageError("--to mlflow takes at most one URI: --to mlflow [URI]")
    return target, where[0] if where else None


def run(args: argparse.Namespace) -> int:
    """Export; print what went where and how to open it."""
    target, where = _target(args.to)
    if not Path(args.directory).is_dir():
        raise UsageError(f"DIR: no such directory: {abbreviate(args.directory, PATH_SHORT)!r}")
    from lrlab.lab.export import ExportError, default_uri, to_mlflow, to_tensorboard
    from lrlab.lab.store import StoreError

    try:
        if target == "tensorboard":
            assert where is not None
            exported = to_tensorboard(args.directory, where, experiment=args.experiment)
            shown, opener = repr(where), f"tensorboard --logdir {where}"
        else:
            uri = default_uri(args.directory) if where is None else where
            if uri.startswith(("http://", "https://")):  # a server that is not there: fail fast
                os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
                os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "20")
            exported = to_mlflow(args.directory, uri, experiment=args.experiment)
            shown, opener = uri, f"mlflow ui --backend-store-uri {uri}"
    except (ExportError, StoreError) as error:
        raise UsageError(str(error)) from None
    experiments = len({e.experiment for e in exported})
    counts = {
        action: sum(e.action == action for e in exported)
        for action in ("new", "replaced", "unchanged")
    }
    how = ", ".join(f"{n} {action}" for action, n in counts.items() if n)
    print(
        f"{target}: {len(exported)} run{'s' * (len(exported) != 1)} of {experiments} "
        f"experiment{'s' * (experiments != 1)} in {shown} ({how or 'none'})"
    )
    print(f"open it with: {opener}")
    return 0
