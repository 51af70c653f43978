"""The lab's store: one SQLite file (WAL) per output directory, typed reads, a schema version.

Tables: ``experiments`` (each comparison's config, the lr it used and the library
versions), ``members`` (which run is which schedule and seed of an experiment), ``runs``
(one row per run config, keyed by its id), ``epochs`` (one row per finished epoch, its
metrics as JSON), ``lrs`` (sampled per-step learning rates), ``lr_finds`` (range-test
results, reused by ``--lr auto``) and ``checkpoints`` (the latest checkpoint of each
unfinished run, as opaque bytes); docs/architecture.md has the columns. An epoch's row
and its checkpoint are written in one transaction, so an interrupted run resumes from
exactly the last committed epoch: nothing lost, nothing repeated.

The store knows no torch and no lab config type: configs are plain JSON data, checkpoints
are bytes (whoever loads one validates it), and every read returns a record of
`lrlab.lab.records`. ``PRAGMA user_version`` holds the schema version (`SCHEMA_VERSION`);
opening an older store for writing upgrades it in one transaction, a read-only open reads
it as it is, and a store written by a newer lrlab is refused.

>>> import tempfile
>>> from lrlab.lab.records import Epoch
>>> with tempfile.TemporaryDirectory() as directory:
...     with Store(directory) as store:
...         store.register("r1", {"lr": 0.1})
...         store.save_epochs("r1", [Epoch(epoch=0, lr=0.1, seconds=1.0)], b"state")
...     with Store(directory, read_only=True) as store:
...         [(r.id, r.status, r.epochs_done) for r in store.runs()], store.checkpoint("r1")
'pending'
([('r1', 'running', 1)], b'state')
"""

from __future__ import annotations

import functools
import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar, cast

from lrlab.lab.records import (
    STATUSES,
    Checkpoint,
    CheckpointRef,
    Epoch,
    ExperimentRecord,
    Member,
    Outcome,
    RunRecord,
    Status,
)

FILENAME = "lrlab.sqlite"
SCHEMA_VERSION = 4
"""Version 1: the first lab store (no ``user_version``; fixed metric columns, test_accuracy).
Version 2: metrics and final results as JSON, the engine and node of each run.
Version 3: each run's warnings; a large checkpoint is a file beside the store.
Version 4: a checkpoint may be a reference (``uri``) to storage outside the store."""
INLINE_CHECKPOINT = 1 << 20
"""Checkpoints up to this many bytes live in the store; larger ones are files in
`CHECKPOINTS` (the SQLite file stays small and fast)."""
CHECKPOINTS = "checkpoints"
"""The folder beside the store for large checkpoints, one file per unfinished run."""
BUSY_SECONDS = 15.0
"""How long a store operation waits for another writer before it gives up and says so."""

_SCHEMA = """
CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    config TEXT NOT NULL,
    status TEXT NOT NULL,
    diverged_at INTEGER,
    final TEXT NOT NULL DEFAULT '{}',
    seconds REAL,
    steps_per_epoch INTEGER,
    error TEXT,
    engine TEXT,
    node TEXT,
    updated REAL NOT NULL,
    warnings TEXT NOT NULL DEFAULT '[]'
);
CREATE TABLE epochs (
    run TEXT NOT NULL REFERENCES runs(id),
    epoch INTEGER NOT NULL,
    lr REAL NOT NULL,
    seconds REAL NOT NULL,
    metrics TEXT NOT NULL,
    PRIMARY KEY (run, epoch)
);
CREATE TABLE lrs (
    run TEXT NOT NULL REFERENCES runs(id),
    step INTEGER NOT NULL,
    lr REAL NOT NULL,
    PRIMARY KEY (run, step)
);
CREATE TABLE experiments (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    config TEXT NOT NULL,
    lr REAL NOT NULL,
    lr_source TEXT NOT NULL,
    versions TEXT NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE TABLE members (
    experiment TEXT NOT NULL REFERENCES experiments(id),
    schedule TEXT NOT NULL,
    seed INTEGER NOT NULL,
    run TEXT NOT NULL REFERENCES runs(id),
    PRIMARY KEY (experiment, schedule, seed)
);
CREATE TABLE lr_finds (
    key TEXT PRIMARY KEY,
    result TEXT NOT NULL
);
CREATE TABLE checkpoints (
    run TEXT PRIMARY KEY REFERENCES runs(id),
    epoch INTEGER NOT NULL,
    data BLOB NOT NULL,
    file TEXT,
    uri TEXT
);
"""
TABLES = frozenset({"experiments", "members", "runs", "epochs", "lrs", "lr_finds", "checkpoints"})
_V1_METRICS = ("train_loss", "val_loss", "val_accuracy")

