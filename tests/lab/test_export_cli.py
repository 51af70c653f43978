"""``lrlab export``: its output, its usage errors (exit 2, one line), the missing extras,
no torch loaded, and a real comparison exported end to end."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from lrlab.lab.store import Store
from tests.cli import modules_after, run
from tests.web.stores import write_experiment

pytest.importorskip("tensorboardX")
pytest.importorskip("mlflow")


@pytest.fixture(autouse=True)
def _no_telemetry(monkeypatch: pytest.MonkeyPatch) -> None:
    """MLflow's usage telemetry would try the network (none here) on every export."""
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")


@pytest.fixture
def store(tmp_path: Path) -> Path:
    directory = tmp_path / "store"
    write_experiment(directory, seeds=1, epochs=2)
    return directory


def test_tensorboard_prints_what_went_where_and_how_to_open_it(
    capsys: pytest.CaptureFixture[str], store: Path, tmp_path: Path
) -> None:
    logdir = tmp_path / "tb"
    code, out, err = run(capsys, "export", str(store), "--to", "tensorboard", str(logdir))
    assert (code, err) == (0, "")
    assert out == (
        f"tensorboard: 2 runs of 1 experiment in {str(logdir)!r} (2 new)\n"
        f"open it with: tensorboard --logdir {logdir}\n"
    )
    assert len(list(logdir.glob("hand-made-*/*/seed-0/events.out.tfevents.*"))) == 2
    code, out, _ = run(capsys, "export", str(store), "--to", "tensorboard", str(logdir))
    assert out.startswith(f"tensorboard: 2 runs of 1 experiment in {str(logdir)!r} (2 replaced)\n")


@pytest.mark.slow
def test_mlflow_defaults_to_a_sqlite_file_beside_the_store(
    capsys: pytest.CaptureFixture[str], store: Path
) -> None:
    uri = f"sqlite:///{store.resolve().as_posix()}/mlflow.db"
    code, out, err = run(capsys, "export", str(store), "--to", "mlflow")
    assert (code, err) == (0, "")
    assert out == (
        f"mlflow: 2 runs of 1 experiment in {uri} (2 new)\n"
        f"open it with: mlflow ui --backend-store-uri {uri}\n"
    )
    assert (store / "mlflow.db").is_file()
    code, out, _ = run(capsys, "export", str(store), "--to", "mlflow", uri)
    assert (code, out.splitlines()[0]) == (
        0,
        f"mlflow: 2 runs of 1 experiment in {uri} (2 unchanged)",
    )


def test_the_store_is_only_read(
    capsys: pytest.CaptureFixture[str], store: Path, tmp_path: Path
) -> None:
    before = {p.name: p.read_bytes() for p in store.iterdir()}
    assert run(capsys, "export", str(store), "--to", "tensorboard", str(tmp_path / "tb"))[0] == 0
    assert {p.name: p.read_bytes() for p in store.iterdir()} == before


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--to", "wandb"], "--to: expected tensorboard or mlflow, got 'wandb'"),
        (["--to", "tensorboard"], "--to tensorboard takes one LOGDIR: --to tensorboard LOGDIR"),
        (
            ["--to", "tensorboard", "a", "b"],
            "--to tensorboard takes one LOGDIR: --to tensorboard LOGDIR",
        ),
        (
            ["--to", "mlflow", "sqlite:///a.db", "b"],
            "--to mlflow takes at most one URI: --to mlflow [URI]",
        ),
        (
            ["--to", "mlflow", "ftp://host/db"],
            "cannot use the MLflow tracking URI 'ftp://host/db': expected sqlite:///PATH, a "
            "database URL (postgresql, mysql, mssql) or an http(s):// tracking server",
        ),
        (
            ["--to", "mlflow", "mlflow.db"],
            "cannot use the MLflow tracking URI 'mlflow.db': expected sqlite:///PATH, a "
            "database URL (postgresql, mysql, mssql) or an http(s):// tracking server",
        ),
        (
            ["--to", "mlflow", "sqlite:///no/such/dir/m.db"],
            "cannot use the MLflow tracking URI 'sqlite:///no/such/dir/m.db': no such directory "
            "'no/such/dir'",
        ),
        (
            ["--to", "mlflow", "sqlite://"],
            "cannot use the MLflow tracking URI 'sqlite://': it names no file",
        ),
        (
            ["--to", "mlflow", "sqlite:///:memory:"],
            "cannot use the MLflow tracking URI 'sqlite:///:memory:': it names no file",
        ),
        (
            ["--experiment", "zzz", "--to", "mlflow", "sqlite:///m.db"],
            "no experiment with id 'zzz' in the store (known: ",
        ),
    ],
)
def test_bad_usage_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    store: Path,
    tmp_path: Path,
    argv: list[str],
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "export", str(store), *argv)
    assert (code, out) == (2, "")
    assert err.startswith(f"lrlab: error: {message}")
    assert err.count("\n") == 1
    assert not (tmp_path / "m.db").exists()
    assert not (tmp_path / "a.db").exists()


