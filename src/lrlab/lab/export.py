"""Export a store's runs to TensorBoard event files or to MLflow runs.

Reads the store only (`Store(read_only=True)`, no torch). ``tensorboardX`` (the
``tensorboard`` extra) and ``mlflow`` (the ``mlflow`` extra) are imported when an export
runs; without them the export is an `ExportError` naming the ``pip install`` to run.

Every experiment of the store is exported (or the one ``experiment`` names), each under
`target_name`: the experiment's name and the first 8 digits of its id, so two
experiments of one name (``compare`` is the default) never mix. Each of its runs (a
schedule and a seed) gets:

- its per-epoch metrics, step = the epoch (0 is the first);
- ``lr``: the store's sampled learning rates, step = the optimizer step;
- the run's config as hyperparameters (TensorBoard) or params (MLflow), and its final
  metrics (the last epoch's, and the run's own such as ``test_accuracy``).

>>> target_name("hand made/1", "0123456789abcdef")
'hand_made_1-01234567'
>>> flatten({"lr": 0.1, "optimizer": {"name": "sgd", "betas": [0.9, 0.99]}})
{'lr': 0.1, 'optimizer.name': 'sgd', 'optimizer.betas': '[0.9, 0.99]'}
>>> param_text(True), param_text(0.1), param_text("cosine(init={lr})")
('true', '0.1', 'cosine(init={lr})')
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import sys
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from lrlab.lab.records import Epoch, ExperimentRecord, Member, RunRecord, stable_id
from lrlab.lab.store import FILENAME, Store

TENSORBOARD_INSTALL = "pip install 'lrlab[tensorboard]'"
MLFLOW_INSTALL = "pip install 'lrlab[mlflow]'"
MLFLOW_FILE = "mlflow.db"
"""The default MLflow tracking database, beside the store: ``sqlite:///DIR/mlflow.db``."""
SCHEMES = ("sqlite", "postgresql", "mysql", "mssql", "http", "https")
"""The MLflow tracking URIs an export accepts (a database, or a tracking server)."""
TAG = "lrlab"
"""The prefix of the tags an MLflow run gets (``lrlab.run_id``, ``lrlab.schedule``, ...)."""
_BATCH = 1000
"""MLflow's most values in one ``log_batch``."""
_PARAMS = 100
"""MLflow's most params in one ``log_batch``."""

Action = Literal["new", "replaced", "unchanged"]


class ExportError(Exception):
    """The export cannot be done: a missing extra, a target that cannot be written, a bad URI."""


@dataclass(frozen=True, kw_only=True)
class Exported:
    """One run as it was exported."""

    experiment: str
    """The lab experiment's id."""
    name: str
    """Where its experiment went: the TensorBoard folder, the MLflow experiment (`target_name`)."""
    schedule: str
    seed: int
    run: str
    """The lab run's id."""
    target: str
    """TensorBoard: the run's folder; MLflow: the MLflow run's id."""
    action: Action
    """``new``; ``replaced`` (an earlier export of it was replaced); ``unchanged`` (MLflow:
    an earlier export holds the same records, nothing written)."""


@dataclass(frozen=True, kw_only=True)
class _Item:
    experiment: ExperimentRecord
    member: Member
    run: RunRecord
    epochs: tuple[Epoch, ...]
    lrs: tuple[tuple[int, float], ...]

    @property
    def final(self) -> dict[str, float]:
        """The last epoch's metrics and the run's own final results."""
        last = dict(self.epochs[-1].metrics) if self.epochs else {}
        return {**last, **self.run.final}

    @property
    def digest(self) -> str:
        """A hash of everything exported: an unchanged run has the same."""
        return stable_id(
            {
                "status": self.run.status,
                "config": dict(self.run.config),
                "final": dict(self.run.final),
                "epochs": [e.to_dict() for e in self.epochs],
                "lrs": [list(pair) for pair in self.lrs],
                "name": [self.member.schedule, self.member.seed],
            }
        )


def target_name(name: str, experiment_id: str) -> str:
    """The folder and MLflow experiment name of a lab experiment: its name (characters
    other than letters, digits and ``._=+-`` become ``_``) and its id's first 8 digits."""
    return f"{_safe(name)}-{experiment_id[:8]}"


def _safe(text: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9._=+-]", "_", text)
    return "_" if safe in ("", ".", "..") else safe


