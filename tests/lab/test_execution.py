"""Where runs train, as configured: executor keys, checkpoint storage, Ray missing.

Fast tests (no Ray started); the cluster itself is tested in test_cluster.py.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from lrlab.cli import main
from lrlab.lab.experiment import Execution, Experiment
from lrlab.lab.records import CheckpointRef, Epoch
from lrlab.lab.storage import StorageError, check, get, put, remove
from lrlab.lab.store import Store

SMALL = ["--epochs", "2", "--seeds", "1", "--quiet", "--schedule", "constant(value={lr})"]


def test_execution_keys_sit_beside_the_experiment_in_toml(tmp_path: Path) -> None:
    path = tmp_path / "e.toml"
    path.write_text('epochs = 3\nexecutor = "ray"\naddress = "auto"\n')
    experiment = Experiment.from_toml(path)
    assert experiment == Experiment(epochs=3)  # the executor is not part of the experiment
    execution, rest = Execution.split({"epochs": 3, "executor": "ray", "jobs": 4})
    assert (execution.kind, execution.jobs, rest) == ("ray", 4, {"epochs": 3})


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--address", "auto"],
            "compare: --address needs --executor 'ray', not 'inprocess'",
        ),
        (["--executor", "inprocess", "--jobs", "2"], "runs one job at a time, got --jobs 2"),
        (["--executor", "ray", "--runtime-env", "[1]"], "--runtime-env must be a JSON object"),
        (["--executor", "ray", "--runtime-env", "{"], "--runtime-env must be a JSON object"),
        (["--runtime-env", "{}"], "--runtime-env needs --executor 'ray', not 'inprocess'"),
        (["--executor", "dask"], "invalid choice: 'dask'"),
        (
            ["--executor", "ray", "--address", "auto", "--jobs", "4"],
            "compare: --jobs does not apply with an --address",
        ),
    ],
)
def test_bad_execution_flags_exit_2_naming_the_flag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main(["compare", *SMALL, "--out", str(tmp_path / "o"), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert len(err.strip().splitlines()) <= 3  # argparse adds its usage line
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('executor = "mpi"', "executor must be one of"),
        ("jobs = 0", "jobs must be a positive int, got 0"),
        ('jobs = "2"', "jobs must be a positive int, got '2'"),
        ('address = ""', "address must be a non-empty string"),
        ('runtime_env = "x"\nexecutor = "ray"', "runtime_env must be a table"),
    ],
)
def test_bad_execution_keys_in_toml_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    path = tmp_path / "e.toml"
    path.write_text(text + "\n")
    assert main(["compare", "--config", str(path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert str(path) in err


def test_ray_missing_is_exit_2_with_the_install_command(tmp_path: Path) -> None:
    code = (
        "import sys; sys.modules['ray'] = None\n"  # an import of ray now fails, as uninstalled
        "from lrlab.cli import main\n"
        f"sys.exit(main(['compare', *{SMALL!r}, '--executor', 'ray', '--out', 'o']))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "lrlab: error: --executor ray needs Ray, which is not installed: pip install 'lrlab[ray]'"
    ]
    assert not (tmp_path / "o").exists()


def test_checkpoints_by_path_are_atomic_unique_and_removable(tmp_path: Path) -> None:
    first = put(str(tmp_path / "ck"), "r1", 2, b"one")
    again = put(str(tmp_path / "ck"), "r1", 2, b"two")  # a retried run: a new name
    assert first != again
    assert (get(first), get(again)) == (b"one", b"two")
    remove(first)
    remove(first)  # already gone: nothing to do
    assert [p.name for p in (tmp_path / "ck").iterdir()] == [Path(again.uri).name]
    with pytest.raises(StorageError, match="cannot read the checkpoint"):
        get(first)


def test_checkpoints_by_url_go_through_fsspec() -> None:
    ref = put("memory://lab/ck", "r1", 0, b"state")
    assert ref.uri.startswith("memory://lab/ck/r1.0.")
    assert get(ref) == b"state"
    remove(ref)
    with pytest.raises(StorageError):
        get(ref)


@pytest.mark.parametrize(
    ("root", "message"),
    [("nosuch://x", "--checkpoint-dir 'nosuch://x'"), ("/proc/lrlab", "cannot write")],
)
def test_unusable_checkpoint_storage_is_refused_before_training(root: str, message: str) -> None:
    with pytest.raises(StorageError, match=message.replace("(", r"\(")):
        check(root)


def test_a_bad_checkpoint_dir_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["compare", *SMALL, "--out", str(tmp_path / "o"), "--checkpoint-dir", "/proc/lrlab"]
    assert main(argv) == 2
    assert "--checkpoint-dir '/proc/lrlab'" in capsys.readouterr().err


def test_the_store_commits_a_reference_and_gives_it_back(tmp_path: Path) -> None:
    epoch = Epoch(epoch=0, lr=0.1, seconds=0.1, metrics={"val_loss": 1.0})
    with Store(tmp_path) as store:
        store.register("r1", {"epochs": 2})
        store.save_epochs("r1", [epoch], CheckpointRef("s3://b/r1.0.x.pt"), node="h/abc")
        assert store.checkpoint("r1") == CheckpointRef("s3://b/r1.0.x.pt")
        (run,) = store.runs()
        assert (run.status, run.node) == ("running", "h/abc")
        row = store.db.execute("SELECT data, file, uri FROM checkpoints").fetchone()
    assert row == (b"", None, "s3://b/r1.0.x.pt")


def test_in_process_with_a_checkpoint_dir_commits_references_then_cleans_up(
    tmp_path: Path,
) -> None:
    from lrlab.lab.compare import compare

    experiment = Experiment(model="mlp", epochs=3, seeds=(0,), schedules=())
    seen: list[object] = []
    original = Store.save_epochs

    def spy(self: Store, run: str, epochs: object, checkpoint: object = None, **kw: object) -> None:
        seen.append(checkpoint)
        original(self, run, epochs, checkpoint, **kw)  # type: ignore[arg-type]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Store, "save_epochs", spy)
        compare(experiment, tmp_path / "o", checkpoint_dir=str(tmp_path / "ck"))
    refs = [c for c in seen if c is not None]
    assert refs
    assert all(isinstance(c, CheckpointRef) for c in refs)
    assert list((tmp_path / "ck").iterdir()) == []