def test_the_lab_store_itself_is_no_mlflow_database(
    capsys: pytest.CaptureFixture[str], store: Path
) -> None:
    uri = f"sqlite:///{store}/lrlab.sqlite"
    before = (store / "lrlab.sqlite").read_bytes()
    code, _, err = run(capsys, "export", str(store), "--to", "mlflow", uri)
    assert code == 2
    assert err == (
        f"lrlab: error: cannot use the MLflow tracking URI {uri!r}: it is an lrlab store; "
        "name another file, e.g. mlflow.db\n"
    )
    assert (store / "lrlab.sqlite").read_bytes() == before


@pytest.mark.parametrize("target", [["tensorboard", "tb"], ["mlflow"]])
def test_a_directory_without_a_store_is_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, target: list[str]
) -> None:
    code, out, err = run(capsys, "export", str(tmp_path), "--to", *target)
    assert (code, out) == (2, "")
    assert err == f"lrlab: error: no lrlab store in {str(tmp_path)!r} (no lrlab.sqlite)\n"
    assert list(tmp_path.iterdir()) == []


def test_a_missing_directory_and_a_log_directory_that_is_a_file_are_exit_2(
    capsys: pytest.CaptureFixture[str], store: Path, tmp_path: Path
) -> None:
    assert run(capsys, "export", str(tmp_path / "nope"), "--to", "mlflow") == (
        2,
        "",
        f"lrlab: error: DIR: no such directory: {str(tmp_path / 'nope')!r}\n",
    )
    (tmp_path / "file").write_text("")
    assert run(capsys, "export", str(store), "--to", "tensorboard", str(tmp_path / "file")) == (
        2,
        "",
        f"lrlab: error: the log directory {str(tmp_path / 'file')!r} is a file, not a directory\n",
    )


def test_a_store_with_no_experiment_is_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with Store(tmp_path) as writer:
        writer.register("r1", {"seed": 0})
    code, _, err = run(capsys, "export", str(tmp_path), "--to", "tensorboard", str(tmp_path / "tb"))
    assert code == 2
    assert err == f"lrlab: error: no experiment in {str(tmp_path)!r}; run 'lrlab compare' first\n"


