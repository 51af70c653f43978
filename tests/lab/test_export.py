"""`lrlab.lab.export`: stores written by hand, exported, and read back with TensorBoard's
event reader and MLflow's client; every value checked against the store."""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lrlab.lab.config import TrainConfig
from lrlab.lab.experiment import Experiment, ScheduleEntry
from lrlab.lab.export import (
    Exported,
    default_uri,
    flatten,
    param_text,
    target_name,
    to_mlflow,
    to_tensorboard,
)
from lrlab.lab.records import Epoch, Member, Outcome
from lrlab.lab.store import Store
from tests.web.stores import SCHEDULES, commit_epoch, record_of, write_experiment

pytest.importorskip("tensorboardX")
pytest.importorskip("mlflow")
from mlflow.tracking import MlflowClient
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2


@pytest.fixture(autouse=True)
def _no_telemetry(monkeypatch: pytest.MonkeyPatch) -> None:
    """MLflow's usage telemetry would try the network (none here) on every export."""
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")


def second_experiment(directory: Path) -> list[Member]:
    """One more experiment in the store, of the same name (its own id), one schedule, one
    seed, two epochs; its run's config is a real `TrainConfig`'s with a nested table."""
    experiment = Experiment(epochs=2, seeds=(0,), schedules=SCHEDULES[1:], name="hand-made")
    members = [Member(experiment=experiment.id, schedule="cos", seed=0, run="second-cos-0")]
    config = {
        **TrainConfig(schedule=SCHEDULES[1].spec, epochs=2, lr=0.05).to_dict(),
        "data": {"name": "digits", "split": [0.8, 0.2], "shuffle": True},
    }
    record = record_of(experiment, created=3.0, updated=4.0)
    with Store(directory) as store:
        store.add_experiment(record, [(members[0], config)])
    for k in range(2):
        commit_epoch(directory, members[0], k)
    with Store(directory) as store:
        lrs = tuple((step, 0.05 * 0.5 ** (step / 10)) for step in range(0, 2500, 2))
        store.finish(
            members[0].run,
            Outcome(status="finished", steps_per_epoch=1250, lrs=lrs, final={"test_accuracy": 0.9}),
        )
        store.settle()
    return members


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two experiments of one name: 2 schedules x 2 seeds x 3 epochs, and 1 run of 2."""
    directory = tmp_path_factory.mktemp("store")
    write_experiment(directory, seeds=2, epochs=3)
    second_experiment(directory)
    return directory


def expected(directory: Path) -> list[dict[str, Any]]:
    """What the store holds, run by run, read without the export's code."""
    with Store(directory, read_only=True) as store:
        out = []
        for record in store.experiments():
            for member in store.members(record.id):
                (run,) = store.runs([member.run])
                out.append(
                    {
                        "record": record,
                        "member": member,
                        "run": run,
                        "epochs": store.epochs(member.run),
                        "lrs": store.lrs(member.run),
                    }
                )
    return out


def f32(value: float) -> float:
    return float(np.float32(value))


# --- TensorBoard ---------------------------------------------------------------------------


def read_tensorboard(folder: Path) -> tuple[dict[str, list[tuple[int, float]]], dict[str, Any]]:
    """Every scalar series of a run folder, and its hparams (the session start's values and
    the experiment's metric tags)."""
    events = EventAccumulator(str(folder), size_guidance={"scalars": 0, "tensors": 0})
    events.Reload()
    scalars = {
        tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]
    }
    hparams: dict[str, Any] = {}
    for content in events.PluginTagToContent("hparams").values():
        data = plugin_data_pb2.HParamsPluginData.FromString(content)
        if data.HasField("session_start_info"):
            hparams["values"] = {
                name: getattr(value, str(value.WhichOneof("kind")))
                for name, value in data.session_start_info.hparams.items()
            }
        if data.HasField("experiment"):
            hparams["metrics"] = sorted(m.name.tag for m in data.experiment.metric_infos)
    return scalars, hparams