def flatten(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """A config as one level: nested tables' keys joined with ``.``; a value that is not a
    bool, number or string (a list, None) as its JSON text."""
    out: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            out.update(flatten(value, f"{name}."))
        elif isinstance(value, bool | int | float | str):
            out[name] = value
        else:
            out[name] = json.dumps(value)
    return out


def param_text(value: Any) -> str:
    """An MLflow param's text: a string as it is, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value)


def _items(store: Store, experiment: str | None) -> list[_Item]:
    """Every member run of every experiment (or of ``experiment``, an id or its prefix),
    the latest experiment first."""
    if experiment is not None:
        records = [store.find_experiment(experiment)]
    else:
        records = store.experiments()
        if not records:
            store.find_experiment()  # raises: no experiment in the store
    items: list[_Item] = []
    for record in records:
        members = store.members(record.id)
        runs = {run.id: run for run in store.runs([m.run for m in members])}
        items.extend(
            _Item(
                experiment=record,
                member=member,
                run=runs[member.run],
                epochs=tuple(store.epochs(member.run)),
                lrs=tuple(store.lrs(member.run)),
            )
            for member in members
            if member.run in runs
        )
    return items


def _package(error: ImportError, default: str) -> str:
    """The missing distribution's top-level package (``mlflow`` of ``mlflow.entities``)."""
    return (error.name or default).split(".", 1)[0]


def _read(store_dir: str | Path, experiment: str | None) -> list[_Item]:
    with Store(store_dir, read_only=True) as store:
        return _items(store, experiment)


# --- TensorBoard ---------------------------------------------------------------------------


def to_tensorboard(
    store_dir: str | Path, logdir: str | Path, *, experiment: str | None = None
) -> list[Exported]:
    """Write every run of the store as TensorBoard event files under ``logdir``.

    A run goes to ``logdir/<target_name>/<schedule>/seed-<n>``: its metrics by epoch,
    ``lr`` by optimizer step (TensorBoard keeps scalars as float32), its config as
    hyperparameters and its final metrics as ``final/<metric>`` (the HParams dashboard's
    metrics). Exporting again replaces each run's event files (no point twice). Raises
    `ExportError` (no tensorboardX, ``logdir`` not a writable folder) and
    `lrlab.lab.store.StoreError`.
    """
    logdir = Path(logdir)
    if logdir.exists() and not logdir.is_dir():
        raise ExportError(f"the log directory {str(logdir)!r} is a file, not a directory")
    items = _read(store_dir, experiment)
    try:
        with _torch_hidden():
            from tensorboardX import SummaryWriter
            from tensorboardX.summary import hparams
    except ImportError as error:
        raise ExportError(
            f"the TensorBoard export needs {_package(error, 'tensorboardX')}: {TENSORBOARD_INSTALL}"
        ) from None
    # a diverged run's inf or NaN is written as it is, without tensorboardX's warning line
    with _logger_at("tensorboardX.x2num", logging.ERROR):
        return [
            _tensorboard_run(item, folder, SummaryWriter, hparams)
            for item, folder in zip(items, _folders(items, logdir), strict=True)
        ]


def _folders(items: Sequence[_Item], logdir: Path) -> list[Path]:
    """Each run's folder, ``logdir/<target_name>/<schedule>/seed-<n>``; where two schedule
    names are one once made safe for a path (``a/b``, ``a_b``), the later one's folder also
    has its run's id."""
    folders: list[Path] = []
    for item in items:
        member = item.member
        top = logdir / target_name(item.experiment.name, item.experiment.id)
        folder = top / _safe(member.schedule) / f"seed-{member.seed}"
        if folder in folders:
            folder = top / f"{_safe(member.schedule)}-{item.run.id[:8]}" / f"seed-{member.seed}"
        folders.append(folder)
    return folders


def _tensorboard_run(item: _Item, folder: Path, writer_type: Any, hparams: Any) -> Exported:
    """Write one run's folder (``writer_type``, ``hparams``: tensorboardX's)."""
    name = target_name(item.experiment.name, item.experiment.id)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        old = sorted(folder.glob("events.out.tfevents.*"))
        for path in old:
            path.unlink()
    except OSError as error:
        raise ExportError(
            f"cannot write the log directory {str(folder)!r}: {error.strerror or error}"
        ) from None
    with writer_type(logdir=str(folder)) as writer:
        for epoch in item.epochs:
            for metric, value in epoch.metrics.items():
                writer.add_scalar(metric, value, epoch.epoch)
        for step, lr in item.lrs:
            writer.add_scalar("lr", lr, step)
        final = item.final
        summaries = hparams(flatten(item.run.config), {f"final/{k}": v for k, v in final.items()})
        for summary in summaries:
            writer.file_writer.add_summary(summary)
        last = item.epochs[-1].epoch if item.epochs else 0
        for metric, value in final.items():
            writer.add_scalar(f"final/{metric}", value, last)
    return _exported(item, name, str(folder), "replaced" if old else "new")


@contextlib.contextmanager
def _torch_hidden() -> Iterator[None]:
    """Import tensorboardX without torch: its writer imports torch whenever it is installed,
    only to accept tensors as values. The export writes floats and its layer loads no torch
    (seconds and a GB saved), so where torch is not loaded yet, it is hidden while
    tensorboardX is imported (tensorboardX imports it lazily where tensors need it)."""
    if "torch" in sys.modules:
        yield
        return
    modules: dict[str, object] = sys.modules  # type: ignore[assignment]  # None: not importable
    modules["torch"] = None  # import torch: ImportError
    try:
        yield
    finally:
        if modules.get("torch", False) is None:
            del modules["torch"]


def _exported(item: _Item, name: str, target: str, action: Action) -> Exported:
    return Exported(
        experiment=item.experiment.id,
        name=name,
        schedule=item.member.schedule,
        seed=item.member.seed,
        run=item.run.id,
        target=target,
        action=action,
    )


# --- MLflow --------------------------------------------------------------------------------


def default_uri(store_dir: str | Path) -> str:
    """``sqlite:///`` and the absolute path of ``mlflow.db`` beside the store."""
    return f"sqlite:///{(Path(store_dir).resolve() / MLFLOW_FILE).as_posix()}"


def check_uri(uri: str) -> None:
    """Refuse a tracking URI an export cannot use, before anything is read or written.

    >>> check_uri("ftp://host/x")
    Traceback (most recent call last):
    ...
    lrlab.lab.export.ExportError: cannot use the MLflow tracking URI 'ftp://host/x': ...
    """
    scheme = uri.split("://", 1)[0].split("+", 1)[0] if "://" in uri else ""
    if scheme not in SCHEMES:
        raise ExportError(
            f"cannot use the MLflow tracking URI {uri!r}: expected sqlite:///PATH, a "
            f"database URL ({', '.join(SCHEMES[1:4])}) or an http(s):// tracking server"
        )
    if scheme != "sqlite":
        return
    path = uri.split("://", 1)[1].removeprefix("/")
    if not path or path.startswith(":memory:") or path.startswith("?"):
        raise ExportError(f"cannot use the MLflow tracking URI {uri!r}: it names no file")
    database = Path(path.split("?", 1)[0])
    if database.name == FILENAME:
        raise ExportError(
            f"cannot use the MLflow tracking URI {uri!r}: it is an lrlab store; "
            f"name another file, e.g. {MLFLOW_FILE}"
        )
    if database.is_dir():
        raise ExportError(f"cannot use the MLflow tracking URI {uri!r}: it is a directory")
    if not database.parent.is_dir():
        raise ExportError(
            f"cannot use the MLflow tracking URI {uri!r}: no such directory "
            f"{str(database.parent)!r}"
        )


def _status(status: str) -> str:
    """The MLflow run status of a lab run's (the exact one is the ``lrlab.status`` tag)."""
    if status == "failed":
        return "FAILED"
    if status in ("pending", "running"):
        return "RUNNING"
    return "FINISHED"


@contextlib.contextmanager
def _logger_at(name: str, level: int) -> Iterator[None]:
    """The logger ``name`` shows only ``level`` and above, for a while."""
    logger = logging.getLogger(name)
    before = logger.level
    logger.setLevel(level)
    try:
        yield
    finally:
        logger.setLevel(before)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """MLflow's own noise, which is not ours to show: its INFO lines on creating and
    upgrading a database, and the SQLAlchemy 2.1 deprecation its tracking store triggers
    (``noload``, in mlflow's own mapper options)."""
    with _logger_at("mlflow", logging.WARNING), warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore",
            message=r"The ``noload`` loader strategy is deprecated",
            category=DeprecationWarning,
        )
        yield


