"""The lab on Ray: local instances and a two-node cluster, nodes lost, drivers killed.

Every test starts and stops its own Ray (never ``ray.init()`` with no address, which may
attach to a leftover cluster). The numbers must equal the in-process trainer's exactly:
the lab is deterministic per seed on CPU.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lrlab.cli import main
from lrlab.lab.compare import compare
from lrlab.lab.config import TrainConfig
from lrlab.lab.experiment import Experiment, ScheduleEntry
from lrlab.lab.imports import import_object
from lrlab.lab.records import Epoch
from lrlab.lab.runner import run_all
from lrlab.lab.store import Store, StoreError
from lrlab.lab.train import train

ray = pytest.importorskip("ray")
from ray.cluster_utils import Cluster  # noqa: E402

from lrlab.lab.cluster import RayExecutor  # noqa: E402

pytestmark = pytest.mark.slow

SCHEDULES = (
    ScheduleEntry(name="constant", spec="constant(value={lr})"),
    ScheduleEntry(name="cosine", spec="cosine(init={lr}, steps={steps})", per="batch"),
    ScheduleEntry(name="plateau", spec="ReduceLROnPlateau(lr={lr}, patience=1)"),
)


def metrics(directory: Path) -> dict[str, list[tuple[int, float, dict[str, float]]]]:
    """Every run's epoch rows, as the store holds them (times aside)."""
    with Store(directory, read_only=True) as store:
        return {r.id: [_row(e) for e in store.epochs(r.id)] for r in store.runs()}


def _row(epoch: Epoch) -> tuple[int, float, dict[str, float]]:
    return epoch.epoch, epoch.lr, dict(epoch.metrics)


def reference(experiment: Experiment) -> dict[str, list[tuple[int, float, dict[str, float]]]]:
    """The rows of every run of ``experiment`` trained in process (its engine's)."""
    with tempfile.TemporaryDirectory() as out:
        list(run_all(out, experiment.configs()))
        return metrics(Path(out))


def test_local_ray_equals_in_process_run_for_run_and_shuts_down(tmp_path: Path) -> None:
    """The built-in data, and a user data file (read once on the driver, shared through
    the object store): the rows equal the in-process trainer's."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(240, 6))
    np.savez(tmp_path / "data.npz", x=x, y=(x[:, 0] + x[:, 1] > 0).astype(int))
    experiments = [
        Experiment(model="mlp-bn", epochs=3, seeds=(0, 1), schedules=SCHEDULES),
        Experiment(dataset=str(tmp_path / "data.npz"), model="mlp", epochs=2, seeds=(0,)),
    ]
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:  # one session for both (as a notebook has): RayExecutor leaves it running
        for index, experiment in enumerate(experiments):
            done = compare(experiment, tmp_path / str(index), executor=RayExecutor())
            assert {o.status for o in done.outcomes} == {"finished"}
            assert metrics(tmp_path / str(index)) == reference(experiment)
        assert ray.is_initialized()
    finally:
        ray.shutdown()
    done = compare(experiments[0], tmp_path / "own", executor=RayExecutor(2))
    assert not ray.is_initialized()  # the instance lrlab started is gone
    assert [o.status for o in done.outcomes] == ["finished"] * 6
    with Store(tmp_path / "own", read_only=True) as store:
        nodes = {r.node for r in store.runs()}
    (node,) = nodes  # one local node, named as host/ray-node-id
    assert node is not None
    assert node.startswith(f"{os.uname().nodename}/")


def test_a_wrong_data_file_fails_before_any_ray_task(tmp_path: Path) -> None:
    from lrlab.lab.compare import ExperimentError

    experiment = Experiment(dataset=str(tmp_path / "gone.npz"), epochs=2, seeds=(0,))
    with pytest.raises(ExperimentError, match=r"gone\.npz"):
        compare(experiment, tmp_path / "ray", executor=RayExecutor(1))
    assert not ray.is_initialized()


def test_a_run_whose_worker_always_dies_fails_and_a_bug_outside_the_run_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lrlab.lab.runner import Task

    monkeypatch.setenv("LRLAB_TEST_DRIVER", str(os.getpid()))
    killed = TrainConfig(train="tests.lab.trainables:dies_outside_the_driver", epochs=2)
    fine = TrainConfig(train="tests.lab.trainables:regression", epochs=2)
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        ends = {e.id: e for e in run_all(str(tmp_path / "o"), [killed, fine], RayExecutor())}
        assert ends[fine.run_id].status == "finished"
        assert ends[killed.run_id].status == "failed"
        assert ends[killed.run_id].error is not None
        assert ends[killed.run_id].error.startswith("its Ray worker died 4 times (")
        work = import_object("train", "tests.lab.trainables:raises_outside_the_run")
        (end,) = RayExecutor().map(work, [Task(fine.to_dict())], lambda *_: None)
        assert (end.status, end.error) == ("failed", "KeyError: 'boom'")
        assert end.details is not None
        assert "raises_outside_the_run" in end.details
    finally:
        ray.shutdown()
    with Store(tmp_path / "o", read_only=True) as store:
        assert {r.id: r.status for r in store.runs()} == {
            killed.run_id: "failed",
            fine.run_id: "finished",
        }


def test_an_interrupted_driver_cancels_its_tasks_in_a_session_that_stays() -> None:
    """Ctrl-C in a notebook: the caller's Ray session lives on, and no run keeps training."""
    from lrlab.lab.runner import Task, run_task

    configs = [TrainConfig(model="cnn", epochs=60, seed=seed) for seed in (0, 1)]
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:

        def interrupt(*_: object) -> None:
            raise KeyboardInterrupt

        tasks = [Task(c.to_dict()) for c in configs]
        with pytest.raises(KeyboardInterrupt):
            list(RayExecutor().map(run_task, tasks, interrupt))
        assert ray.is_initialized()  # the caller's session: not shut down
        deadline = time.monotonic() + 20  # 60 epochs of the CNN take far longer
        while ray.available_resources().get("CPU", 0) < 2:
            assert time.monotonic() < deadline, "the runs went on training after Ctrl-C"
            time.sleep(0.1)
    finally:
        ray.shutdown()


