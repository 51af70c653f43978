"""The store: typed records, schema version and upgrade, read-only reads that never write."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from lrlab.cli import main
from lrlab.lab.records import Epoch, Outcome
from lrlab.lab.store import FILENAME, SCHEMA_VERSION, Store, StoreError

FIXTURE = Path(__file__).parent / "fixtures" / "store_v1.sqlite"
"""A store written by lrlab before schema versions (version 1): a 2-schedule x 3-seed
compare of 2 epochs, plus one run interrupted after its first epoch (with a checkpoint)."""


def _digest(directory: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.iterdir())}


@pytest.fixture
def v1(tmp_path: Path) -> Path:
    directory = tmp_path / "v1"
    directory.mkdir()
    shutil.copy(FIXTURE, directory / FILENAME)
    return directory


def test_a_version_1_store_reads_as_it_is_without_a_write(v1: Path) -> None:
    before = _digest(v1)
    with Store(v1, read_only=True) as store:
        assert store.version == 1
        runs = store.runs()
        epochs = store.epochs(runs[0].id)
    assert _digest(v1) == before  # no upgrade, no WAL files, nothing
    assert [r.status for r in runs] == ["finished"] * 6 + ["running"]
    assert runs[0].final == {"test_accuracy": pytest.approx(0.974074, abs=1e-6)}
    assert set(epochs[0].metrics) == {"train_loss", "val_loss", "val_accuracy"}


def test_a_version_1_store_is_upgraded_exactly_when_opened_for_writing(v1: Path) -> None:
    with Store(v1, read_only=True) as old:
        runs = old.runs()
        epochs = {r.id: old.epochs(r.id) for r in runs}
        experiments = old.experiments()
        checkpoint = old.checkpoint(runs[-1].id)
    with Store(v1) as store:
        assert store.version == SCHEMA_VERSION
        assert store.runs() == runs
        assert {r.id: store.epochs(r.id) for r in runs} == epochs
        assert store.experiments() == experiments
        assert store.checkpoint(runs[-1].id) == checkpoint is not None
        version = store.db.execute("PRAGMA user_version").fetchone()[0]
    assert version == SCHEMA_VERSION


def test_the_upgraded_store_resumes_the_interrupted_run(v1: Path) -> None:
    from lrlab.lab.config import TrainConfig
    from lrlab.lab.runner import run_all

    with Store(v1, read_only=True) as store:
        run = store.runs()[-1]
    (end,) = run_all(str(v1), [TrainConfig(**dict(run.config))])
    assert (end.status, end.resumed_from) == ("finished", 1)
    with Store(v1, read_only=True) as store:
        got = store.epochs(run.id)
    from lrlab.lab.train import train

    fresh = train(TrainConfig(**run.config)).epochs
    # the fixture's epoch was trained on another CPU: float32 kernels differ in the last bits
    assert [e.epoch for e in got] == [e.epoch for e in fresh]
    for ours, theirs in zip(got, fresh, strict=True):
        assert ours.metrics == pytest.approx(theirs.metrics, rel=1e-4)


def test_a_newer_store_is_refused(tmp_path: Path) -> None:
    with Store(tmp_path) as store:
        store.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    for read_only in (True, False):
        with pytest.raises(StoreError, match=rf"schema version {SCHEMA_VERSION + 1}, written by"):
            Store(tmp_path, read_only=read_only)


def test_a_foreign_database_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / FILENAME
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE songs (title TEXT)")
    before = _digest(tmp_path)
    with pytest.raises(StoreError, match=r"is not an lrlab store \(its tables: songs\)"):
        Store(tmp_path, read_only=True)
    with pytest.raises(StoreError, match=r"is not an lrlab store \(its tables: songs\)"):
        Store(tmp_path)
    assert _digest(tmp_path) == before


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is not an lrlab store: the file is empty"),
        (b"not a database at all, just text" * 100, "damaged or not a database"),
    ],
)
def test_unreadable_files_are_store_errors(tmp_path: Path, content: bytes, message: str) -> None:
    (tmp_path / FILENAME).write_bytes(content)
    with pytest.raises(StoreError, match=message):
        Store(tmp_path, read_only=True)
    assert (tmp_path / FILENAME).read_bytes() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == [FILENAME]


def test_a_page_corrupted_store_is_a_store_error(v1: Path) -> None:
    data = bytearray((v1 / FILENAME).read_bytes())
    data[4096 * 3 : 4096 * 6] = b"\xa5" * (4096 * 3)
    (v1 / FILENAME).write_bytes(bytes(data))

    def read_all() -> None:
        with Store(v1, read_only=True) as store:
            for run in store.runs():
                store.epochs(run.id)
                store.lrs(run.id)

    with pytest.raises(StoreError, match="damaged or not a database"):
        read_all()


def test_no_store_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no lrlab store in"):
        Store(tmp_path / "nothing", read_only=True)
    assert not (tmp_path / "nothing").exists()


def test_a_read_only_store_refuses_writes(tmp_path: Path) -> None:
    Store(tmp_path).close()
    with (
        Store(tmp_path, read_only=True) as store,
        pytest.raises(StoreError, match="opened read-only"),
    ):
        store.register("r", {})


def test_records_round_trip(tmp_path: Path) -> None:
    with Store(tmp_path) as store:
        store.register("r", {"lr": 0.1, "seed": 3})
        epoch = Epoch(epoch=0, lr=0.1, seconds=0.25, metrics={"val_mse": 1 / 3, "loss": 0.5})
        store.save_epochs("r", [epoch], b"x")
        store.finish(
            "r",
            Outcome(
                status="finished",
                steps_per_epoch=7,
                lrs=((0, 0.1), (3, 0.05)),
                final={"test_mse": 0.125},
                node="here",
            ),
        )
        (run,) = store.runs()
        assert store.epochs("r") == [epoch]
        assert store.lrs("r") == [(0, 0.1), (3, 0.05)]
        assert store.checkpoint("r") is None  # dropped when the run finished
    assert (run.status, run.steps_per_epoch, run.final, run.engine, run.node) == (
        "finished",
        7,
        {"test_mse": 0.125},
        "sequential",
        "here",
    )
    assert run.seconds == 0.25
    assert run.config == {"lr": 0.1, "seed": 3}


def test_runs_json_has_every_run_and_metric(v1: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = _digest(v1)
    assert main(["runs", str(v1), "--json"]) == 0
    assert _digest(v1) == before
    document = json.loads(capsys.readouterr().out)
    runs = document["runs"]
    assert len(runs) == 7
    keys = {"id", "experiment", "schedule", "seed", "status", "engine", "node", "error", "epochs"}
    assert all(keys <= set(run) for run in runs)
    assert [r["schedule"] for r in runs[:2]] == ["constant", "cos"]
    assert runs[-1]["experiment"] is None
    assert runs[-1]["status"] == "running"
    assert [len(r["epochs"]) for r in runs] == [2] * 6 + [1]
    assert set(runs[0]["epochs"][0]) == {
        "epoch",
        "lr",
        "seconds",
        "train_loss",
        "val_loss",
        "val_accuracy",
    }


def test_runs_filters_by_experiment(v1: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with Store(v1, read_only=True) as store:
        (experiment,) = store.experiments()
    assert main(["runs", str(v1), "--experiment", experiment.id[:6]]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 7  # header and the six members; not the stray run
    assert lines[0].split() == [
        "id",
        "experiment",
        "schedule",
        "seed",
        "status",
        "epochs",
        "last",
        "metric",
        "time",
        "s",
        "node",
    ]
    assert main(["runs", str(v1), "--experiment", "zzz"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lrlab: error: no experiment with id 'zzz' in the store (known: ")
    assert err.count("\n") == 1


def test_reading_commands_load_no_torch(v1: Path) -> None:
    code = (
        "import sys\n"
        "import lrlab.lab.store, lrlab.lab.report, lrlab.lab.experiment, lrlab.lab.listing\n"
        "import lrlab.lab.ranking, lrlab.lab.records, lrlab.lab.config\n"
        "from lrlab.cli import main\n"
        f"assert main(['runs', {str(v1)!r}]) == 0\n"
        f"assert main(['report', {str(v1)!r}]) == 0\n"
        "print(sorted(m for m in ('torch', 'sklearn') if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.splitlines()[-1] == "[]"


SMALL = ["--model", "mlp-bn", "--epochs", "2", "--seeds", "1", "--quiet"]
ONE = ["--schedule", "constant(value={lr})"]


def test_after_compare_the_store_is_one_plain_file_that_readers_leave_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert main(["compare", *SMALL, *ONE, "--out", str(out)]) == 0
    before = _digest(out)
    assert not any(name.startswith(FILENAME + "-") for name in before)  # no -wal, no -shm
    assert main(["runs", str(out)]) == 0
    assert main(["runs", str(out), "--json"]) == 0
    with Store(out, read_only=True) as store:
        store.runs()
    assert _digest(out) == before
    capsys.readouterr()


def test_a_failing_store_write_is_exit_1_with_the_store_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from lrlab.lab.store import StoreWriteError

    def full(*_: object, **__: object) -> None:
        raise StoreWriteError(f"cannot write the store {str(tmp_path)!r}: database or disk is full")

    monkeypatch.setattr(Store, "save_epochs", full)
    assert main(["compare", *SMALL, *ONE, "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert err.splitlines() == [
        f"lrlab: failed: cannot write the store {str(tmp_path)!r}: database or disk is full"
    ]


def test_a_refused_compare_leaves_no_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "a" / "b" / "out"
    code = main(["compare", *SMALL, "--schedule", "nope(x=1)", "--out", str(out)])
    assert code == 2
    assert capsys.readouterr().err.count("\n") == 1
    assert not (tmp_path / "a").exists()