def test_tensorboard_holds_every_metric_epoch_lr_and_hparam_of_every_run(
    store_dir: Path, tmp_path: Path
) -> None:
    exported = to_tensorboard(store_dir, tmp_path / "tb")
    runs = expected(store_dir)
    assert len(runs) == 5
    assert len({r["record"].id for r in runs}) == 2
    assert [e.action for e in exported] == ["new"] * 5
    for item, out in zip(runs, exported, strict=True):
        record, member, run = item["record"], item["member"], item["run"]
        folder = (
            tmp_path / "tb" / f"hand-made-{record.id[:8]}" / member.schedule / f"seed-{member.seed}"
        )
        assert out == Exported(
            experiment=record.id,
            name=f"hand-made-{record.id[:8]}",
            schedule=member.schedule,
            seed=member.seed,
            run=run.id,
            target=str(folder),
            action="new",
        )
        assert len(list(folder.glob("events.out.tfevents.*"))) == 1
        scalars, hparams = read_tensorboard(folder)
        epochs: list[Epoch] = item["epochs"]
        metrics = sorted(epochs[0].metrics)
        assert metrics == ["train_loss", "val_accuracy", "val_loss"]
        final = {**epochs[-1].metrics, **run.final}
        assert sorted(scalars) == sorted([*metrics, "lr", *(f"final/{k}" for k in final)])
        for name in metrics:
            assert scalars[name] == [(e.epoch, f32(e[name])) for e in epochs]
        assert scalars["lr"] == [(step, f32(lr)) for step, lr in item["lrs"]]
        assert len(scalars["lr"]) == len(item["lrs"]) > 0
        for name, value in final.items():
            assert scalars[f"final/{name}"] == [(epochs[-1].epoch, f32(value))]
        assert hparams["metrics"] == sorted(f"final/{k}" for k in final)
        assert hparams["values"] == flatten(run.config)
        assert hparams["values"]  # never empty: the config
    nested = read_tensorboard(Path(exported[0].target))[1]["values"]
    assert nested["data.split"] == "[0.8, 0.2]"
    assert nested["data.shuffle"] is True
    assert nested["schedule"] == SCHEDULES[1].spec
    assert nested["lr"] == 0.05


def test_exporting_to_tensorboard_again_replaces_each_runs_events(
    store_dir: Path, tmp_path: Path
) -> None:
    to_tensorboard(store_dir, tmp_path)
    again = to_tensorboard(store_dir, tmp_path)
    assert [e.action for e in again] == ["replaced"] * 5
    for out in again:
        folder = Path(out.target)
        assert len(list(folder.glob("events.out.tfevents.*"))) == 1
        scalars, _ = read_tensorboard(folder)
        assert [step for step, _ in scalars["val_loss"]] == list(range(len(scalars["val_loss"])))


def test_one_experiment_by_its_id_prefix(store_dir: Path, tmp_path: Path) -> None:
    with Store(store_dir, read_only=True) as store:
        first = store.experiments()[-1]
    exported = to_tensorboard(store_dir, tmp_path, experiment=first.id[:6])
    assert {e.experiment for e in exported} == {first.id}
    assert len(exported) == 4
    assert [p.name for p in tmp_path.iterdir()] == [target_name(first.name, first.id)]


# --- MLflow --------------------------------------------------------------------------------


def mlflow_runs(client: MlflowClient, name: str) -> list[Any]:
    experiment = client.get_experiment_by_name(name)
    assert experiment is not None
    return list(client.search_runs([experiment.experiment_id], max_results=1000))


def history(client: MlflowClient, run_id: str, key: str) -> list[tuple[int, float]]:
    return sorted((m.step, m.value) for m in client.get_metric_history(run_id, key))


def test_mlflow_holds_every_metric_lr_param_and_tag_of_every_run(
    store_dir: Path, tmp_path: Path
) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    exported = to_mlflow(store_dir, uri)
    runs = expected(store_dir)
    assert [e.action for e in exported] == ["new"] * 5
    client = MlflowClient(tracking_uri=uri)
    for item, out in zip(runs, exported, strict=True):
        record, member, run = item["record"], item["member"], item["run"]
        name = f"hand-made-{record.id[:8]}"
        assert (out.name, out.run, out.schedule, out.seed) == (
            name,
            run.id,
            member.schedule,
            member.seed,
        )
        (found,) = [r for r in mlflow_runs(client, name) if r.info.run_id == out.target]
        assert found.info.run_name == f"{member.schedule} seed {member.seed}"
        assert found.info.status == "FINISHED"
        tags = {k: v for k, v in found.data.tags.items() if not k.startswith("mlflow.")}
        assert tags == {
            "lrlab.run_id": run.id,
            "lrlab.schedule": member.schedule,
            "lrlab.seed": str(member.seed),
            "lrlab.status": "finished",
            "lrlab.experiment": record.id,
            "lrlab.digest": tags["lrlab.digest"],
        }
        assert found.data.params == {k: param_text(v) for k, v in flatten(run.config).items()}
        epochs: list[Epoch] = item["epochs"]
        for metric in ("train_loss", "val_loss", "val_accuracy"):
            assert history(client, out.target, metric) == [(e.epoch, e[metric]) for e in epochs]
        assert history(client, out.target, "lr") == item["lrs"]
        assert history(client, out.target, "test_accuracy") == [
            (epochs[-1].epoch, run.final["test_accuracy"])
        ]
        assert sorted(found.data.metrics) == [
            "lr",
            "test_accuracy",
            "train_loss",
            "val_accuracy",
            "val_loss",
        ]
    second = next(r for r in runs if r["run"].id == "second-cos-0")
    assert len(second["lrs"]) > 1000  # more than one log_batch holds
    params = mlflow_runs(client, f"hand-made-{second['record'].id[:8]}")[0].data.params
    assert params["data.split"] == "[0.8, 0.2]"
    assert params["data.shuffle"] == "true"
    assert params["schedule"] == SCHEDULES[1].spec