@pytest.fixture
def two_nodes() -> Iterator[Any]:
    """A head and one worker node, one CPU each (the head's object store small)."""
    cluster = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": 1, "include_dashboard": False},
    )
    worker = cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    try:
        yield cluster, worker
    finally:
        if ray.is_initialized():
            ray.shutdown()
        cluster.shutdown()


@pytest.mark.parametrize("checkpoints", ["stream", "dir"])
def test_two_nodes_a_node_lost_mid_run_finishes_with_the_same_numbers(
    tmp_path: Path, two_nodes: Any, checkpoints: str
) -> None:
    cluster, worker = two_nodes
    worker_id = worker.node_id[:8]
    out = tmp_path / "out"
    shared = tmp_path / "shared" if checkpoints == "dir" else None
    experiment = Experiment(  # a task per run: one finishes on a node while another trains
        model="cnn", epochs=8, seeds=(0, 1), schedules=SCHEDULES, engine="sequential"
    )
    seen: dict[str, Any] = {}

    def lose_the_worker_node() -> None:
        """Once a run has finished on the worker node and another has committed epochs
        there, remove the node, as a machine lost to the cloud would be."""
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            time.sleep(0.05)
            try:
                with Store(out, read_only=True) as store:
                    runs = store.runs()
                    rows = store.db.execute("SELECT data, uri FROM checkpoints").fetchall()
            except StoreError:
                continue
            on_worker = [r for r in runs if (r.node or "").endswith(worker_id)]
            finished = [r for r in on_worker if r.status == "finished"]
            running = [r for r in on_worker if r.status == "running" and r.epochs_done > 0]
            if finished and running:
                seen["interrupted"] = [r.id for r in running]
                seen["checkpoints"] = rows
                cluster.remove_node(worker)
                return

    thread = threading.Thread(target=lose_the_worker_node)
    thread.start()
    done = compare(
        experiment,
        out,
        executor=RayExecutor(address=cluster.address),
        checkpoint_dir=None if shared is None else str(shared),
    )
    thread.join()
    assert seen.get("interrupted"), "the worker node was never lost mid-run"
    assert [o.status for o in done.outcomes] == ["finished"] * 6
    assert metrics(out) == reference(experiment)  # every (run, epoch) once, the same numbers
    with Store(out, read_only=True) as store:
        nodes = {r.id: r.node for r in store.runs()}
        warned = [w for r in store.runs() for w in r.warnings]
    assert warned == []  # every resume used its committed checkpoint (none was unreadable)
    assert any(node.endswith(worker_id) for node in nodes.values())  # both nodes trained
    assert all(not nodes[run].endswith(worker_id) for run in seen["interrupted"])  # moved
    if shared is None:
        assert all(uri is None and len(data) > 0 for data, uri in seen["checkpoints"])
    else:
        assert seen["checkpoints"]
        assert all(uri.startswith(str(shared)) and data == b"" for data, uri in seen["checkpoints"])
        assert sorted(shared.iterdir()) == []  # finished runs leave no checkpoint behind


