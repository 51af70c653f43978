"""Experiments and `lrlab compare/runs/report` end to end (the ranking: test_ranking.py)."""

from __future__ import annotations

import json
import os
import platform
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lrlab.lab.experiment import Experiment, ScheduleEntry, default_schedules
from lrlab.lab.report import summarise
from lrlab.lab.store import FILENAME, Store, StoreError
from lrlab.lab.train import train
from tests.cli import run

SMALL = ["--epochs", "2", "--batch-size", "128", "--seeds", "2", "--quiet"]
TWO = ["--schedule", "constant(value={lr})", "--schedule", "cos=cosine(init={lr}, steps={steps})"]


# --- experiments ---------------------------------------------------------------------------


def test_the_default_set_is_the_tutorials_ten_scaled_to_the_budget() -> None:
    names = [e.name for e in default_schedules(30)]
    assert names == [
        "constant",
        "StepLR",
        "MultiStepLR",
        "ExponentialLR",
        "CosineAnnealingLR",
        "CosineAnnealingWarmRestarts",
        "CyclicLR",
        "OneCycleLR",
        "ReduceLROnPlateau",
        "warmup+cosine",
    ]
    experiment = Experiment(epochs=30)
    experiment.check_schedules(steps_per_epoch=20)
    assert [e.per for e in experiment.schedules].count("batch") == 3
    for epochs in (2, 3, 7, 100):
        Experiment(epochs=epochs).check_schedules(steps_per_epoch=5)


def test_configs_are_seed_major_and_ids_are_stable() -> None:
    e = Experiment(epochs=3, seeds=(4, 7))
    configs = e.configs()
    assert [c.seed for c in configs] == [4] * 10 + [7] * 10
    assert len({c.run_id for c in configs}) == 20
    assert Experiment.from_mapping(e.to_dict()) == e
    assert Experiment.from_mapping(e.to_dict()).id == e.id
    assert Experiment(epochs=4).id != e.id


def test_toml_round_trip_and_forms(tmp_path: Path) -> None:
    path = tmp_path / "e.toml"
    path.write_text(
        'name = "mine"\nlr = 1\nseeds = 2\nschedules = ["constant(value={lr})", '
        '"late=step(init={lr}, period=2)"]\n'
        "[[schedules_]]\n".replace("[[schedules_]]\n", "")
    )
    e = Experiment.from_toml(path)
    assert (e.name, e.lr, e.seeds) == ("mine", 1.0, (0, 1))
    assert [(s.name, s.spec) for s in e.schedules] == [
        ("constant", "constant(value={lr})"),
        ("late", "step(init={lr}, period=2)"),
    ]
    path.write_text(
        'seeds = [3, 5]\n[[schedules]]\nspec = "cosine(init={lr}, steps={steps})"\nper = "batch"\n'
    )
    e = Experiment.from_toml(path)
    assert e.seeds == (3, 5)
    assert e.schedules == (
        ScheduleEntry(name="cosine", spec="cosine(init={lr}, steps={steps})", per="batch"),
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("epoch = 3", "unknown key 'epoch'; did you mean 'epochs'?"),
        ("lr = -1.0", "lr must be a number in (0, 1e6] or 'auto', got -1.0"),
        ("optimizer = 'rmsprop'", "optimizer must be one of"),
        ("seeds = [1, 1]", "seeds must be distinct"),
        ("epochs = 0", "epochs must be"),
        ("schedules = [{spec = 'constant(value={lr})', every = 2}]", "unknown key 'every'"),
        ("schedules = [{spec = 'constant(value={lr})', per = 'step'}]", "per must be one of"),
        ("lr = ", "is not valid TOML"),
    ],
)
def test_bad_config_names_the_key_and_value(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text + "\n")
    with pytest.raises(ValueError, match=re.escape(message)):
        Experiment.from_toml(path)