def to_mlflow(
    store_dir: str | Path, uri: str | None = None, *, experiment: str | None = None
) -> list[Exported]:
    """Log every run of the store as an MLflow run at ``uri`` (default `default_uri`).

    Each lab experiment is an MLflow experiment (`target_name`); each of its runs an MLflow
    run named ``<schedule> seed <n>``, with the run's config as params (`flatten`,
    `param_text`), its metrics by epoch, ``lr`` by optimizer step, its final results
    under their names at the last epoch (``test_accuracy``) and the tags
    ``lrlab.run_id``, ``lrlab.schedule``, ``lrlab.seed``, ``lrlab.status``,
    ``lrlab.experiment``. Idempotent: an MLflow run is found again by its
    ``lrlab.run_id`` tag; one whose records have not changed is left as it is
    (``unchanged``), one that has (the lab run trained on) is deleted and logged anew
    (``replaced``). Raises `ExportError` (no mlflow, a bad URI) and
    `lrlab.lab.store.StoreError`.
    """
    uri = default_uri(store_dir) if uri is None else uri
    check_uri(uri)
    items = _read(store_dir, experiment)
    try:
        if uri.startswith(SCHEMES[:4]):
            import alembic  # noqa: F401 - the database tracking store's, not skinny's
            import sqlalchemy  # noqa: F401
        from mlflow.entities import Metric, Param
        from mlflow.exceptions import MlflowException
        from mlflow.tracking import MlflowClient
    except ImportError as error:
        raise ExportError(
            f"the MLflow export needs {_package(error, 'mlflow')}: {MLFLOW_INSTALL}"
        ) from None
    exported = []
    with _quiet():
        client = MlflowClient(tracking_uri=uri)
        ids: dict[str, str] = {}
        known: dict[str, dict[str, Any]] = {}
        for item in items:
            record = item.experiment
            name = target_name(record.name, record.id)
            if record.id not in ids:
                try:  # the first call to the tracking server: is it there?
                    ids[record.id] = _experiment(client, name, record)
                except MlflowException as error:
                    first = str(error).strip().splitlines()[0] if str(error).strip() else ""
                    raise ExportError(f"MLflow at {uri!r} did not answer: {first[:200]}") from None
                known[record.id] = _runs(client, ids[record.id])
            old = known[record.id].get(item.run.id)
            if old is not None and old.data.tags.get(f"{TAG}.digest") == item.digest:
                exported.append(_exported(item, name, old.info.run_id, "unchanged"))
                continue
            if old is not None:
                client.delete_run(old.info.run_id)
            run_id = _log(client, ids[record.id], item, Metric, Param)
            action: Action = "new" if old is None else "replaced"
            exported.append(_exported(item, name, run_id, action))
    return exported