_RUN_COLUMNS = {
    1: "r.id, r.config, r.status, r.diverged_at, r.test_accuracy, r.seconds, r.steps_per_epoch, "
    "r.error, NULL, NULL, '[]'",
    2: "r.id, r.config, r.status, r.diverged_at, r.final, r.seconds, r.steps_per_epoch, "
    "r.error, r.engine, r.node, '[]'",
    3: "r.id, r.config, r.status, r.diverged_at, r.final, r.seconds, r.steps_per_epoch, "
    "r.error, r.engine, r.node, r.warnings",
}
_RUN_COLUMNS[4] = _RUN_COLUMNS[3]
_EPOCH_COLUMNS = {
    1: "epoch, lr, seconds, train_loss, val_loss, val_accuracy",
    2: "epoch, lr, seconds, metrics",
    3: "epoch, lr, seconds, metrics",
    4: "epoch, lr, seconds, metrics",
}


_Read = TypeVar("_Read", bound=Callable[..., Any])


def _decoded(method: _Read) -> _Read:
    """A read whose rows do not decode (hand-edited or damaged) raises `StoreError`."""

    @functools.wraps(method)
    def read(self: Store, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except (ValueError, TypeError, KeyError) as error:
            raise StoreError(f"the store {str(self.path)!r} has a damaged row: {error}") from None

    return cast(_Read, read)


class StoreError(Exception):
    """The store cannot be used (missing, locked, read-only, foreign, newer, damaged)."""


class StoreWriteError(StoreError):
    """A write to a usable store failed (disk full, I/O error, locked too long)."""


class Store:
    """Read and write the lab's results in ``directory/lrlab.sqlite``; a context manager.

    ``read_only=True`` never creates, upgrades or writes anything (not even WAL files
    where the directory is read-only) and refuses a file that is not an lrlab store.
    """

    def __init__(self, directory: str | Path, *, read_only: bool = False) -> None:
        self.directory = Path(directory)
        self.path = self.directory / FILENAME
        self.read_only = read_only
        if read_only:
            self.db = self._open_reader()
        else:
            try:
                self.directory.mkdir(parents=True, exist_ok=True)
                self.db = sqlite3.connect(self.path, timeout=BUSY_SECONDS, isolation_level=None)
            except (sqlite3.Error, OSError) as error:
                raise self._error("cannot use", error) from None
            self._prepare_writer()
        self.version = self._version()

    # --- opening --------------------------------------------------------------------------

    def _error(self, what: str, error: BaseException | str) -> StoreError:
        kind = StoreWriteError if what == "cannot write" else StoreError
        if isinstance(error, sqlite3.Error) and _busy(error):
            error = (
                f"it is locked by another process (an 'lrlab compare' writing it?); "
                f"waited {BUSY_SECONDS:g} s"
            )
        elif isinstance(error, sqlite3.DatabaseError) and not isinstance(
            error, sqlite3.OperationalError
        ):
            error = f"it is damaged or not a database ({error})"
        return kind(f"{what} the store {str(self.path)!r}: {error}")

    def _open_reader(self) -> sqlite3.Connection:
        if not self.path.is_file():
            raise StoreError(f"no lrlab store in {str(self.directory)!r} (no {FILENAME})")
        if self.path.stat().st_size == 0:
            raise StoreError(f"{str(self.path)!r} is not an lrlab store: the file is empty")
        uri = self.path.resolve().as_uri()
        try:
            db = self._connect_reader(uri)
        except sqlite3.Error as error:
            raise self._error("cannot read", error) from None
        try:
            tables = _tables(db)
        except sqlite3.Error as error:
            db.close()
            raise self._error("cannot read", error) from None
        if not tables >= TABLES:
            db.close()
            raise StoreError(
                f"{str(self.path)!r} is not an lrlab store (its tables: "
                f"{', '.join(sorted(tables)) or 'none'})"
            )
        return db

    def _connect_reader(self, uri: str) -> sqlite3.Connection:
        """``mode=ro``; where that cannot open (read-only media), the file as immutable:
        but only when no write-ahead log holds commits that an immutable read would miss."""
        try:
            db = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=BUSY_SECONDS)
            db.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
        except sqlite3.OperationalError as error:
            if _busy(error):
                raise
            wal = self.path.with_name(FILENAME + "-wal")
            if wal.exists() and wal.stat().st_size > 0:
                raise StoreError(
                    f"cannot read the store {str(self.path)!r}: its directory is read-only and "
                    "its write-ahead log holds commits; open it once where it can be written"
                ) from None
            return sqlite3.connect(f"{uri}?immutable=1", uri=True, isolation_level=None)
        db.isolation_level = None
        return db

    def _prepare_writer(self) -> None:
        try:
            self._foreign(_tables(self.db))
            self._wal()
            self.db.execute("PRAGMA synchronous=NORMAL")
            if int(self.db.execute("PRAGMA user_version").fetchone()[0]) < SCHEMA_VERSION:
                with self.transaction() as db:  # under the write lock: one creator, one upgrade
                    tables = _tables(db)
                    self._foreign(tables)
                    version = int(db.execute("PRAGMA user_version").fetchone()[0])
                    if not tables:
                        _create(db)
                    elif version < SCHEMA_VERSION:
                        self._check_version(version or 1)
                        if version < 2:
                            _upgrade_v1(db)
                        _upgrade_v2(db)
        except sqlite3.Error as error:
            self.db.close()
            raise self._error("cannot use", error) from None
        except StoreError:
            self.db.close()
            raise

    def _foreign(self, tables: frozenset[str]) -> None:
        if tables and not tables >= TABLES:
            raise StoreError(
                f"{str(self.path)!r} is not an lrlab store (its tables: "
                f"{', '.join(sorted(tables))}); choose another directory"
            )

    def _wal(self) -> None:
        """Switch to WAL; the first switch needs the file to itself: retry, bounded."""
        deadline = time.monotonic() + BUSY_SECONDS
        while self.db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            try:
                self.db.execute("PRAGMA journal_mode=WAL")
            except sqlite3.OperationalError as error:  # noqa: PERF203 - a bounded retry
                if not _busy(error) or time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    def _version(self) -> int:
        try:
            version = int(self.db.execute("PRAGMA user_version").fetchone()[0]) or 1
        except sqlite3.Error as error:
            self.db.close()
            raise self._error("cannot read", error) from None
        try:
            self._check_version(version)
        except StoreError:
            self.db.close()
            raise
        return version

    def _check_version(self, version: int) -> None:
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"the store {str(self.path)!r} has schema version {version}, written by a "
                f"newer lrlab; this one reads versions 1 to {SCHEMA_VERSION}: upgrade lrlab"
            )

    def close(self) -> None:
        """Close the connection."""
        self.db.close()

    def settle(self) -> None:
        """Fold the write-ahead log into the file and leave WAL mode, when no one else has
        the store open (else nothing): an idle store is then one plain file, which
        read-only opens read without making ``-wal``/``-shm`` files beside it. The next
        writer switches WAL on again."""
        if self.read_only:
            return
        with suppress(sqlite3.Error):
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self.db.execute("PRAGMA journal_mode=DELETE")

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic write: everything or nothing; a failing write is a `StoreError`."""
        if self.read_only:
            raise StoreError(f"the store {str(self.path)!r} was opened read-only")
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as error:
            raise self._error("cannot write", error) from None
        try:
            yield self.db
            self.db.execute("COMMIT")
        except BaseException as error:
            if self.db.in_transaction:  # a failed COMMIT may have rolled back already
                with suppress(sqlite3.Error):
                    self.db.execute("ROLLBACK")
            if isinstance(error, sqlite3.Error):
                raise self._error("cannot write", error) from None
            raise

    def _rows(self, sql: str, parameters: Sequence[Any] = ()) -> list[Any]:
        try:
            return self.db.execute(sql, parameters).fetchall()
        except sqlite3.Error as error:
            raise self._error("cannot read", error) from None

    # --- runs -----------------------------------------------------------------------------

    def register(self, run: str, config: Mapping[str, Any]) -> Status:
        """Make sure the run exists (``pending`` if new); returns its status."""
        with self.transaction() as db:
            db.execute(
                "INSERT OR IGNORE INTO runs (id, config, status, updated) VALUES (?, ?, ?, ?)",
                (run, json.dumps(dict(config)), "pending", time.time()),
            )
        status = self.status(run)
        assert status is not None
        return status

    def status(self, run: str) -> Status | None:
        """The run's status (pending, running, finished, diverged, failed), None if unknown."""
        rows = self._rows("SELECT status FROM runs WHERE id = ?", (run,))
        return _status(rows[0][0]) if rows else None

    def save_epochs(
        self,
        run: str,
        epochs: Sequence[Epoch],
        checkpoint: Checkpoint | None = None,
        *,
        node: str | None = None,
    ) -> None:
        """The epochs' rows and, if given, the run's checkpoint after the last of them, in
        one transaction.

        A checkpoint above `INLINE_CHECKPOINT` bytes is first written and synced to a file
        in `CHECKPOINTS` that the commit then names; the one it supersedes is removed after
        the commit (a crash in between leaves a stray file, never a missing one). A
        `CheckpointRef` is committed as the reference alone; its owner removes what it
        supersedes. ``node``: where the run is training now.
        """
        if not epochs:
            raise ValueError("save_epochs: no epochs to save")
        last = epochs[-1].epoch
        file = uri = None
        if isinstance(checkpoint, CheckpointRef):
            uri, checkpoint = checkpoint.uri, b""
        elif checkpoint is not None and len(checkpoint) > INLINE_CHECKPOINT:
            file = self._write_checkpoint_file(run, last, checkpoint)
            checkpoint = b""
        with self.transaction() as db:
            db.executemany(
                "INSERT INTO epochs VALUES (?, ?, ?, ?, ?)",
                [(run, e.epoch, e.lr, e.seconds, json.dumps(dict(e.metrics))) for e in epochs],
            )
            if checkpoint is not None:
                db.execute(
                    "INSERT OR REPLACE INTO checkpoints VALUES (?, ?, ?, ?, ?)",
                    (run, last, checkpoint, file, uri),
                )
            db.execute(
                "UPDATE runs SET status = 'running', node = COALESCE(?, node), updated = ? "
                "WHERE id = ?",
                (node or None, time.time(), run),
            )
        if checkpoint is not None:
            self._remove_checkpoint_files(run, keep=file)

    def _write_checkpoint_file(self, run: str, epoch: int, data: bytes) -> str:
        folder = self.directory / CHECKPOINTS
        name = f"{run}.{epoch}.pt"
        partial = folder / f".{name}.partial"
        try:
            folder.mkdir(exist_ok=True)
            with partial.open("wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            partial.replace(folder / name)
            _sync_directory(folder)
        except OSError as error:
            with suppress(OSError):
                partial.unlink()
            raise StoreWriteError(
                f"cannot write the checkpoint {str(folder / name)!r}: {error.strerror or error}"
            ) from None
        return name

    def _remove_checkpoint_files(self, run: str, *, keep: str | None = None) -> None:
        folder = self.directory / CHECKPOINTS
        if not folder.is_dir():
            return
        for path in folder.glob(f"{run}.*.pt"):
            if path.name != keep:
                with suppress(OSError):
                    path.unlink()

    def checkpoint(self, run: str) -> Checkpoint | None:
        """The run's latest checkpoint (it may be older than the last committed epoch):
        its bytes, or the `CheckpointRef` committed for it; None if there is none or its
        file is gone."""
        file_column = "file" if self.version >= 3 else "NULL"
        uri_column = "uri" if self.version >= 4 else "NULL"
        rows = self._rows(
            f"SELECT data, {file_column}, {uri_column} FROM checkpoints WHERE run = ?", (run,)
        )
        if not rows:
            return None
        data, file, uri = rows[0]
        if uri is not None:
            return CheckpointRef(str(uri))
        if file is None:
            return bytes(data)
        try:
            return (self.directory / CHECKPOINTS / str(file)).read_bytes()
        except OSError:
            return None

    def restart(self, run: str) -> None:
        """Forget a run's partial progress (a missing or unreadable checkpoint)."""
        with self.transaction() as db:
            for table in ("epochs", "lrs", "checkpoints"):
                db.execute(f"DELETE FROM {table} WHERE run = ?", (run,))
            db.execute(
                "UPDATE runs SET status = 'pending', error = NULL, updated = ? WHERE id = ?",
                (time.time(), run),
            )
        self._remove_checkpoint_files(run)

    def finish(self, run: str, outcome: Outcome) -> None:
        """Record the outcome and the sampled lrs and drop the checkpoint, in one transaction.

        The run's ``seconds`` is the sum of its epochs' times, over every session.
        """
        with self.transaction() as db:
            db.executemany(
                "INSERT OR REPLACE INTO lrs VALUES (?, ?, ?)",
                [(run, step, lr) for step, lr in outcome.lrs],
            )
            db.execute(
                "UPDATE runs SET status = ?, diverged_at = ?, final = ?, "
                "seconds = (SELECT COALESCE(SUM(seconds), 0) FROM epochs WHERE run = ?), "
                "steps_per_epoch = ?, engine = ?, node = ?, error = NULL, updated = ?, "
                "warnings = ? WHERE id = ?",
                (
                    outcome.status,
                    outcome.diverged_at,
                    json.dumps(dict(outcome.final)),
                    run,
                    outcome.steps_per_epoch,
                    outcome.engine,
                    outcome.node,
                    time.time(),
                    json.dumps(list(outcome.warnings)),
                    run,
                ),
            )
            db.execute("DELETE FROM checkpoints WHERE run = ?", (run,))
        self._remove_checkpoint_files(run)

    def fail(self, run: str, message: str, *, engine: str | None = None, node: str = "") -> None:
        """Mark a run failed (an error in the run itself, not divergence), saying why."""
        with self.transaction() as db:
            db.execute(
                "UPDATE runs SET status = 'failed', error = ?, engine = COALESCE(?, engine), "
                "node = COALESCE(NULLIF(?, ''), node), updated = ? WHERE id = ?",
                (message, engine, node, time.time(), run),
            )

    def prune(self, run: str, message: str) -> None:
        """Mark a run stopped early by a search's pruner (its epochs stay), saying why,
        and drop its checkpoint: it is never trained again."""
        with self.transaction() as db:
            db.execute(
                "UPDATE runs SET status = 'pruned', error = ?, "
                "seconds = (SELECT COALESCE(SUM(seconds), 0) FROM epochs WHERE run = ?), "
                "updated = ? WHERE id = ?",
                (message, run, time.time(), run),
            )
            db.execute("DELETE FROM checkpoints WHERE run = ?", (run,))
        self._remove_checkpoint_files(run)

    # --- experiments ----------------------------------------------------------------------

    def add_experiment(
        self,
        record: ExperimentRecord,
        runs: Sequence[tuple[Member, Mapping[str, Any]]],
    ) -> None:
        """Record the experiment and register all its runs (``pending`` if new).

        ``runs``: each member with its run's config. A known experiment keeps its
        ``created`` time and gets the record's lr, lr source, versions and ``updated``.
        """
        with self.transaction() as db:
            db.execute(
                "INSERT INTO experiments VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO "
                "UPDATE SET lr = excluded.lr, lr_source = excluded.lr_source, "
                "versions = excluded.versions, updated = excluded.updated",
                (
                    record.id,
                    record.name,
                    json.dumps(dict(record.config)),
                    record.lr,
                    record.lr_source,
                    json.dumps(dict(record.versions)),
                    record.created,
                    record.updated,
                ),
            )
            db.executemany(
                "INSERT OR IGNORE INTO runs (id, config, status, updated) VALUES (?, ?, ?, ?)",
                [(m.run, json.dumps(dict(c)), "pending", record.updated) for m, c in runs],
            )
            db.executemany(
                "INSERT OR REPLACE INTO members VALUES (?, ?, ?, ?)",
                [(record.id, m.schedule, m.seed, m.run) for m, _ in runs],
            )

    def find_experiment(self, prefix: str | None = None) -> ExperimentRecord:
        """The experiment whose id starts with ``prefix`` (default: the latest run one).

        Raises `StoreError` when there is none, or when ``prefix`` fits none or several.
        """
        experiments = self.experiments()
        if not experiments:
            raise StoreError(f"no experiment in {str(self.directory)!r}; run 'lrlab compare' first")
        if prefix is None:
            return experiments[0]
        matches = [e for e in experiments if prefix and e.id.startswith(prefix)]
        if len(matches) != 1:
            known = ", ".join(e.id for e in experiments)
            how = "several" if matches else "no"
            raise StoreError(f"{how} experiment with id {prefix!r} in the store (known: {known})")
        return matches[0]

    @_decoded
    def experiments(self) -> list[ExperimentRecord]:
        """Every experiment, the most recently run first."""
        rows = self._rows(
            "SELECT id, name, config, lr, lr_source, versions, created, updated "
            "FROM experiments ORDER BY updated DESC, rowid DESC"
        )
        return [
            ExperimentRecord(
                id=str(row[0]),
                name=str(row[1]),
                config=_object(row[2]),
                lr=float(row[3]),
                lr_source=str(row[4]),
                versions=_object(row[5]),
                created=float(row[6]),
                updated=float(row[7]),
            )
            for row in rows
        ]

    @_decoded
    def members(self, experiment: str | None = None) -> list[Member]:
        """An experiment's members (every experiment's without one), in insertion order."""
        where, parameters = ("WHERE experiment = ?", (experiment,)) if experiment else ("", ())
        rows = self._rows(
            f"SELECT experiment, schedule, seed, run FROM members {where} ORDER BY rowid",
            parameters,
        )
        return [
            Member(experiment=str(e), schedule=str(s), seed=int(seed), run=str(r))
            for e, s, seed, r in rows
        ]

    @_decoded
    def lr_find(self, key: str) -> dict[str, Any] | None:
        """A stored range-test result, if any."""
        rows = self._rows("SELECT result FROM lr_finds WHERE key = ?", (key,))
        return None if not rows else _object(rows[0][0])

    @_decoded
    def lr_finds(self) -> list[tuple[str, dict[str, Any]]]:
        """Every stored range-test result with its key, oldest first."""
        rows = self._rows("SELECT key, result FROM lr_finds ORDER BY rowid")
        return [(str(key), _object(result)) for key, result in rows]

    def save_lr_find(self, key: str, result: Mapping[str, Any]) -> None:
        """Keep a range-test result for the next run of the same experiment."""
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO lr_finds VALUES (?, ?)", (key, json.dumps(dict(result)))
            )

    # --- reading --------------------------------------------------------------------------

    @_decoded
    def runs(self, ids: Sequence[str] | None = None) -> list[RunRecord]:
        """Every run (or those of ``ids``) with its config, status and outcome, oldest first."""
        where = ""
        if ids is not None:
            where = f"WHERE r.id IN ({', '.join('?' * len(ids))})"
        rows = self._rows(
            f"SELECT {_RUN_COLUMNS[self.version]}, "
            "(SELECT COUNT(*) FROM epochs e WHERE e.run = r.id) "
            f"FROM runs r {where} ORDER BY r.rowid",
            list(ids or ()),
        )
        return [
            RunRecord(
                id=str(row[0]),
                config=_object(row[1]),
                status=_status(row[2]),
                diverged_at=row[3],
                final=_final(row[4], self.version),
                seconds=row[5],
                steps_per_epoch=row[6],
                error=row[7],
                engine=row[8],
                node=row[9],
                warnings=_texts(row[10]),
                epochs_done=int(row[11]),
            )
            for row in rows
        ]

    @_decoded
    def epochs(self, run: str) -> list[Epoch]:
        """The run's committed epochs in order."""
        rows = self._rows(
            f"SELECT {_EPOCH_COLUMNS[self.version]} FROM epochs WHERE run = ? ORDER BY epoch",
            (run,),
        )
        if self.version == 1:
            return [
                Epoch(
                    epoch=r[0],
                    lr=r[1],
                    seconds=r[2],
                    metrics=dict(zip(_V1_METRICS, r[3:], strict=True)),
                )
                for r in rows
            ]
        return [
            Epoch(epoch=int(r[0]), lr=float(r[1]), seconds=float(r[2]), metrics=_numbers(r[3]))
            for r in rows
        ]

    def epochs_done(self) -> int:
        """Epoch rows in the whole store (progress)."""
        return int(self._rows("SELECT COUNT(*) FROM epochs")[0][0])

    @_decoded
    def lrs(self, run: str) -> list[tuple[int, float]]:
        """The run's sampled (step, lr) pairs."""
        rows = self._rows("SELECT step, lr FROM lrs WHERE run = ? ORDER BY step", (run,))
        return [(int(step), float(lr)) for step, lr in rows]