# --- the command line ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--schedule", "cosine(init={lr}, step={steps})"],
            "cosine has no parameter 'step'; did you mean 'steps'?",
        ),
        (["--schedule", "constant(value={rate})"], "unknown placeholder '{rate}'"),
        (["--dataset", "nowhere.npz"], "nowhere.npz"),
        (["--model", "resnet"], "unknown model 'resnet'"),
        (["--lr", "fast"], "expected a number or 'auto', got 'fast'"),
        (
            ["--schedule", "a=constant(value={lr})", "--schedule", "a=step(init={lr}, period=2)"],
            "schedule names must be distinct",
        ),
    ],
)
def test_bad_compare_input_exits_2_before_training(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: list[str], message: str
) -> None:
    out = tmp_path / "out"
    code, stdout, err = run(capsys, "compare", *SMALL, *argv, "--out", str(out))
    assert code == 2
    assert stdout == ""
    assert err.count("\n") == 1
    assert message in err
    assert not out.exists()


def test_bad_config_file_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "e.toml"
    path.write_text("epochs = 2\nbatchsize = 64\n")
    code, _, err = run(capsys, "compare", "--config", str(path), "--out", str(tmp_path / "o"))
    assert code == 2
    assert err == f"lrlab: error: {path}: unknown key 'batchsize'; did you mean 'batch_size'?\n"