COMPARE = [
    "compare",
    "--model",
    "mlp-bn",
    "--epochs",
    "12",
    "--seeds",
    "1",
    "--schedule",
    "constant(value={lr})",
    "--schedule",
    "cos=cosine(init={lr}, steps={epochs})",
    "--executor",
    "ray",
    "--jobs",
    "2",
    "--quiet",
]


def _wait_for_epochs(out: str, count: int) -> None:
    deadline = time.time() + 180
    while time.time() < deadline:
        try:
            with Store(out, read_only=True) as store:
                if store.epochs_done() >= count:
                    return
        except StoreError:  # not created yet
            pass
        time.sleep(0.02)
    raise AssertionError(f"{out}: fewer than {count} epochs after 180 s")


def test_sigkill_the_driver_then_rerun_loses_and_repeats_nothing(tmp_path: Path) -> None:
    """With checkpoints by reference (streamed ones resume in the two-node test)."""
    out = str(tmp_path / "runs")
    command = [sys.executable, "-m", "lrlab", *COMPARE, "--out", out]
    command += ["--checkpoint-dir", str(tmp_path / "ck")]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_for_epochs(out, 4)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    with Store(out, read_only=True) as store:
        partial = store.epochs_done()
    assert 4 <= partial < 24
    with Store(out, read_only=True) as store:
        rows = store.db.execute("SELECT data, uri FROM checkpoints").fetchall()
    assert rows
    assert all(data == b"" and Path(uri).is_file() for data, uri in rows)
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    with Store(out, read_only=True) as store:
        experiment = Experiment.from_mapping(store.experiments()[0].config)
        assert [r.status for r in store.runs()] == ["finished", "finished"]
        assert [r.warnings for r in store.runs()] == [(), ()]  # resumed from its checkpoint
    assert metrics(Path(out)) == reference(experiment)
    assert list((tmp_path / "ck").iterdir()) == []


def test_ctrl_c_cancels_the_tasks_and_exits_130(tmp_path: Path) -> None:
    out = str(tmp_path / "runs")
    command = [sys.executable, "-m", "lrlab", *COMPARE, "--out", out]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _wait_for_epochs(out, 2)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130
    assert "Traceback" not in err.decode()
    with Store(out, read_only=True) as store:
        assert {r.status for r in store.runs()} <= {"running", "pending"}


def test_own_training_on_local_ray_imports_from_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "mine.py").write_text(
        "from lrlab.lab.train import builtin\n\n\ndef train(run):\n    builtin(run)\n"
    )
    monkeypatch.chdir(tmp_path)  # the workers import mine.py from there, as in process
    own = ["--train", "mine:train", "--schedule", "constant(value={lr})"]
    code = main(["compare", *own, "--epochs", "2", "--seeds", "1", "--quiet", *RAY_ONE])
    assert code == 0, capsys.readouterr().err
    with Store(tmp_path / "o", read_only=True) as store:
        (run,) = store.runs()
    config = TrainConfig(**run.config)
    assert [_row(e) for e in store_epochs(tmp_path / "o", run.id)] == [
        _row(e) for e in train(config).epochs
    ]


RAY_ONE = ["--executor", "ray", "--out", "o"]


def store_epochs(directory: Path, run: str) -> list[Epoch]:
    with Store(directory, read_only=True) as store:
        return store.epochs(run)
