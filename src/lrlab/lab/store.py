"""The lab's store: one SQLite file (WAL) per output directory.

Tables: ``experiments`` (each comparison's config, the lr it used and the library
versions), ``members`` (which run is which schedule and seed of an experiment), ``runs``
(one row per run config, keyed by `TrainConfig.run_id`), ``epochs`` (one row per
finished epoch), ``lrs`` (sampled per-step learning rates), ``lr_finds`` (range-test
results, reused by ``--lr auto``) and ``checkpoints`` (the latest checkpoint of each
unfinished run); docs/lab.md has the columns. An epoch's row and its
checkpoint are written in one transaction, so an interrupted run resumes from exactly
the last committed epoch: nothing lost, nothing repeated.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from lrlab.lab.experiment import Experiment
from lrlab.lab.train import Checkpoint, EpochMetrics, RunResult, TrainConfig, read_checkpoint

FILENAME = "lrlab.sqlite"

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    config TEXT NOT NULL,
    status TEXT NOT NULL,
    diverged_at INTEGER,
    test_accuracy REAL,
    seconds REAL,
    steps_per_epoch INTEGER,
    error TEXT,
    updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS epochs (
    run TEXT NOT NULL REFERENCES runs(id),
    epoch INTEGER NOT NULL,
    lr REAL NOT NULL,
    train_loss REAL NOT NULL,
    val_loss REAL NOT NULL,
    val_accuracy REAL NOT NULL,
    seconds REAL NOT NULL,
    PRIMARY KEY (run, epoch)
);
CREATE TABLE IF NOT EXISTS lrs (
    run TEXT NOT NULL REFERENCES runs(id),
    step INTEGER NOT NULL,
    lr REAL NOT NULL,
    PRIMARY KEY (run, step)
);
CREATE TABLE IF NOT EXISTS experiments (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    config TEXT NOT NULL,
    lr REAL NOT NULL,
    lr_source TEXT NOT NULL,
    versions TEXT NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS members (
    experiment TEXT NOT NULL REFERENCES experiments(id),
    schedule TEXT NOT NULL,
    seed INTEGER NOT NULL,
    run TEXT NOT NULL REFERENCES runs(id),
    PRIMARY KEY (experiment, schedule, seed)
);
CREATE TABLE IF NOT EXISTS lr_finds (
    key TEXT PRIMARY KEY,
    result TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS checkpoints (
    run TEXT PRIMARY KEY REFERENCES runs(id),
    epoch INTEGER NOT NULL,
    data BLOB NOT NULL
);
"""


TABLES = {"experiments", "members", "runs", "epochs", "lrs", "lr_finds", "checkpoints"}
TIMEOUT = 30.0
"""Seconds to wait for another writer (a worker process) before giving up."""


def _wal(db: sqlite3.Connection) -> None:
    """Switch to WAL; the first switch needs the database to itself, so retry a while."""
    deadline = time.monotonic() + TIMEOUT
    while not _try_wal(db, last=time.monotonic() > deadline):
        time.sleep(0.05)


def _try_wal(db: sqlite3.Connection, *, last: bool) -> bool:
    try:
        db.execute("PRAGMA journal_mode=WAL")
    except sqlite3.OperationalError as error:
        if "locked" not in str(error) or last:
            raise
        return False
    return True


class StoreError(Exception):
    """The store cannot be used (locked, read-only, not a database): a clear message."""