@pytest.mark.parametrize(
    ("target", "hidden", "message"),
    [
        (
            ["tensorboard", "tb"],
            ["tensorboardX"],
            "the TensorBoard export needs tensorboardX: pip install 'lrlab[tensorboard]'",
        ),
        (
            ["mlflow"],
            ["mlflow", "mlflow.entities", "mlflow.tracking"],
            "the MLflow export needs mlflow: pip install 'lrlab[mlflow]'",
        ),
        (
            ["mlflow"],
            ["sqlalchemy"],
            "the MLflow export needs sqlalchemy: pip install 'lrlab[mlflow]'",
        ),
    ],
)
def test_without_the_extra_it_says_what_to_install(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    store: Path,
    tmp_path: Path,
    target: list[str],
    hidden: list[str],
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in hidden:
        monkeypatch.setitem(sys.modules, name, None)  # import fails as if not installed
    code, out, err = run(capsys, "export", str(store), "--to", *target)
    assert (code, out, err) == (2, "", f"lrlab: error: {message}\n")
    assert not (tmp_path / "tb").exists()
    assert not (store / "mlflow.db").exists()


@pytest.mark.parametrize("target", [["tensorboard", "tb"], ["mlflow"]])
def test_export_loads_no_torch(store: Path, tmp_path: Path, target: list[str]) -> None:
    assert "torch" not in modules_after(["export", str(store), "--to", *target], tmp_path)


def test_help_loads_no_numpy(tmp_path: Path) -> None:
    assert modules_after(["export", "--help"], tmp_path) == set()


@pytest.mark.slow
def test_a_real_comparison_exported_end_to_end(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from mlflow.tracking import MlflowClient
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    out = tmp_path / "run"
    argv = ["compare", "--model", "mlp", "--epochs", "2", "--seeds", "1", "--batch-size", "128"]
    argv += [
        "--schedule",
        "constant(value={lr})",
        "--schedule",
        "cos=cosine(init={lr}, steps={steps})",
    ]
    assert run(capsys, *argv, "--per", "batch", "--out", str(out), "--quiet")[0] == 0
    assert run(capsys, "export", str(out), "--to", "tensorboard", str(tmp_path / "tb"))[0] == 0
    assert run(capsys, "export", str(out), "--to", "mlflow")[0] == 0
    with Store(out, read_only=True) as store:
        (record,) = store.experiments()
        members = store.members(record.id)
        runs = {r.id: r for r in store.runs()}
        client = MlflowClient(tracking_uri=f"sqlite:///{out.resolve()}/mlflow.db")
        experiment = client.get_experiment_by_name(f"compare-{record.id[:8]}")
        assert experiment is not None
        found = {
            r.data.tags["lrlab.run_id"]: r for r in client.search_runs([experiment.experiment_id])
        }
        assert sorted(found) == sorted(m.run for m in members)
        for member in members:
            epochs, lrs = store.epochs(member.run), store.lrs(member.run)
            assert len(epochs) == 2
            assert len(lrs) > 2  # per batch: more steps than epochs
            mlflow_run = found[member.run]
            for name in ("train_loss", "val_loss", "val_accuracy"):
                values = client.get_metric_history(mlflow_run.info.run_id, name)
                assert sorted((m.step, m.value) for m in values) == [
                    (e.epoch, e[name]) for e in epochs
                ]
            lr = client.get_metric_history(mlflow_run.info.run_id, "lr")
            assert sorted((m.step, m.value) for m in lr) == lrs
            assert mlflow_run.data.params["schedule"] == runs[member.run].config["schedule"]
            folder = tmp_path / "tb" / f"compare-{record.id[:8]}" / member.schedule / "seed-0"
            events = EventAccumulator(str(folder), size_guidance={"scalars": 0})
            events.Reload()
            assert [e.step for e in events.Scalars("lr")] == [step for step, _ in lrs]
            assert [e.step for e in events.Scalars("val_accuracy")] == [0, 1]


def test_an_mlflow_server_that_is_not_there_is_exit_2_at_once(
    capsys: pytest.CaptureFixture[str], store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")  # as the CLI's default, but
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")  # restored after the test
    code, out, err = run(capsys, "export", str(store), "--to", "mlflow", "http://127.0.0.1:1")
    assert (code, out) == (2, "")
    assert err.startswith("lrlab: error: MLflow at 'http://127.0.0.1:1' did not answer: ")
    assert len(err.splitlines()) == 1