def test_mlflow_export_again_duplicates_nothing_and_replaces_what_changed(tmp_path: Path) -> None:
    store = tmp_path / "store"
    _, members = write_experiment(store, seeds=1, epochs=3, done=2)  # both runs running
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    first = to_mlflow(store, uri)
    assert [e.action for e in first] == ["new", "new"]
    client = MlflowClient(tracking_uri=uri)
    (before,) = {e.name for e in first}
    assert {r.info.status for r in mlflow_runs(client, before)} == {"RUNNING"}
    assert [e.action for e in to_mlflow(store, uri)] == ["unchanged", "unchanged"]
    commit_epoch(store, members[0], 2)
    with Store(store) as writer:
        writer.finish(
            members[0].run, Outcome(status="finished", steps_per_epoch=4, lrs=((0, 0.05),))
        )
    again = to_mlflow(store, uri)
    assert [(e.run, e.action) for e in again] == [
        (members[0].run, "replaced"),
        (members[1].run, "unchanged"),
    ]
    assert again[1].target == first[1].target
    live = {r.data.tags["lrlab.run_id"]: r for r in mlflow_runs(client, before)}
    assert len(mlflow_runs(client, before)) == 2
    replaced = live[members[0].run]
    assert replaced.info.run_id == again[0].target != first[0].target
    assert replaced.info.status == "FINISHED"
    assert replaced.data.tags["lrlab.status"] == "finished"
    assert [s for s, _ in history(client, replaced.info.run_id, "val_accuracy")] == [0, 1, 2]
    assert history(client, replaced.info.run_id, "lr") == [(0, 0.05)]
    assert live[members[1].run].data.tags["lrlab.status"] == "running"


def test_the_default_uri_is_a_sqlite_file_beside_the_store(tmp_path: Path) -> None:
    assert default_uri(tmp_path) == f"sqlite:///{tmp_path.resolve().as_posix()}/mlflow.db"


def test_a_diverged_run_keeps_its_nan_and_inf(tmp_path: Path) -> None:
    store = tmp_path / "store"
    _, members = write_experiment(store, seeds=1, epochs=3, done=1)
    bad = {"train_loss": math.inf, "val_loss": math.nan, "val_accuracy": 0.1}
    with Store(store) as writer:
        writer.save_epochs(members[0].run, [Epoch(epoch=1, lr=0.05, seconds=0.1, metrics=bad)], b"")
        writer.finish(
            members[0].run,
            Outcome(status="diverged", steps_per_epoch=4, diverged_at=6, lrs=((0, 0.05),)),
        )
    (tensorboard, _) = to_tensorboard(store, tmp_path / "tb")
    scalars, _ = read_tensorboard(Path(tensorboard.target))
    assert scalars["train_loss"][1] == (1, math.inf)
    assert math.isnan(scalars["val_loss"][1][1])
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    (mlflow, _) = to_mlflow(store, uri)
    client = MlflowClient(tracking_uri=uri)
    found = client.get_run(mlflow.target)
    assert (found.info.status, found.data.tags["lrlab.status"]) == ("FINISHED", "diverged")
    assert history(client, mlflow.target, "train_loss")[1] == (
        1,
        sys.float_info.max,
    )  # MLflow's inf
    assert math.isnan(history(client, mlflow.target, "val_loss")[1][1])


def test_names_made_safe_for_a_path_never_share_a_folder(tmp_path: Path) -> None:
    schedules = (
        ScheduleEntry(name="a/b", spec="constant(value={lr})"),
        ScheduleEntry(name="a_b", spec="cosine(init={lr}, steps={epochs})"),
    )
    experiment = Experiment(epochs=1, seeds=(0,), schedules=schedules, name="odd/../name")
    members = [
        Member(experiment=experiment.id, schedule=e.name, seed=0, run=f"run-{k}")
        for k, e in enumerate(schedules)
    ]
    record = record_of(experiment, lr=0.1, updated=1.0)
    with Store(tmp_path / "store") as store:
        store.add_experiment(record, [(m, {"seed": 0}) for m in members])
        for k, member in enumerate(members):
            epoch = Epoch(epoch=0, lr=0.1, seconds=1.0, metrics={"val_loss": float(k)})
            store.save_epochs(member.run, [epoch], b"")
    exported = to_tensorboard(tmp_path / "store", tmp_path / "tb")
    top = tmp_path / "tb" / f"odd_.._name-{experiment.id[:8]}"
    assert [Path(e.target) for e in exported] == [
        top / "a_b" / "seed-0",
        top / "a_b-run-1" / "seed-0",
    ]
    assert [read_tensorboard(Path(e.target))[0]["val_loss"] for e in exported] == [
        [(0, 0.0)],
        [(0, 1.0)],
    ]
