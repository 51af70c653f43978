"""`lrlab tune`: the search space, pruning through the lab, resuming a study, the CLI."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from lrlab.cli import main
from lrlab.lab.compare import ExperimentError, auto_lr
from lrlab.lab.config import TrainConfig
from lrlab.lab.experiment import Experiment, ScheduleEntry
from lrlab.lab.run import Run
from lrlab.lab.runner import Commit, Stop, run_all
from lrlab.lab.search import PRESETS, Search, preset, read_space, torch_code, untuned
from lrlab.lab.store import Store
from lrlab.lab.tune import SEARCH, STUDY_FILE, TuneSettings, _verdict, tune
from tests.cli import modules_after

SMALL = Experiment(model="mlp", epochs=2, batch_size=128)
STEP = {
    "schedule": "step=StepLR(lr={lr}, step_size=1, gamma={gamma})",
    "space": {"gamma": {"uniform": [0.3, 0.9]}},
}


# --- the space ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("space", "says"),
    [
        ({"f": {"log": [0.0, 1.0]}}, "f: log range must be above 0, got [0.0, 1.0]"),
        ({"f": {"uniform": [1.0, 0.5]}}, "f: uniform range must go from low to high"),
        ({"f": {"int": [0, 2.5]}}, "f: int range must hold two ints, got [0, 2.5]"),
        ({"f": {"int": [0, 1, 2]}}, "f: int range must be [low, high], got [0, 1, 2]"),
        ({"f": {"normal": [0, 1]}}, "f: kind must be one of log, uniform, int, choice"),
        ({"f": {"choice": []}}, "f: choice takes a non-empty list"),
        ({"f": {"choice": [1, 1]}}, "f: choice lists a value twice"),
        ({"f": [0, 1]}, "f must be one table { KIND = [...] }"),
        ({"f": {"uniform": [0, float("nan")]}}, "f: uniform range must hold two finite numbers"),
        ({"steps": {"int": [1, 2]}}, "'steps' is filled by the lab"),
        ({}, "the search space must be a table of parameters"),
    ],
)
def test_a_bad_range_is_named(space: dict[str, object], says: str) -> None:
    with pytest.raises(ValueError, match=r"^search: ") as error:
        read_space(space)
    assert says in str(error.value)


def test_every_parameter_is_a_placeholder_and_every_placeholder_has_a_range() -> None:
    with pytest.raises(ValueError, match=r"parameter 'g' is not a placeholder"):
        Search.from_mapping(
            {"schedule": "StepLR(lr={lr}, step_size=2)", "space": {"g": {"uniform": [0.1, 0.5]}}}
        )
    with pytest.raises(ValueError, match=r"placeholder \{size\} has no range"):
        Search.from_mapping(
            {**STEP, "schedule": "StepLR(lr={lr}, step_size={size}, gamma={gamma})"}
        )


def test_fill_rounds_floats_and_keeps_the_lab_placeholders() -> None:
    search = Search.from_mapping(STEP)
    entry = search.fill({"gamma": 0.123456789}, name="t")
    assert entry == ScheduleEntry(name="t", spec="StepLR(lr={lr}, step_size=1, gamma=0.1235)")


def test_the_untuned_baseline_leaves_the_searched_keywords_out() -> None:
    entry = ScheduleEntry(
        name="x", spec="OneCycleLR(max_lr={m}, total_steps={steps}, pct_start={p})", per="batch"
    )
    assert untuned(entry, ["m", "p"]).spec == "OneCycleLR(total_steps={steps})"
    assert untuned(entry, ["m", "p"]).per == "batch"


@pytest.mark.parametrize("name", PRESETS)
def test_every_preset_parses_at_every_corner(name: str) -> None:
    from lrlab.lab.compare import check

    search = preset(name, 20)
    experiment = Experiment(model="mlp", schedules=(*search.corner_entries(), search.baseline))
    check(experiment)  # raises on a corner that does not parse or does not fit the run


def test_a_preset_name_is_checked() -> None:
    with pytest.raises(ValueError, match="preset must be one of plateau, onecycle"):
        preset("cosine", 20)


def test_torch_code_runs_as_printed() -> None:
    torch = pytest.importorskip("torch")
    code = torch_code(
        preset("onecycle", 4).fill(
            {"max_lr": 0.5, "pct_start": 0.3, "div_factor": 10.0, "final_div_factor": 100.0}
        )
    )
    model = torch.nn.Linear(2, 1)
    train_loader = [0] * 5
    scope = {"torch": torch, "model": model, "train_loader": train_loader}
    exec(code.replace("epochs = ...", "epochs = 4"), scope)
    scheduler = scope["scheduler"]
    assert scheduler.total_steps == 20
    assert scheduler.get_last_lr()[0] == pytest.approx(0.05)


# --- settings --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"trials": 0}, "trials must be a positive int, got 0"),
        ({"confirm_seeds": (5,)}, "confirm_seeds must hold at least 2 seeds"),
        ({"search_seeds": (0, 1), "confirm_seeds": (1, 2)}, "seed 1 is a search seed"),
        ({"search_seeds": ()}, "search_seeds must be seeds"),
        ({"pruner": "median"}, "pruner must be one of halving, hyperband, none, got 'median'"),
        ({"min_epochs": 0}, "min_epochs must be a positive int, got 0"),
        ({"reduction_factor": 1}, "reduction_factor must be an int >= 2, got 1"),
    ],
)
def test_bad_settings_are_named(changes: dict[str, object], says: str) -> None:
    with pytest.raises(ValueError, match=r"^tune: ") as error:
        TuneSettings(**changes)  # type: ignore[arg-type]
    assert says in str(error.value)


def test_the_verdict_says_which_is_better_and_by_how_much() -> None:
    worse = _verdict(
        "val_loss", "min", [1, 2, 3, 4], [0.5, 0.6, 0.55, 0.58], [0.3, 0.31, 0.29, 0.3]
    )
    assert worse.verdict.startswith("tuned is worse by 0.2")
    assert worse.verdict.endswith(": tuned is worse")
    assert worse.gap < 0
    same = _verdict("val_loss", "min", [1, 2, 3], [0.3, 0.4, 0.5], [0.3, 0.4, 0.5])
    assert same.verdict == "tuned and the baseline are identical on all 3 fresh seeds"
    gap = _verdict("val_loss", "min", [1, 2, 3], [0.25, 0.5, 0.75], [0.5, 0.75, 1.0])
    assert gap.verdict.startswith("tuned is better by 0.25 ± 0.00 on every seed alike")
    assert "too few" in _verdict("val_loss", "min", [1], [0.3], [0.4]).verdict
    two = _verdict("val_loss", "min", [1, 2], [0.2, 0.3], [0.4, 0.6]).verdict
    assert two == (  # as compare's ranking, which tests from 3 seeds
        "tuned is better by 0.25 ± 0.05 on 2 fresh seeds: too few fresh seeds finished to "
        "test (2; the paired test needs 3)"
    )


# --- pruning goes through the lab ---------------------------------------------------------


def test_a_watcher_stop_prunes_the_run_keeps_its_epochs_and_never_trains_it_again(
    tmp_path: Path,
) -> None:
    config = TrainConfig(model="mlp", epochs=6, batch_size=128, schedule="constant(value={lr})")
    seen: list[int] = []

    def watch(commit: Commit) -> None:
        seen.extend(e.epoch for e in commit.epochs)
        if seen[-1] >= 1:
            raise Stop("pruned by the test")

    ends = list(run_all(str(tmp_path), [config], watch=watch))
    assert seen == [0, 1]  # a watched run commits every epoch as it is reported
    assert [(e.status, e.error) for e in ends] == [("pruned", "pruned by the test")]
    with Store(tmp_path, read_only=True) as store:
        (record,) = store.runs()
        assert record.status == "pruned"
        assert record.error == "pruned by the test"
        assert [e.epoch for e in store.epochs(record.id)] == seen
        assert store.checkpoint(record.id) is None
    again = list(run_all(str(tmp_path), [config]))
    assert [(e.status, e.skipped) for e in again] == [("pruned", True)]


# --- a whole search -------------------------------------------------------------------------


def test_a_search_stores_every_trial_confirms_and_continues(tmp_path: Path) -> None:
    search = Search.from_mapping(STEP)
    settings = TuneSettings(trials=3, confirm_seeds=(100, 101), pruner="none")
    first = tune(SMALL, search, tmp_path, settings)
    assert [t.state for t in first.trials] == ["complete"] * 3
    assert first.best.value == max(t.value for t in first.trials if t.value is not None)
    assert first.tuned.spec == search.fill(first.best.params).spec
    assert first.confirmation.seeds == [100, 101]
    assert (tmp_path / STUDY_FILE).is_file()
    assert (tmp_path / "confirm" / "report.html").is_file()
    page = first.report.read_text()
    for part in (
        "Search history",
        "Each parameter against the result",
        "Parameter importance",
        "Confirmation on fresh seeds",
        first.confirmation.verdict.split(" (")[0],
    ):
        assert part in page
    with Store(tmp_path / SEARCH, read_only=True) as store:
        runs = store.runs()
        assert len(runs) == 3
        assert {r.status for r in runs} == {"finished"}
        assert len(store.experiments()) == 3
    again = tune(SMALL, search, tmp_path, settings)  # done: nothing more is trained
    assert [t.number for t in again.trials] == [0, 1, 2]
    more = tune(
        SMALL, search, tmp_path, TuneSettings(trials=4, confirm_seeds=(100, 101), pruner="none")
    )
    assert [t.number for t in more.trials] == [0, 1, 2, 3]
    with Store(tmp_path / SEARCH, read_only=True) as store:
        assert len(store.runs()) == 4


@pytest.mark.parametrize("pruner", ["halving", "hyperband"])
def test_each_pruner_stops_trials_that_fall_behind(pruner: str, tmp_path: Path) -> None:
    experiment = Experiment(model="mlp", epochs=6, batch_size=128)
    search = Search.from_mapping(
        {"schedule": "StepLR(lr={lr}, step_size=2)", "space": {"lr": {"log": [1e-4, 1.0]}}}
    )
    settings = TuneSettings(trials=8, confirm_seeds=(100, 101), pruner=pruner, min_epochs=1)
    result = tune(experiment, search, tmp_path, settings)
    pruned = [t for t in result.trials if t.state == "pruned"]
    assert pruned, [(t.number, t.state, t.curve) for t in result.trials]
    assert all(1 <= len(t.curve) < experiment.epochs for t in pruned)
    with Store(tmp_path / SEARCH, read_only=True) as store:
        assert sum(r.status == "pruned" for r in store.runs()) == len(pruned)


def test_a_search_of_the_lr_alone_shows_the_range_tests_suggestion(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "o"
    argv = ["tune", "--preset", "lr", "--model", "mlp", "--epochs", "2", "--trials", "2"]
    code = main([*argv, "--confirm-seeds", "2", "--quiet", "--out", str(out)])
    said = capsys.readouterr().out
    assert code == 0
    line = next(line for line in said.splitlines() if line.startswith("find-lr suggests"))
    assert "steepest descent of a range test on seed 0" in line
    seeded = Experiment(model="mlp", epochs=2, seeds=(0,), schedules=(preset("lr", 2).baseline,))
    stored, _ = auto_lr(seeded, out / SEARCH)  # kept in the search's store: read back
    assert f"lr {stored:.4g} (" in line
    assert f"suggests lr {stored:.4g}" in (out / "tune.html").read_text()


def test_a_search_of_more_than_the_lr_runs_no_range_test(tmp_path: Path) -> None:
    settings = TuneSettings(trials=1, confirm_seeds=(100, 101))
    result = tune(SMALL, Search.from_mapping(STEP), tmp_path, settings)
    assert result.find_lr is None
    assert "range test" not in result.report.read_text()


def test_a_study_of_another_search_is_refused(tmp_path: Path) -> None:
    settings = TuneSettings(trials=1, confirm_seeds=(100, 101), study="mine")
    tune(SMALL, Search.from_mapping(STEP), tmp_path, settings)
    other = Search.from_mapping({**STEP, "space": {"gamma": {"uniform": [0.1, 0.2]}}})
    with pytest.raises(ExperimentError, match=r"study 'mine' .* holds another search"):
        tune(SMALL, other, tmp_path, settings)


def test_another_search_in_the_same_out_is_refused(tmp_path: Path) -> None:
    settings = TuneSettings(trials=1, confirm_seeds=(100, 101))
    tune(SMALL, Search.from_mapping(STEP), tmp_path, settings)
    other = dataclasses.replace(SMALL, epochs=3)
    with pytest.raises(ExperimentError, match=r"this --out holds another search \(study 'tune-"):
        tune(other, Search.from_mapping(STEP), tmp_path, settings)
    with Store(tmp_path / "confirm", read_only=True) as store:
        assert len(store.experiments()) == 1  # nothing of the other search was trained


def test_a_trial_asked_once_the_study_had_its_trials_is_given_up_untrained(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked = optuna.Study.ask

    def raced(study: optuna.Study) -> optuna.Trial:
        monkeypatch.setattr(optuna.Study, "ask", asked)
        asked(study)  # another worker asks first, between our count and our ask
        return asked(study)

    monkeypatch.setattr(optuna.Study, "ask", raced)
    settings = TuneSettings(trials=1, confirm_seeds=(100, 101))
    with pytest.raises(ExperimentError, match=r"no trial of study .* finished"):
        tune(SMALL, Search.from_mapping(STEP), tmp_path, settings)
    study = optuna.load_study(
        study_name=optuna.get_all_study_names(f"sqlite:///{tmp_path / STUDY_FILE}")[0],
        storage=f"sqlite:///{tmp_path / STUDY_FILE}",
    )
    other, mine = study.get_trials(deepcopy=False)
    assert other.state == TrialState.RUNNING  # the other worker's, still training
    assert mine.state == TrialState.FAIL
    assert mine.user_attrs["error"] == "surplus: the study had its trials"
    assert not (tmp_path / SEARCH).exists()  # nothing trained


def test_trials_that_keep_failing_stop_the_search(tmp_path: Path) -> None:
    calls: list[int] = []

    def broken(run: Run) -> None:
        calls.append(run.seed)
        raise RuntimeError("my loader is broken")

    experiment = Experiment(train="tests.lab.trainables:regression", epochs=2)
    settings = TuneSettings(trials=5, confirm_seeds=(100, 101))
    with pytest.raises(ExperimentError, match=r"3 trials in a row failed, .*my loader is broken"):
        tune(experiment, Search.from_mapping(STEP), tmp_path, settings, train=broken)
    assert len(calls) == 3


def test_a_bad_corner_is_refused_before_anything_trains(tmp_path: Path) -> None:
    search = Search.from_mapping({**STEP, "space": {"gamma": {"uniform": [0.5, 3.0]}}})
    with pytest.raises(ExperimentError, match="gamma"):
        tune(SMALL, search, tmp_path / "out", TuneSettings(trials=1, confirm_seeds=(1, 2)))
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_sigkill_mid_search_resumes_the_interrupted_trial_and_counts_it_once(
    tmp_path: Path,
) -> None:
    out = tmp_path / "t"
    argv = [
        sys.executable,
        "-m",
        "lrlab",
        "tune",
        "--preset",
        "step",
        "--model",
        "mlp",
        "--epochs",
        "40",
        "--trials",
        "2",
        "--confirm-seeds",
        "2",
        "--pruner",
        "none",
        "--quiet",
        "--out",
        str(out),
    ]
    process = subprocess.Popen(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and process.poll() is None:
            if _epochs_committed(out / SEARCH) >= 5:
                break
            time.sleep(0.2)
        assert process.poll() is None, "the search ended before it could be killed"
        os.killpg(process.pid, signal.SIGKILL)
    finally:
        process.wait()
    storage = f"sqlite:///{out / STUDY_FILE}"
    (killed,) = optuna.get_all_study_summaries(storage)
    study = optuna.load_study(study_name=killed.study_name, storage=storage)
    assert [t.state for t in study.trials] == [TrialState.RUNNING]
    (run,) = study.trials[0].user_attrs["runs"]
    before = _epochs_of(out / SEARCH, run)
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    study = optuna.load_study(study_name=killed.study_name, storage=storage)
    states = [t.state for t in study.trials]
    assert states.count(TrialState.FAIL) == 1
    assert states.count(TrialState.COMPLETE) == 2
    resumed = next(t for t in study.trials if t.user_attrs.get("resumes") == 0)
    assert resumed.params == study.trials[0].params
    assert resumed.user_attrs["runs"] == [run]
    after = _epochs_of(out / SEARCH, run)
    assert after[: len(before)] == before  # the committed epochs stand, none trained twice
    assert [e for e, _ in after] == list(range(40))


def _epochs_committed(directory: Path) -> int:
    if not (directory / "lrlab.sqlite").exists():
        return 0
    try:
        with Store(directory, read_only=True) as store:
            return store.epochs_done()
    except Exception:
        return 0


def _epochs_of(directory: Path, run: str) -> list[tuple[int, float]]:
    with Store(directory, read_only=True) as store:
        return [(e.epoch, e.metrics["val_loss"]) for e in store.epochs(run)]


# --- the command line --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (
            ["--preset", "cosine"],
            "preset must be one of plateau, onecycle, warmup-cosine, step, lr",
        ),
        (["--schedule", "StepLR(lr={lr}, step_size=2)"], "the search space must be a table"),
        ([], "give --preset NAME, or one schedule"),
        (["--preset", "step", "--lr", "auto"], "lr 'auto' is not supported"),
        (["--preset", "step", "--confirm-seeds", "1"], "confirm_seeds must hold at least 2 seeds"),
        (["--preset", "step", "--storage", "nosuch://x"], "tune: storage 'nosuch://x'"),
        (["--preset", "step", "--pruner", "median"], "argument --pruner: invalid choice"),
        (["--preset", "step", "--rank-by", "val_acc"], "did you mean 'val_accuracy'?"),
        (["--preset", "step", "--reduction-factor", "1"], "reduction_factor must be an int >= 2"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    argv: list[str], says: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["tune", "--model", "mlp", "--epochs", "1", "--out", str(tmp_path / "o"), *argv])
    err = capsys.readouterr().err
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1
    assert says in err


def test_a_search_table_in_the_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "tune.toml"
    config.write_text(
        'model = "mlp"\nepochs = 2\n[[schedules]]\nname = "step"\n'
        'spec = "StepLR(lr={lr}, step_size=1, gamma={gamma})"\n'
        "[search]\ngamma = { uniform = [0.3, 0.9] }\n"
    )
    code = main(
        [
            "tune",
            "--config",
            str(config),
            "--trials",
            "2",
            "--confirm-seeds",
            "2",
            "--quiet",
            "--out",
            str(tmp_path / "o"),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "2 trials finished" in out
    assert "lrlab.torch.StepLR(optimizer, step_size=1, gamma=" in out
    assert 'name = "tuned"' in out
    assert str(tmp_path / "o" / "tune.html") in out


def test_the_help_and_the_search_records_load_neither_torch_nor_optuna(tmp_path: Path) -> None:
    assert modules_after(["tune", "--help"], tmp_path) == set()
    code = (
        "import sys, lrlab.lab.search, lrlab.lab.tune_report; "
        "print(sorted(m for m in ('torch', 'optuna') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