class _Damaged(ValueError):
    """A row whose stored value is not what lrlab writes there."""


def _object(text: Any) -> dict[str, Any]:
    """A JSON object column; anything else is damage."""
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        raise _Damaged(f"{str(text)[:40]!r} is not JSON") from None
    if not isinstance(value, dict):
        raise _Damaged(f"{str(text)[:40]!r} is not a JSON object")
    return value


def _numbers(text: Any) -> dict[str, float]:
    """A JSON object of numbers (metrics, final results)."""
    values = _object(text)
    bad = [k for k, v in values.items() if isinstance(v, bool) or not isinstance(v, int | float)]
    if bad:
        raise _Damaged(f"{bad[0]!r} is {values[bad[0]]!r}, not a number")
    return {key: float(value) for key, value in values.items()}


def _texts(text: Any) -> tuple[str, ...]:
    """A JSON list of strings (a run's warnings)."""
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        raise _Damaged(f"{str(text)[:40]!r} is not JSON") from None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _Damaged(f"{str(text)[:40]!r} is not a JSON list of strings")
    return tuple(value)


def _sync_directory(folder: Path) -> None:
    """Make a rename in ``folder`` durable (where the platform allows opening a folder)."""
    try:
        handle = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - Windows
        return
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def _busy(error: sqlite3.Error) -> bool:
    """Whether SQLite gave up waiting for another connection's lock."""
    code = getattr(error, "sqlite_errorcode", None)  # Python 3.11+
    if code is None:  # pragma: no cover - Python 3.10
        return "locked" in str(error)
    return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def _status(value: object) -> Status:
    if value not in STATUSES:
        raise StoreError(f"the store has a run with an unknown status {value!r}")
    return value


