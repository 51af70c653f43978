"""What a second hostile sweep found: each bad input a clear exit 2 (or 1), no hang."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from lrlab.lab.store import FILENAME, Store
from tests.cli import run

SMALL = ["--model", "mlp-bn", "--epochs", "1", "--seeds", "1", "--quiet"]
ONE = ["--schedule", "constant(value={lr})"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--seeds", "100000000"], "seeds must be at most 1000, got 100000000"),
        (["--rank-by", "val_acc"], "rank_by 'val_acc' is not a metric the built-in trainer"),
        (["--jobs", "100000"], "expected at most 256 workers, got '100000'"),
        (["--schedule", ""], "schedules: a schedule must be a spec, got ''"),
    ],
)
def test_flags_are_bounded(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: list[str], message: str
) -> None:
    base = ["--model", "mlp-bn", "--epochs", "1", "--quiet", *ONE]
    code, _, err = run(capsys, "compare", *base, *argv, "--out", str(tmp_path / "o"))
    assert code == 2
    assert err.count("\n") == 1
    assert message in err
    assert not (tmp_path / "o").exists()


EXITS = """
import sys
import torch

class Quitter(torch.nn.Module):
    def __init__(self, n_features, n_classes):
        super().__init__()
        self.layer = torch.nn.Linear(n_features, n_classes)
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        if self.calls > 5:  # after the pre-training check, during the run
            sys.exit(0)
        return self.layer(x)

def quitter(n_features, n_classes):
    return Quitter(n_features, n_classes)

def base(n_features, n_classes):
    raise BaseException("base")
"""


def test_a_model_that_exits_during_training_fails_its_run(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "exits.py").write_text(EXITS)
    monkeypatch.syspath_prepend(str(tmp_path))
    argv = ["--epochs", "1", "--seeds", "1", "--quiet", *ONE]
    code, out, err = run(capsys, "compare", "--model", "exits:quitter", *argv, "--out", "o")
    assert code == 1
    assert "it called sys.exit(0)" in err
    assert "ranks first" not in out
    with Store(Path("o"), read_only=True) as store:
        (record,) = store.runs()
    assert (record.status, record.reason) == ("failed", "it called sys.exit(0)")
    code, _, err = run(capsys, "compare", "--model", "exits:base", *argv, "--out", "p")
    assert code == 2
    assert err == "lrlab: error: model 'exits:base': the factory failed: BaseException: base\n"


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def test_pipes_are_not_files(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    fifo = tmp_path / "f.csv"
    os.mkfifo(fifo)
    code, _, err = run(capsys, "compare", *SMALL, *ONE, "--dataset", str(fifo), "--out", "o")
    assert code == 2
    assert err == (
        f"lrlab: error: dataset {str(fifo)!r}: is not a regular file (a device or a pipe?)\n"
    )
    code, _, err = run(capsys, "compare", "--config", str(fifo), "--out", "o")
    assert code == 2
    assert err == f"lrlab: error: config: {str(fifo)!r} is not a regular file\n"


def test_a_bom_in_a_toml_file_is_fine(tmp_path: Path) -> None:
    from lrlab.lab.experiment import read_toml

    path = tmp_path / "e.toml"
    path.write_bytes(b"\xef\xbb\xbfepochs = 3\n")
    assert read_toml(path) == {"epochs": 3}


def test_one_huge_outlier_is_named(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 4))
    x[199] = 1e308
    np.savez(tmp_path / "outlier.npz", x=x, y=np.repeat([0, 1], 100))
    argv = ["--dataset", str(tmp_path / "outlier.npz"), "--model", "mlp", "--out", "o"]
    code, _, err = run(capsys, "compare", *SMALL[2:], *ONE, *argv)
    assert code == 2
    assert err.count("\n") == 1
    assert "column 1 has outliers (up to 1e+308) so far out that every other value" in err


@pytest.mark.parametrize(
    ("sql", "what"),
    [
        ("UPDATE runs SET config = '{not json'", "is not JSON"),
        ("UPDATE epochs SET metrics = '[1, 2]'", "is not a JSON object"),
        ('UPDATE epochs SET metrics = \'{"val_accuracy": "abc"}\'', "not a number"),
        ("UPDATE runs SET status = 'weird'", "unknown status 'weird'"),
    ],
)
def test_damaged_rows_are_store_errors(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, sql: str, what: str
) -> None:
    assert run(capsys, "compare", *SMALL, *ONE, "--out", "o")[0] == 0
    with sqlite3.connect(tmp_path / "o" / FILENAME) as db:
        db.execute(sql)
    db.close()
    for argv in (["runs", "o"], ["runs", "o", "--json"], ["report", "o"]):
        code, _, err = run(capsys, *argv)
        assert code == 2, argv
        assert err.count("\n") == 1
        assert what in err


@pytest.mark.slow
def test_sigterm_stops_the_workers_too(tmp_path: Path) -> None:
    argv = ["compare", "--model", "mlp-bn", "--epochs", "40", "--seeds", "2", *ONE]
    command = [sys.executable, "-m", "lrlab", *argv, "--jobs", "2", "--quiet", "--out", "o"]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # until a worker has committed an epoch
        if (tmp_path / "o" / FILENAME).exists():
            try:
                with Store(tmp_path / "o", read_only=True) as store:
                    if store.epochs_done():
                        break
            except Exception:  # still being created
                pass
        time.sleep(0.05)
    children = subprocess.run(
        ["pgrep", "-P", str(process.pid)], capture_output=True, text=True, check=False
    ).stdout.split()
    assert children
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130
    assert err.strip().endswith("interrupted; run the same command again to resume")
    time.sleep(1)
    alive = [pid for pid in children if Path(f"/proc/{pid}").exists()]
    assert alive == []