def _experiment(client: Any, name: str, record: ExperimentRecord) -> str:
    """The MLflow experiment's id: found by name (restored if deleted) or created."""
    found = client.get_experiment_by_name(name)
    if found is None:
        return str(
            client.create_experiment(
                name, tags={f"{TAG}.experiment": record.id, f"{TAG}.name": record.name}
            )
        )
    if found.lifecycle_stage == "deleted":
        client.restore_experiment(found.experiment_id)
    return str(found.experiment_id)


def _runs(client: Any, experiment_id: str) -> dict[str, Any]:
    """The experiment's live MLflow runs by their lab run id (the latest where several)."""
    runs: dict[str, Any] = {}
    token = None
    while True:
        page = client.search_runs(
            [experiment_id],
            order_by=["attributes.start_time ASC"],
            max_results=1000,
            page_token=token,
        )
        for run in page:
            lab_id = run.data.tags.get(f"{TAG}.run_id")
            if lab_id is not None:
                runs[lab_id] = run
        token = page.token
        if not token:
            return runs


def _log(client: Any, experiment_id: str, item: _Item, metric: Any, param: Any) -> str:
    """Create the MLflow run of ``item`` with everything it holds; returns its id.

    ``metric`` and ``param``: MLflow's ``Metric`` and ``Param`` (imported lazily).
    """
    member, run = item.member, item.run
    tags = {
        f"{TAG}.run_id": run.id,
        f"{TAG}.schedule": member.schedule,
        f"{TAG}.seed": str(member.seed),
        f"{TAG}.status": run.status,
        f"{TAG}.experiment": item.experiment.id,
        f"{TAG}.digest": item.digest,
    }
    now = int(time.time() * 1000)
    created = client.create_run(
        experiment_id, start_time=now, tags=tags, run_name=f"{member.schedule} seed {member.seed}"
    )
    run_id = str(created.info.run_id)
    params = [param(k, param_text(v)) for k, v in flatten(run.config).items()]
    metrics = [
        metric(name, value, now, epoch.epoch)
        for epoch in item.epochs
        for name, value in epoch.metrics.items()
    ]
    metrics += [metric("lr", lr, now, step) for step, lr in item.lrs]
    last = item.epochs[-1].epoch if item.epochs else 0
    metrics += [metric(name, value, now, last) for name, value in run.final.items()]
    for chunk in _chunks(params, _PARAMS):
        client.log_batch(run_id, params=chunk)
    for chunk in _chunks(metrics, _BATCH):
        client.log_batch(run_id, metrics=chunk)
    client.set_terminated(run_id, status=_status(run.status), end_time=now)
    return run_id


def _chunks(values: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
