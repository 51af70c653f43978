"""Own training: lrlab compare --train module:function, on the same Run handle as the lab."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lrlab.lab.compare import ExperimentError, compare
from lrlab.lab.experiment import Experiment, ScheduleEntry
from lrlab.lab.store import CHECKPOINTS, Store

SCHEDULES = (
    ScheduleEntry(name="flat", spec="constant(value={lr})"),
    ScheduleEntry(name="step", spec="StepLR(lr={lr}, step_size=1, gamma=0.5)"),
    ScheduleEntry(name="cos", spec="cosine(init={lr}, steps={steps})", per="batch"),
)


def experiment(train: str, **keys: object) -> Experiment:
    values: dict[str, object] = {"epochs": 3, "seeds": (0, 1, 2), "lr": 0.2}
    values.update(keys)
    return Experiment(train=f"tests.lab.trainables:{train}", schedules=SCHEDULES, **values)  # type: ignore[arg-type]


def test_own_training_is_stored_ranked_and_reported(tmp_path: Path) -> None:
    done = compare(experiment("regression", rank_by="val_mse"), tmp_path)
    assert not done.failed
    assert done.summary.metric == "val_mse"
    assert done.summary.experiment.rank_mode == "min"
    means = [sum(r.final) / len(r.final) for r in done.summary.rows]
    assert means == sorted(means)  # smallest mse first
    with Store(tmp_path, read_only=True) as store:
        runs = store.runs()
        assert [r.status for r in runs] == ["finished"] * 9
        assert all(r.warnings == () for r in runs)
        step = next(m.run for m in store.members() if m.schedule == "step")
        assert [e.lr for e in store.epochs(step)] == [0.2, 0.1, 0.05]  # per epoch, by itself
        assert len(store.lrs(step)) == 12  # what the optimizer used, every step
    page = done.report.read_text()
    assert "val_mse" in page
    assert "tests.lab.trainables:regression" in page


def test_a_python_function_in_process(tmp_path: Path) -> None:
    from tests.lab.trainables import regression

    calls = []

    def mine(run):  # type: ignore[no-untyped-def]
        calls.append(run.seed)
        regression(run)

    done = compare(Experiment(epochs=2, seeds=(0,), schedules=SCHEDULES[:1]), tmp_path, train=mine)
    assert calls == [0]
    assert not done.failed
    from lrlab.lab.runner import ProcessPool

    with pytest.raises(ExperimentError, match="cannot go to worker processes"):
        compare(
            Experiment(epochs=2, seeds=(0,)), tmp_path / "p", train=mine, executor=ProcessPool(2)
        )


def test_failures_are_results(tmp_path: Path) -> None:
    done = compare(experiment("fails_on_seed_1"), tmp_path)
    assert {o.status for o in done.failed} == {"failed"}
    assert len(done.failed) == 3  # seed 1 of each schedule; the others went on
    with Store(tmp_path, read_only=True) as store:
        failed = [r for r in store.runs() if r.status == "failed"]
    assert all(r.reason == "RuntimeError: seed 1 is cursed" for r in failed)
    assert all("Traceback" in (r.error or "") for r in failed)


@pytest.mark.parametrize(
    ("train", "status", "words"),
    [
        ("returns_early", "failed", "returned after 1 of 3 epochs"),
        ("reports_twice", "failed", "twice in one epoch"),
        ("unsaveable_state", "failed", "torch.save cannot write the state"),
        ("reports_nan", "diverged", None),
    ],
)
def test_misuse_is_named(tmp_path: Path, train: str, status: str, words: str | None) -> None:
    done = compare(experiment(train, seeds=(0,)), tmp_path)
    ends = {o.status for o in done.outcomes}
    assert ends == {status}
    if words is not None:
        errors = [o.error or "" for o in done.outcomes]
        assert all(words in e for e in errors), errors
    if train in ("reports_twice", "unsaveable_state"):  # raised in the function: where
        with Store(tmp_path, read_only=True) as store:
            stored = [r.error or "" for r in store.runs()]
        assert all(f"in {train}" in e.split("\n\n", 1)[1] for e in stored), stored


def test_a_forgotten_scheduler_step_is_a_warning(tmp_path: Path) -> None:
    done = _cli(
        "compare", "--train", "tests.lab.trainables:forgets_the_scheduler", "--seeds", "1",
        "--epochs", "3", "--out", str(tmp_path / "cli"),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (line,) = done.stderr.splitlines()  # compare says so, not only `lrlab runs`
    assert line.startswith("lrlab: warning: 10 runs have warnings, e.g. ")
    assert "scheduler.step() was called 0 times" in line
    compare(experiment("forgets_the_scheduler", seeds=(0,)), tmp_path)
    with Store(tmp_path, read_only=True) as store:
        cos = next(m.run for m in store.members() if m.schedule == "cos")
        (run,) = store.runs([cos])
    assert any("scheduler.step() was called 0 times for 2" in w for w in run.warnings)
    code = subprocess.run(
        [sys.executable, "-m", "lrlab", "runs", str(tmp_path)],
        check=False,
        capture_output=True,
        text=True,
    )
    assert "warnings" in code.stdout


def test_a_big_checkpoint_is_a_file_beside_the_store(tmp_path: Path) -> None:
    from lrlab.lab.run import Run
    from lrlab.lab.runner import run_all

    config = experiment("big_state", seeds=(0,)).configs()[0]

    class Stop(Exception):
        pass

    with Store(tmp_path) as store:
        store.register(config.run_id, config.to_dict())
        from tests.lab.trainables import big_state

        def commit(epochs, data):  # type: ignore[no-untyped-def]
            store.save_epochs(config.run_id, epochs, data)
            if epochs[-1].epoch == 1:
                raise Stop

        with pytest.raises(Stop):
            Run(
                config, commit=commit, checkpoint_overhead=math.inf, commit_overhead=math.inf
            ).execute(big_state)
        files = sorted(p.name for p in (tmp_path / CHECKPOINTS).iterdir())
        assert files == [f"{config.run_id}.1.pt"]  # the superseded one is gone
        assert store.db.execute("SELECT length(data) FROM checkpoints").fetchone()[0] == 0
    (end,) = run_all(str(tmp_path), [config])
    assert (end.status, end.resumed_from, end.error) == ("finished", 2, None)
    assert list((tmp_path / CHECKPOINTS).iterdir()) == []


def _cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(Path.cwd())}
    return subprocess.run(
        [sys.executable, "-m", "lrlab", *args],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
    )


def test_a_train_that_does_not_import_is_exit_2(tmp_path: Path) -> None:
    done = _cli("compare", "--train", "no_such_mod:train", "--out", str(tmp_path / "o"))
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert "cannot import 'no_such_mod'" in done.stderr
    done = _cli("compare", "--train", "m:f", "--model", "cnn", "--out", str(tmp_path / "o"))
    assert done.returncode == 2
    assert "model does not apply to own training" in done.stderr


@pytest.mark.slow
def test_sigkill_then_resume_with_two_jobs_equals_an_uninterrupted_run(tmp_path: Path) -> None:
    args = ["--train", "tests.lab.trainables:regression", "--epochs", "40", "--seeds", "2"]
    args += ["--schedule", "constant(value={lr})", "--schedule", "cosine(init={lr}, steps={steps})"]
    args += ["--lr", "0.05", "--quiet", "--rank-by", "val_mse"]
    whole = _cli("compare", *args, "--out", str(tmp_path / "whole"))
    assert whole.returncode == 0, whole.stderr
    env = {**os.environ, "PYTHONPATH": str(Path.cwd())}
    cut = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "lrlab",
            "compare",
            *args,
            "--jobs",
            "2",
            "--out",
            str(tmp_path / "cut"),
        ],
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        time.sleep(0.2)
        try:
            with Store(tmp_path / "cut", read_only=True) as store:
                if store.epochs_done() >= 30:
                    break
        except Exception:
            continue
    os.killpg(cut.pid, signal.SIGKILL)
    cut.wait()
    again = _cli("compare", *args, "--jobs", "2", "--out", str(tmp_path / "cut"))
    assert again.returncode == 0, again.stderr
    with (
        Store(tmp_path / "whole", read_only=True) as a,
        Store(tmp_path / "cut", read_only=True) as b,
    ):
        for run in a.runs():
            ours, theirs = a.epochs(run.id), b.epochs(run.id)
            assert [e.epoch for e in theirs] == list(range(40))  # each epoch once
            assert [e.metrics for e in theirs] == [e.metrics for e in ours]


def test_the_regression_example_runs_in_the_lab(tmp_path: Path) -> None:
    e = Experiment(
        train="examples.own_regression:train",
        rank_by="val_mse",
        epochs=2,
        seeds=(0, 1),
        lr=0.05,
        schedules=SCHEDULES[:2],
    )
    done = compare(e, tmp_path)
    assert not done.failed
    assert done.summary.others == ["val_loss", "val_mae"]
    from lrlab.lab.listing import run_views, runs_table

    with Store(tmp_path, read_only=True) as store:
        rows = runs_table(run_views(store))
    assert all(row[6].startswith("val_mse=") for row in rows[1:])  # what it ranks by
    assert all(len(r.final) == 2 for r in done.summary.rows)


def test_the_lightning_example_follows_the_schedule_and_resumes_exactly(tmp_path: Path) -> None:
    from examples.own_lightning import train as lightning_train

    from lrlab.lab.config import TrainConfig
    from lrlab.lab.run import Run

    plateau = ScheduleEntry(name="plateau", spec="ReduceLROnPlateau(lr={lr}, patience=0)")
    e = Experiment(
        train="examples.own_lightning:train",
        rank_by="val_mse",
        epochs=3,
        seeds=(0,),
        lr=0.05,
        schedules=(*SCHEDULES[1:], plateau),
    )
    done = compare(e, tmp_path)
    assert not done.failed
    with Store(tmp_path, read_only=True) as store:
        runs = store.runs()
    assert [r.warnings for r in runs] == [()] * 3  # Lightning stepped as the lab asks
    assert {r.epochs_done for r in runs} == {3}

    config = TrainConfig(
        epochs=3, lr=0.05, schedule="cosine(init={lr}, steps={steps})", per="batch",
        train="examples.own_lightning:train",
    )  # fmt: skip
    every = {"checkpoint_overhead": math.inf, "commit_overhead": math.inf}
    whole = Run(config, **every)
    assert whole.execute(lightning_train).status == "finished"
    saved: list[tuple[object, bytes | None]] = []

    class Cut(Exception):
        pass

    def cut_after_epoch_1(epochs, data):  # type: ignore[no-untyped-def]
        saved.append((epochs[-1], data))
        if epochs[-1].epoch == 1:
            raise Cut

    with pytest.raises(Cut):
        Run(config, commit=cut_after_epoch_1, **every).execute(lightning_train)
    resumed = Run(config, checkpoint=saved[-1][1], history=[e for e, _ in saved])
    assert resumed.execute(lightning_train).status == "finished"
    assert [e.metrics for e in resumed.history] == [e.metrics for e in whole.history]
    assert resumed.lrs == whole.lrs