def _final(value: Any, version: int) -> dict[str, float]:
    if version == 1:
        return {} if value is None else {"test_accuracy": float(value)}
    return _numbers(value)


def _tables(db: sqlite3.Connection) -> frozenset[str]:
    rows = db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    return frozenset(str(row[0]) for row in rows)


def _create(db: sqlite3.Connection) -> None:
    for statement in _SCHEMA.split(";"):
        if statement.strip():
            db.execute(statement)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _upgrade_v1(db: sqlite3.Connection) -> None:
    """Version 1 to 2 (and the runs table of 3): metric columns become JSON, test_accuracy
    a final result, and each run gets an engine and a node (unknown for old runs). Values
    are copied exactly."""
    runs = db.execute(
        "SELECT id, config, status, diverged_at, test_accuracy, seconds, steps_per_epoch, "
        "error, updated FROM runs ORDER BY rowid"
    ).fetchall()
    epochs = db.execute(
        "SELECT run, epoch, lr, seconds, train_loss, val_loss, val_accuracy FROM epochs "
        "ORDER BY rowid"
    ).fetchall()
    db.execute("DROP TABLE runs")
    db.execute("DROP TABLE epochs")
    for statement in _SCHEMA.split(";"):
        if "CREATE TABLE runs " in statement or "CREATE TABLE epochs " in statement:
            db.execute(statement)
    db.executemany(
        "INSERT INTO runs (id, config, status, diverged_at, final, seconds, steps_per_epoch, "
        "error, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (*row[:4], json.dumps({} if row[4] is None else {"test_accuracy": row[4]}), *row[5:])
            for row in runs
        ],
    )
    db.executemany(
        "INSERT INTO epochs VALUES (?, ?, ?, ?, ?)",
        [(*row[:4], json.dumps(dict(zip(_V1_METRICS, row[4:], strict=True)))) for row in epochs],
    )


def _upgrade_v2(db: sqlite3.Connection) -> None:
    """Version 2 to 4: each run's warnings (none for old runs), a checkpoint's file and
    reference."""
    for table, column, kind in (
        ("runs", "warnings", "TEXT NOT NULL DEFAULT '[]'"),
        ("checkpoints", "file", "TEXT"),
        ("checkpoints", "uri", "TEXT"),
    ):
        columns = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
        if column not in columns:
            db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