def test_compare_runs_ranks_reports_then_reuses_the_store(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = str(tmp_path / "out")
    code, stdout, err = run(capsys, "compare", *SMALL, *TWO, "--out", out)
    assert (code, err) == (0, "")
    assert stdout.splitlines()[0].split()[:3] == ["#", "schedule", "final"]
    assert "ranks first" in stdout
    assert stdout.rstrip().endswith(f"report: {Path(out) / 'report.html'}")
    with Store(out, read_only=True) as store:
        runs = store.runs()
        assert [r.status for r in runs] == ["finished"] * 4
        assert store.epochs_done() == 8
        # the stored numbers are the trainer's numbers
        experiment = Experiment.from_mapping(store.experiments()[0].config)
        config = experiment.configs(lr=0.1)[3]
        assert [e.metrics for e in store.epochs(config.run_id)] == [
            e.metrics for e in train(config).epochs
        ]

    code, again, _ = run(capsys, "compare", *SMALL, *TWO, "--out", out)
    assert code == 0
    assert again == stdout  # nothing re-trained: the same table from the same rows
    with Store(out, read_only=True) as store:
        assert store.epochs_done() == 8

    code, listing, _ = run(capsys, "runs", out)
    assert code == 0
    lines = listing.splitlines()
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
    assert all(line.split()[6].startswith("val_accuracy=") for line in lines[1:])
    assert all(line.split()[-1] == platform.node() for line in lines[1:])
    assert sorted(line.split()[2] for line in lines[1:]) == ["constant", "constant", "cos", "cos"]
    assert all("finished" in line and "2/2" in line for line in lines[1:])

    (Path(out) / "report.html").unlink()
    code, text, _ = run(capsys, "report", out)
    assert code == 0
    assert text == stdout
    assert (Path(out) / "report.html").exists()


def test_report_and_runs_need_a_store(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    for command in ("runs", "report"):
        code, _, err = run(capsys, command, str(tmp_path))
        assert code == 2
        assert err == f"lrlab: error: no lrlab store in {str(tmp_path)!r} (no {FILENAME})\n"


def test_a_diverging_schedule_is_reported_and_the_others_complete(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = str(tmp_path / "out")
    code, _, _ = run(
        capsys,
        "compare",
        *SMALL,
        *TWO,
        "--model",
        "mlp",
        "--schedule",
        "boom=constant(value=50)",
        "--out",
        out,
    )
    assert code == 0
    summary = summarise(out)
    verdicts = {row.schedule: row.verdict_text for row in summary.rows}
    assert verdicts["boom"] == "diverged (2/2 seeds)"
    assert summary.rows[-1].schedule == "boom"
    assert summary.rows[0].complete
    assert "diverged at step" in run(capsys, "runs", out)[1]


def test_the_report_is_self_contained(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run(capsys, "compare", *SMALL, *TWO, "--out", str(out))[0] == 0
    page = (out / "report.html").read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert page.count("<svg") == 2
    assert "<script" not in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    for needle in ("constant", "cos", "paired t-test", "torch 2.13.0", "scikit-learn"):
        assert needle in page
    for name in ("lr.svg", "curves.svg"):
        assert (out / name).read_text().startswith("<svg")


# --- interruption --------------------------------------------------------------------------

COMPARE = [
    "compare",
    "--epochs",
    "12",
    "--batch-size",
    "128",
    "--seeds",
    "1",
    "--quiet",
    *TWO,
]


@pytest.mark.slow
def test_sigkill_compare_then_rerun_loses_and_repeats_nothing(tmp_path: Path) -> None:
    out = str(tmp_path / "runs")
    command = [sys.executable, "-m", "lrlab", *COMPARE, "--out", out]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline:  # wait until a few epochs are committed, then kill
        try:
            with Store(out, read_only=True) as store:
                if store.epochs_done() >= 5:
                    break
        except StoreError:  # not created yet
            pass
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    with Store(out, read_only=True) as store:
        partial = store.epochs_done()
    assert 5 <= partial < 24
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    with Store(out, read_only=True) as store:
        runs = store.runs()
        assert [r.status for r in runs] == ["finished", "finished"]
        assert [r.epochs_done for r in runs] == [12, 12]
        experiment = Experiment.from_mapping(store.experiments()[0].config)
        for config in experiment.configs():
            got = store.epochs(config.run_id)
            assert [e.epoch for e in got] == list(range(12))
            assert [e.metrics for e in got] == [e.metrics for e in train(config).epochs]


# --- find-lr and --lr auto -----------------------------------------------------------------


def test_find_lr_cli_json_is_the_api_result(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from lrlab.lab.config import TrainConfig
    from lrlab.lab.find_lr import find_lr_for

    plot = tmp_path / "lr.png"
    code, out, err = run(capsys, "find-lr", "--steps", "40", "--json", "-o", str(plot))
    assert (code, err) == (0, "")
    expected = find_lr_for(TrainConfig(dataset="digits", model="mlp-bn"), steps=40).to_dict()
    assert json.loads(out) == json.loads(json.dumps(expected))
    assert plot.stat().st_size > 10_000

    code, text, _ = run(capsys, "find-lr", "--steps", "40")
    assert code == 0
    assert f"suggested lr: {expected['suggestion']:.3g} (steepest)" in text
    assert "note: the loader has 20 batches; cycled it for 40 steps" in text
    assert text.count("\n") >= 5


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--start", "1", "--end", "0.1"], "find_lr: end must be greater than start"),
        (["--steps", "5"], "find_lr: steps"),
        (["--model", "nope"], "unknown model 'nope'"),
        (["-o", "plot.txt"], "cannot tell the format of 'plot.txt'"),
    ],
)
def test_find_lr_cli_bad_input_exits_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, out, err = run(capsys, "find-lr", *argv)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert message in err


def test_compare_lr_auto_uses_and_records_the_range_test(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from lrlab.lab.find_lr import find_lr_for

    out = str(tmp_path / "out")
    argv = ["compare", *SMALL, *TWO, "--model", "mlp-bn", "--lr", "auto", "--out", out]
    code, _, err = run(capsys, *argv)
    assert code == 0
    with Store(out, read_only=True) as store:
        experiment = Experiment.from_mapping(store.experiments()[0].config)
    assert experiment.lr == "auto"
    suggestion = find_lr_for(experiment.config(experiment.schedules[0], 0, lr=1.0)).suggestion
    assert suggestion is not None
    assert err.startswith(f"lr {suggestion:.4g}: auto: steepest descent of a range test")
    summary = summarise(out)
    assert summary.lr == suggestion
    assert summary.lr_source.startswith("auto: steepest")
    assert {c.lr for c in experiment.configs(lr=suggestion)} == {suggestion}
    with Store(out, read_only=True) as store:
        assert all(r.config["lr"] == suggestion for r in store.runs())
    assert f"{suggestion:g} (auto: steepest" in (Path(out) / "report.html").read_text()
    # the second run reuses the stored range test and every finished run
    assert run(capsys, *argv)[0] == 0
    with Store(out, read_only=True) as store:
        assert len(store.runs()) == 4


@pytest.mark.parametrize("path", sorted((Path(__file__).parents[2] / "examples").glob("*.toml")))
def test_example_experiments_are_valid(path: Path) -> None:
    from lrlab.lab.compare import check

    experiment = Experiment.from_toml(path)
    check(experiment)
    assert experiment.name == path.stem.replace("_", "-")


# --- what a review found -------------------------------------------------------------------


def test_flags_over_a_config_rescale_the_default_schedules(tmp_path: Path) -> None:
    from lrlab.cli import build_parser
    from lrlab.cli.lab import experiment_from

    path = tmp_path / "e.toml"
    path.write_text('model = "mlp-bn"\nepochs = 20\n')
    args = build_parser().parse_args(
        ["compare", "--config", str(path), "--epochs", "6", "--out", "x"]
    )
    experiment = experiment_from(args)
    assert experiment.epochs == 6
    assert experiment.schedules == default_schedules(6)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('epochs = "3"', "epochs"),
        ("seeds = [1.5]", "seeds must be a count or a list of ints, got [1.5]"),
        ("seeds = [true]", "seeds must be a count or a list of ints"),
        ('momentum = "x"', "momentum"),
        ("dataset = 5", "experiment: dataset must be a non-empty string, got 5"),
        ("epochs = 1", "the default schedules need epochs >= 2, got 1"),
        (
            'schedules = ["a=constant(value={lr})", "b=constant(value={lr})"]',
            "schedules 'a' and 'b' are the same run",
        ),
    ],
)
def test_wrong_types_and_impossible_experiments_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "e.toml"
    path.write_text(text + "\n")
    code, _, err = run(capsys, "compare", "--config", str(path), "--out", str(tmp_path / "o"))
    assert code == 2
    assert err.count("\n") == 1
    assert message in err


def test_placeholders_allow_no_attribute_access(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run(
        capsys, "compare", *SMALL, "--schedule", "constant(value={lr.real})", "--out", str(tmp_path)
    )
    assert code == 2
    assert "unknown placeholder '{lr.real}'" in err


@pytest.mark.slow
def test_odd_names_two_seeds_and_times(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = str(tmp_path / "out")
    argv = [
        "--schedule",
        "$x$=constant(value={lr})",
        "--schedule",
        "_hidden=cosine(init={lr}, steps={steps})",
    ]
    code, stdout, _ = run(capsys, "compare", *SMALL, *argv, "--out", out)
    assert code == 0
    assert "2 seeds: too few to test" in stdout
    assert "Not tested (fewer than 3 seeds)" in stdout
    page = (Path(out) / "report.html").read_text()
    assert "$x$" in page
    with Store(out, read_only=True) as store:
        for row in store.runs():
            epochs = store.epochs(row.id)
            assert row.seconds == pytest.approx(sum(e.seconds for e in epochs))


def test_a_finite_blow_up_is_divergence() -> None:
    from lrlab.lab.config import TrainConfig

    result = train(TrainConfig(model="mlp-bn", epochs=2, schedule="constant(value=1e4)"))
    assert result.status == "diverged"


@pytest.mark.slow
def test_one_compare_per_directory(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from filelock import FileLock

    from lrlab.lab.compare import LOCK

    tmp_path.mkdir(exist_ok=True)
    with FileLock(tmp_path / LOCK):
        code, _, err = run(capsys, "compare", *SMALL, *TWO, "--out", str(tmp_path))
        # the lock is checked first: before the (bad) data is even looked at
        bad = run(capsys, "compare", *SMALL, "--dataset", "nothing.npz", "--out", str(tmp_path))
    assert code == 2
    assert "another 'lrlab compare' is running in" in err
    assert bad[0] == 2
    assert "another 'lrlab compare' is running in" in bad[2]
    assert run(capsys, "compare", *SMALL, *TWO, "--out", str(tmp_path))[0] == 0