class Store:
    """Read and write the lab's results in ``directory/lrlab.sqlite``."""

    def __init__(self, directory: str | Path, *, create: bool = True) -> None:
        self.directory = Path(directory)
        self.path = self.directory / FILENAME
        if not create and not self.path.exists():
            raise StoreError(f"no lrlab store in {str(self.directory)!r} (no {FILENAME})")
        try:
            if create:
                self.directory.mkdir(parents=True, exist_ok=True)
            self.db = self._open()
        except (sqlite3.Error, OSError) as error:
            if create:
                raise StoreError(f"cannot use the store {str(self.path)!r}: {error}") from None
            self.db = self._open_read_only(error)

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=TIMEOUT, isolation_level=None)
        try:
            _wal(db)
            db.execute("PRAGMA synchronous=NORMAL")
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
            if not tables >= TABLES:
                db.executescript(f"BEGIN IMMEDIATE;{SCHEMA}COMMIT;")
        except sqlite3.Error:
            db.close()
            raise
        return db

    def _open_read_only(self, why: Exception) -> sqlite3.Connection:
        """A store on read-only media: read it as an immutable file, or say why not."""
        uri = f"{self.path.resolve().as_uri()}?immutable=1"
        try:
            db = sqlite3.connect(uri, uri=True, isolation_level=None)
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
        except sqlite3.Error:
            raise StoreError(f"cannot use the store {str(self.path)!r}: {why}") from None
        if not tables >= TABLES:
            db.close()
            raise StoreError(f"cannot use the store {str(self.path)!r}: {why}")
        return db

    def close(self) -> None:
        """Close the connection."""
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic write: everything or nothing; a failing write is a `StoreError`."""
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as error:
            raise StoreError(f"cannot write the store {str(self.path)!r}: {error}") from None
        try:
            yield self.db
            self.db.execute("COMMIT")
        except BaseException as error:
            self.db.execute("ROLLBACK")
            if isinstance(error, sqlite3.Error):
                raise StoreError(f"cannot write the store {str(self.path)!r}: {error}") from None
            raise

    # --- runs ---------------------------------------------------------------------------

    def register(self, config: TrainConfig) -> str:
        """Make sure the run exists (``pending`` if new); returns its status."""
        with self.transaction() as db:
            db.execute(
                "INSERT OR IGNORE INTO runs (id, config, status, updated) VALUES (?, ?, ?, ?)",
                (config.run_id, json.dumps(config.to_dict()), "pending", time.time()),
            )
        return self.status(config.run_id)

    def status(self, run: str) -> str:
        """The run's status: pending, running, finished, diverged or failed."""
        row = self.db.execute("SELECT status FROM runs WHERE id = ?", (run,)).fetchone()
        return str(row[0]) if row else "unknown"

    def save_epoch(self, run: str, metrics: EpochMetrics, checkpoint: Checkpoint) -> None:
        """The epoch's row and the run's checkpoint, in one transaction."""
        with self.transaction() as db:
            db.execute(
                "INSERT INTO epochs VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    run,
                    metrics.epoch,
                    metrics.lr,
                    metrics.train_loss,
                    metrics.val_loss,
                    metrics.val_accuracy,
                    metrics.seconds,
                ),
            )
            db.execute(
                "INSERT OR REPLACE INTO checkpoints VALUES (?, ?, ?)",
                (run, metrics.epoch, checkpoint),
            )
            db.execute(
                "UPDATE runs SET status = 'running', updated = ? WHERE id = ?", (time.time(), run)
            )

    def checkpoint(self, run: str) -> Checkpoint | None:
        """The latest checkpoint, if it is there and readable and matches the epochs."""
        row = self.db.execute(
            "SELECT epoch, data FROM checkpoints WHERE run = ?", (run,)
        ).fetchone()
        last = self.db.execute("SELECT MAX(epoch) FROM epochs WHERE run = ?", (run,)).fetchone()
        if row is None or last[0] is None or row[0] != last[0]:
            return None
        data = bytes(row[1])
        try:
            read_checkpoint(data)
        except Exception:
            return None
        return data

    def restart(self, run: str) -> None:
        """Forget a run's partial progress (a missing or corrupt checkpoint)."""
        with self.transaction() as db:
            for table in ("epochs", "lrs", "checkpoints"):
                db.execute(f"DELETE FROM {table} WHERE run = ?", (run,))
            db.execute(
                "UPDATE runs SET status = 'pending', updated = ? WHERE id = ?", (time.time(), run)
            )

    def finish(self, result: RunResult) -> None:
        """Record the outcome, the sampled lrs, and drop the checkpoint, in one transaction.

        The run's ``seconds`` is the sum of its epochs' times, over every session.
        """
        run = result.config.run_id
        with self.transaction() as db:
            db.executemany(
                "INSERT OR REPLACE INTO lrs VALUES (?, ?, ?)",
                [(run, s, lr) for s, lr in result.lrs],
            )
            db.execute(
                "UPDATE runs SET status = ?, diverged_at = ?, test_accuracy = ?, "
                "seconds = (SELECT COALESCE(SUM(seconds), 0) FROM epochs WHERE run = ?), "
                "steps_per_epoch = ?, updated = ? WHERE id = ?",
                (
                    result.status,
                    result.diverged_at,
                    result.test_accuracy,
                    run,
                    result.steps_per_epoch,
                    time.time(),
                    run,
                ),
            )
            db.execute("DELETE FROM checkpoints WHERE run = ?", (run,))

    def fail(self, run: str, message: str) -> None:
        """Mark a run failed (an error in the run itself, not divergence), saying why."""
        with self.transaction() as db:
            db.execute(
                "UPDATE runs SET status = 'failed', error = ?, updated = ? WHERE id = ?",
                (message, time.time(), run),
            )

    # --- experiments --------------------------------------------------------------------

    def add_experiment(
        self,
        experiment: Experiment,
        *,
        lr: float,
        lr_source: str,
        versions: dict[str, str],
    ) -> None:
        """Record the experiment and register all its runs (``pending`` if new)."""
        now = time.time()
        runs = experiment.runs(lr=lr)
        with self.transaction() as db:
            db.execute(
                "INSERT INTO experiments VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO "
                "UPDATE SET lr = excluded.lr, lr_source = excluded.lr_source, "
                "versions = excluded.versions, updated = excluded.updated",
                (
                    experiment.id,
                    experiment.name,
                    json.dumps(experiment.to_dict()),
                    lr,
                    lr_source,
                    json.dumps(versions),
                    now,
                    now,
                ),
            )
            db.executemany(
                "INSERT OR IGNORE INTO runs (id, config, status, updated) VALUES (?, ?, ?, ?)",
                [(c.run_id, json.dumps(c.to_dict()), "pending", now) for _, _, c in runs],
            )
            db.executemany(
                "INSERT OR REPLACE INTO members VALUES (?, ?, ?, ?)",
                [(experiment.id, e.name, seed, c.run_id) for e, seed, c in runs],
            )

    def experiments(self) -> list[dict[str, Any]]:
        """Every experiment, the most recently run first."""
        rows = self.db.execute(
            "SELECT id, name, config, lr, lr_source, versions, created, updated "
            "FROM experiments ORDER BY updated DESC, rowid DESC"
        ).fetchall()
        keys = ("id", "name", "config", "lr", "lr_source", "versions", "created", "updated")
        out = [dict(zip(keys, row, strict=True)) for row in rows]
        for item in out:
            item["config"] = json.loads(item["config"])
            item["versions"] = json.loads(item["versions"])
        return out

    def members(self, experiment: str) -> list[tuple[str, int, str]]:
        """The experiment's (schedule, seed, run id), in the order they were added."""
        rows = self.db.execute(
            "SELECT schedule, seed, run FROM members WHERE experiment = ? ORDER BY rowid",
            (experiment,),
        ).fetchall()
        return [(str(a), int(b), str(c)) for a, b, c in rows]

    def epochs_done(self) -> int:
        """Epoch rows in the whole store (progress)."""
        return int(self.db.execute("SELECT COUNT(*) FROM epochs").fetchone()[0])

    def lr_find(self, key: str) -> dict[str, Any] | None:
        """A stored range-test result, if any."""
        row = self.db.execute("SELECT result FROM lr_finds WHERE key = ?", (key,)).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def save_lr_find(self, key: str, result: dict[str, Any]) -> None:
        """Keep a range-test result for the next run of the same experiment."""
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO lr_finds VALUES (?, ?)", (key, json.dumps(result)))

    # --- reading ------------------------------------------------------------------------

    def runs(self) -> list[dict[str, Any]]:
        """Every run with its config, status and epoch count, oldest first."""
        rows = self.db.execute(
            "SELECT r.id, r.config, r.status, r.diverged_at, r.test_accuracy, r.seconds, "
            "(SELECT COUNT(*) FROM epochs e WHERE e.run = r.id), r.error, r.steps_per_epoch "
            "FROM runs r ORDER BY r.rowid"
        ).fetchall()
        return [
            {
                "id": row[0],
                "config": json.loads(row[1]),
                "status": row[2],
                "diverged_at": row[3],
                "test_accuracy": row[4],
                "seconds": row[5],
                "epochs_done": row[6],
                "error": row[7],
                "steps_per_epoch": row[8],
            }
            for row in rows
        ]

    def epochs(self, run: str) -> list[EpochMetrics]:
        """The run's epochs in order."""
        rows = self.db.execute(
            "SELECT epoch, lr, train_loss, val_loss, val_accuracy, seconds FROM epochs "
            "WHERE run = ? ORDER BY epoch",
            (run,),
        ).fetchall()
        return [EpochMetrics(*row) for row in rows]

    def lrs(self, run: str) -> list[tuple[int, float]]:
        """The run's sampled (step, lr) pairs."""
        rows = self.db.execute("SELECT step, lr FROM lrs WHERE run = ? ORDER BY step", (run,))
        return [(int(s), float(lr)) for s, lr in rows.fetchall()]
