"""Store and runner: skip finished runs, resume interrupted ones exactly, survive SIGKILL."""

from __future__ import annotations

from pathlib import Path

import pytest

from lrlab.lab.config import TrainConfig
from lrlab.lab.records import Epoch
from lrlab.lab.runner import InProcess, ProcessPool, run_all
from lrlab.lab.store import Store, StoreError
from lrlab.lab.train import Checkpoint, train

FAST = {"epochs": 4, "batch_size": 128}


def configs() -> list[TrainConfig]:
    return [
        TrainConfig(schedule="constant(value={lr})", seed=0, **FAST),
        TrainConfig(schedule="cosine(init={lr}, steps={epochs})", seed=0, **FAST),
    ]


def test_runs_then_skips_what_is_done(tmp_path: Path) -> None:
    first = list(run_all(str(tmp_path), configs()))
    assert [r.status for r in first] == ["finished", "finished"]
    assert not any(r.skipped for r in first)
    again = list(run_all(str(tmp_path), configs()))
    assert all(r.skipped for r in again)
    with Store(tmp_path, read_only=True) as store:
        runs = store.runs()
        assert [r.epochs_done for r in runs] == [4, 4]
        assert {r.engine for r in runs} == {"sequential"}
        assert all(r.node for r in runs)
        assert all(0 < r.final["test_accuracy"] <= 1 for r in runs)
        last = store.epochs(configs()[1].run_id)[-1]
        assert last["val_loss"] == train(configs()[1]).epochs[-1]["val_loss"]
        assert len(store.lrs(configs()[0].run_id)) > 0


class Stop(Exception):
    pass


def _interrupt(store: Store, config: TrainConfig, *, after: int) -> None:
    """Train ``config`` and stop it once epoch ``after`` is committed."""
    store.register(config.run_id, config.to_dict())

    def commit_then_stop(epoch: Epoch, checkpoint: Checkpoint | None) -> None:
        store.save_epochs(config.run_id, [epoch], checkpoint)
        if epoch.epoch == after:
            raise Stop

    with pytest.raises(Stop):
        train(config, on_epoch=commit_then_stop)


def test_an_interrupted_run_resumes_from_its_last_epoch(tmp_path: Path) -> None:
    config = configs()[1]
    with Store(tmp_path) as store:
        _interrupt(store, config, after=1)
        assert store.status(config.run_id) == "running"
    (summary,) = run_all(str(tmp_path), [config])
    assert summary.resumed_from == 2
    with Store(tmp_path, read_only=True) as store:
        epochs = store.epochs(config.run_id)
    assert [e.epoch for e in epochs] == [0, 1, 2, 3]
    assert [e.metrics for e in epochs] == [e.metrics for e in train(config).epochs]


def test_a_corrupt_checkpoint_trains_the_run_again_keeping_its_epochs(tmp_path: Path) -> None:
    config = configs()[0]
    with Store(tmp_path) as store:
        _interrupt(store, config, after=0)
        with store.transaction() as db:
            db.execute("UPDATE checkpoints SET data = x'00ff'")
        assert store.checkpoint(config.run_id) == b"\x00\xff"  # bytes: the store never reads it
    (summary,) = run_all(str(tmp_path), [config])
    assert summary.resumed_from == 1  # epoch 0 is trained again, checked, not committed again
    with Store(tmp_path, read_only=True) as store:
        epochs = store.epochs(config.run_id)
        (run,) = store.runs([config.run_id])
    assert [e.epoch for e in epochs] == [0, 1, 2, 3]
    assert [e.metrics for e in epochs] == [e.metrics for e in train(config).epochs]
    (warning,) = run.warnings  # said, not silent
    assert warning.startswith("[checkpoint] the committed checkpoint could not be used (")


def test_a_failing_run_is_failed_with_its_error(tmp_path: Path) -> None:
    config = TrainConfig(schedule="cosine(init={lr}, steps={bad})", **FAST)
    (summary,) = run_all(str(tmp_path), [config])
    assert summary.status == "failed"
    assert summary.error is not None
    assert "unknown placeholder '{bad}'" in summary.error
    with Store(tmp_path, read_only=True) as store:
        (run,) = store.runs()
    assert run.status == "failed"
    assert run.error is not None
    first, traceback = run.error.split("\n\n", 1)  # the line, then where it was raised
    assert first == summary.error
    assert traceback.startswith("Traceback (most recent call last):")
    assert "in schedule_for" in traceback


def test_a_busy_store_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("lrlab.lab.store.BUSY_SECONDS", 0.05)
    with Store(tmp_path / "locked") as locked, Store(tmp_path / "locked") as other:
        with (
            locked.transaction(),
            pytest.raises(StoreError, match=r"locked by another process.*waited 0\.05 s"),
        ):
            other.register("r", {})
        other.register("r", {})  # once the other writer is done


@pytest.mark.slow
@pytest.mark.parametrize("start_method", ["fork", "spawn"])
def test_a_process_pool_gives_the_same_results(tmp_path: Path, start_method: str) -> None:
    pool = ProcessPool(2, start_method=start_method)
    pooled = {r.id: r.status for r in run_all(str(tmp_path / "pool"), configs(), pool)}
    serial = {r.id: r.status for r in run_all(str(tmp_path / "serial"), configs(), InProcess())}
    assert pooled == serial
    with Store(tmp_path / "pool") as a, Store(tmp_path / "serial") as b:
        for config in configs():
            # every run trains on config.threads (1) torch threads, whatever the executor
            assert [e.metrics for e in a.epochs(config.run_id)] == [
                e.metrics for e in b.epochs(config.run_id)
            ]
