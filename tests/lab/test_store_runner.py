"""Store and runner: skip finished runs, resume interrupted ones exactly, survive SIGKILL."""

from __future__ import annotations

from pathlib import Path

import pytest

from lrlab.lab.runner import InProcess, ProcessPool, run_all, run_one
from lrlab.lab.store import FILENAME, Store, StoreError
from lrlab.lab.train import Checkpoint, EpochMetrics, TrainConfig, train

FAST = {"epochs": 4, "batch_size": 128}


def configs() -> list[TrainConfig]:
    return [
        TrainConfig(schedule="constant(value={lr})", seed=0, **FAST),
        TrainConfig(schedule="cosine(init={lr}, steps={epochs})", seed=0, **FAST),
    ]


def test_runs_then_skips_what_is_done(tmp_path: Path) -> None:
    first = list(run_all(str(tmp_path), configs()))
    assert [r["status"] for r in first] == ["finished", "finished"]
    again = list(run_all(str(tmp_path), configs()))
    assert all(r["skipped"] for r in again)
    store = Store(tmp_path)
    assert [r["epochs_done"] for r in store.runs()] == [4, 4]
    assert store.epochs(configs()[1].run_id)[-1].val_loss == train(configs()[1]).epochs[-1].val_loss
    assert len(store.lrs(configs()[0].run_id)) > 0


class Stop(Exception):
    pass


def test_an_interrupted_run_resumes_from_its_last_epoch(tmp_path: Path) -> None:
    config = configs()[1]
    store = Store(tmp_path)
    store.register(config)

    def commit_then_stop(metrics: EpochMetrics, checkpoint: Checkpoint) -> None:
        store.save_epoch(config.run_id, metrics, checkpoint)
        if metrics.epoch == 1:
            raise Stop

    with pytest.raises(Stop):
        train(config, on_epoch=commit_then_stop)
    summary = run_one((str(tmp_path), config.to_dict()))
    assert summary["resumed_from"] == 2
    epochs = Store(tmp_path).epochs(config.run_id)
    assert [e.epoch for e in epochs] == [0, 1, 2, 3]
    assert [e.val_loss for e in epochs] == [e.val_loss for e in train(config).epochs]


def test_a_corrupt_checkpoint_restarts_the_run(tmp_path: Path) -> None:
    config = configs()[0]
    store = Store(tmp_path)
    store.register(config)

    def commit_then_stop(metrics: EpochMetrics, checkpoint: Checkpoint) -> None:
        store.save_epoch(config.run_id, metrics, checkpoint)
        raise Stop

    with pytest.raises(Stop):
        train(config, on_epoch=commit_then_stop)
    store.db.execute("UPDATE checkpoints SET data = x'00ff'")
    summary = run_one((str(tmp_path), config.to_dict()))
    assert summary["resumed_from"] is None
    assert [e.epoch for e in Store(tmp_path).epochs(config.run_id)] == [0, 1, 2, 3]


def test_unusable_stores_give_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no lrlab store in"):
        Store(tmp_path / "nothing", create=False)
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / FILENAME).write_text("not a database")
    with pytest.raises(StoreError, match="cannot use the store"):
        Store(tmp_path / "bad")
    locked = Store(tmp_path / "locked")
    locked.db.execute("BEGIN IMMEDIATE")
    other = Store(tmp_path / "locked")
    other.db.execute("PRAGMA busy_timeout = 50")
    with pytest.raises(StoreError, match="cannot write the store"):
        other.register(configs()[0])
    locked.db.execute("ROLLBACK")


@pytest.mark.slow
def test_a_process_pool_gives_the_same_results(tmp_path: Path) -> None:
    pooled = {
        r["id"]: r["status"] for r in run_all(str(tmp_path / "pool"), configs(), ProcessPool(2))
    }
    serial = {
        r["id"]: r["status"] for r in run_all(str(tmp_path / "serial"), configs(), InProcess())
    }
    assert pooled == serial
    for config in configs():
        a = Store(tmp_path / "pool").epochs(config.run_id)
        b = Store(tmp_path / "serial").epochs(config.run_id)
        # every run trains on config.threads (1) torch threads, whatever the executor
        assert [e.val_loss for e in a] == [e.val_loss for e in b]
