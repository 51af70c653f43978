"""Schedule-free entries: ``schedulefree(...)`` next to schedules in one comparison."""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import schedulefree
import torch

from lrlab.lab import Experiment, ScheduleEntry, TrainConfig, train
from lrlab.lab.config import ScheduleFree, schedule_for, schedule_free_for
from lrlab.lab.recipe import dataset_for, schedule_free_optimizer_for
from lrlab.lab.records import Epoch
from lrlab.lab.report import summarise
from lrlab.lab.run import Run
from lrlab.lab.train import Checkpoint, recompute_batch_norm
from lrlab.schedules import constant
from tests.cli import run as cli

trainer = importlib.import_module(
    "lrlab.lab.train"
)  # the module (`lrlab.lab.train` is the function)
FREE = "schedulefree(warmup_steps={steps_per_epoch})"
STEP = "StepLR(lr={lr}, step_size=1, gamma=0.5)"


# --- the entry -----------------------------------------------------------------------------


@pytest.mark.parametrize("per", ["epoch", "batch"])
def test_its_placeholders_count_optimizer_steps_and_its_schedule_is_the_constant(
    per: str,
) -> None:
    config = TrainConfig(
        epochs=3, per=per, schedule="schedulefree(lr=10*{lr}, warmup_steps={steps}/3 - 1)"
    )
    assert schedule_free_for(config, steps_per_epoch=20) == ScheduleFree(lr=1.0, warmup_steps=19)
    assert schedule_for(config, steps_per_epoch=20) == constant(value=1.0)
    assert schedule_free_for(TrainConfig(schedule=STEP), steps_per_epoch=20) is None


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("schedulefree(warmup=3)", "unknown parameter 'warmup'; parameters: lr, warmup_steps"),
        ("schedulefree(0.1)", "takes its parameters by name"),
        ("schedulefree(warmup_steps=2.5)", "warmup_steps must be an int >= 0, got 2.5"),
        ("schedulefree(warmup_steps=-1)", "warmup_steps must be an int >= 0, got -1"),
        ("schedulefree(lr=0)", "schedulefree: lr must be > 0"),
        ("schedulefree(lr=x)", "lr must be a number (+ - * / allowed), got 'x'"),
        ("schedulefree(lr=1/0)", "lr: cannot compute it"),
        ("schedulefree(lr=", "not a valid spec"),
    ],
)
def test_bad_arguments_name_the_parameter(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=r"^schedulefree: ") as error:
        schedule_free_for(TrainConfig(schedule=spec), steps_per_epoch=10)
    assert message in str(error.value)


def test_no_new_keys_in_a_config_so_run_ids_stay() -> None:
    keys = set(TrainConfig().to_dict())
    assert set(TrainConfig(schedule=FREE).to_dict()) == keys
    assert TrainConfig(schedule=FREE).run_id != TrainConfig().run_id


def test_an_experiment_with_one_trains_sequentially_and_refuses_what_cannot_train() -> None:
    entries = (ScheduleEntry(name="step", spec=STEP), ScheduleEntry(name="free", spec=FREE))
    experiment = Experiment(model="mlp-bn", epochs=2, seeds=(0,), schedules=entries)
    assert experiment.resolved_engine == "sequential"
    assert [e.name for e in experiment.schedule_free] == ["free"]
    assert Experiment(model="mlp-bn", schedules=entries[:1]).resolved_engine == "batched"
    refused = [
        ({"engine": "batched"}, "the batched engine has not; use engine 'sequential' or 'auto'"),
        ({"momentum": 0.0}, "SGDScheduleFree needs 0 < momentum < 1, got 0.0"),
        ({"optimizer": "adam", "weight_decay": 0.1}, "use optimizer 'adamw'"),
    ]
    for settings, message in refused:
        with pytest.raises(ValueError, match=r"^experiment: schedule 'free': ") as error:
            Experiment(model="mlp-bn", schedules=entries, **settings)
        assert message in str(error.value)
    with pytest.raises(ValueError, match=r"own training .* builds its own optimizer"):
        Experiment(train="m:f", lr=0.1, schedules=entries)


# --- the optimizer, its modes and BatchNorm --------------------------------------------------


@pytest.mark.parametrize(
    ("optimizer", "kind"),
    [
        ("sgd", schedulefree.SGDScheduleFree),
        ("adamw", schedulefree.AdamWScheduleFree),
        ("adam", schedulefree.AdamWScheduleFree),
    ],
)
def test_the_entry_gets_the_schedule_free_form_of_the_optimizer(optimizer: str, kind: type) -> None:
    config = TrainConfig(
        optimizer=optimizer, momentum=0.8, schedule="schedulefree(lr=0.5, warmup_steps=7)"
    )
    made = schedule_free_optimizer_for(config, torch.nn.Linear(2, 2), steps_per_epoch=10)
    assert type(made) is kind
    group = made.param_groups[0]
    assert (group["lr"], group["warmup_steps"]) == (0.5, 7)
    if optimizer == "sgd":
        assert group["momentum"] == 0.8
    config = TrainConfig(optimizer=optimizer, schedule=STEP)
    assert schedule_free_optimizer_for(config, torch.nn.Linear(2, 2), steps_per_epoch=10) is None


def _spy(monkeypatch: pytest.MonkeyPatch, events: list[str]) -> None:
    def logged(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            if not events or events[-1] != name or name != "step":
                events.append(name)
            return original(*args, **kwargs)

        return call

    for name in ("train", "eval", "step"):
        original = getattr(schedulefree.SGDScheduleFree, name)
        monkeypatch.setattr(schedulefree.SGDScheduleFree, name, logged(name, original))
    monkeypatch.setattr(trainer, "_evaluate", logged("evaluate", trainer._evaluate))
    monkeypatch.setattr(Run, "report", logged("report", Run.report))
    original = trainer.recompute_batch_norm
    monkeypatch.setattr(trainer, "recompute_batch_norm", logged("bn", original))


def test_steps_train_and_evaluations_and_saved_states_eval(monkeypatch: pytest.MonkeyPatch) -> None:
    events: list[str] = []
    _spy(monkeypatch, events)
    result = train(TrainConfig(epochs=2, model="mlp-bn", batch_size=256, schedule=FREE))
    assert result.status == "finished"
    epoch = ["train", "step", "eval", "bn", "evaluate", "report"]
    assert events == [*epoch, *epoch, "train", "eval", "bn", "evaluate"]
    events.clear()
    train(TrainConfig(epochs=1, model="mlp-bn", batch_size=256, schedule=STEP))
    assert events == ["evaluate", "report", "evaluate"]  # a schedule: no modes, no recompute


def _first_norm_inputs(model: torch.nn.Sequential, x: torch.Tensor, size: int) -> torch.Tensor:
    with torch.no_grad():
        return torch.stack([model[0](x[i : i + size]) for i in range(0, len(x) - size + 1, size)])


def test_batch_norm_statistics_are_recomputed_at_the_averaged_weights() -> None:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3), torch.nn.ReLU())
    optimizer = schedulefree.SGDScheduleFree(model.parameters(), lr=0.5)
    x = torch.randn(100, 4) * 3 + 1
    optimizer.train()
    for _ in range(20):
        optimizer.zero_grad()
        model(x[:32]).square().mean().backward()
        optimizer.step()
    optimizer.eval()  # the weights are the averaged ones now, the statistics still y's
    norm = model[1]
    gathered = norm.running_mean.clone()
    model.train(False)
    recompute_batch_norm(model, x, batch_size=32, batches=2)
    inputs = _first_norm_inputs(model, x[:64], 32)
    torch.testing.assert_close(norm.running_mean, inputs.mean(1).mean(0))
    torch.testing.assert_close(norm.running_var, inputs.var(1).mean(0))
    assert not torch.allclose(gathered, norm.running_mean, atol=1e-3)
    assert (model.training, norm.momentum, int(norm.num_batches_tracked)) == (False, 0.1, 2)
    plain = torch.nn.Linear(2, 2)
    recompute_batch_norm(plain, x[:, :2], batch_size=32)  # no BatchNorm: nothing to do
    assert plain.training


def test_the_trainer_evaluates_with_statistics_of_the_evaluated_weights(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = TrainConfig(epochs=2, model="mlp-bn", batch_size=128, schedule=FREE)
    x_train = torch.from_numpy(dataset_for(config).x_train)
    checked: list[float] = []
    evaluate = trainer._evaluate

    def check(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
        assert isinstance(model, torch.nn.Sequential)
        inputs = _first_norm_inputs(model, x_train, config.batch_size)
        mean = inputs.mean(1).mean(0)
        torch.testing.assert_close(model[1].running_mean, mean)
        checked.append(float(mean.abs().sum()))
        return evaluate(model, x, y)

    monkeypatch.setattr(trainer, "_evaluate", check)
    assert train(config).status == "finished"
    assert len(checked) == 3  # two epochs and the test


# --- resume, the comparison, the command line ---------------------------------------------


@pytest.mark.parametrize(
    ("optimizer", "lr"), [("sgd", 0.5), ("adamw", 0.003)], ids=["sgd", "adamw"]
)
def test_a_resumed_run_gives_the_uninterrupted_numbers(optimizer: str, lr: float) -> None:
    config = TrainConfig(
        epochs=3,
        model="mlp-bn",
        optimizer=optimizer,
        lr=lr,
        weight_decay=1e-4,
        batch_size=128,
        schedule="schedulefree(warmup_steps=2*{steps_per_epoch})",
    )
    full = train(config)
    saved: list[Checkpoint] = []

    def keep(_: Epoch, checkpoint: Checkpoint | None) -> None:
        assert checkpoint is not None
        saved.append(checkpoint)

    assert [e.metrics for e in train(config, on_epoch=keep).epochs] == [
        e.metrics for e in full.epochs
    ]
    resumed = train(config, resume=saved[0])
    assert [e.metrics for e in resumed.epochs] == [e.metrics for e in full.epochs]
    assert resumed.test_accuracy == full.test_accuracy
    assert resumed.lrs == full.lrs
    assert {lr for _, lr in full.lrs} == {lr}  # the constant lr (the warmup is the optimizer's)


def test_compare_ranks_a_schedule_and_schedule_free(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    argv = ["--model", "mlp-bn", "--epochs", "2", "--seeds", "1", "--quiet"]
    schedules = ["--schedule", f"step={STEP}", "--schedule", f"no schedule={FREE}"]
    code, stdout, err = cli(capsys, "compare", *argv, *schedules, "--out", str(out))
    assert (code, err) == (0, "")
    ranked = [row.schedule for row in summarise(out).rows]
    assert sorted(ranked) == ["no schedule", "step"]
    rows = [line.split() for line in stdout.splitlines() if line[:1] in ("1", "2")]
    assert [row[:2] for row in rows] == [["1", ranked[0].split()[0]], ["2", ranked[1].split()[0]]]
    assert (out / "report.html").exists()
    code, stdout, _ = cli(capsys, "runs", str(out), "--json")
    runs = {r["schedule"]: r for r in json.loads(stdout)["runs"]}
    assert {r["status"] for r in runs.values()} == {"finished"}
    assert {r["engine"] for r in runs.values()} == {"sequential"}
    assert [r["warnings"] for r in runs.values()] == [[], []]  # the loop agrees with the lr
    assert [e["lr"] for e in runs["no schedule"]["epochs"]] == [0.1, 0.1]
    assert [e["lr"] for e in runs["step"]["epochs"]] == [0.1, 0.05]


MLP = ["--model", "mlp-bn"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([*MLP, "--schedule", "schedulefree(warmup=3)"], "unknown parameter 'warmup'"),
        ([*MLP, "--schedule", FREE, "--engine", "batched"], "the batched engine has not"),
        ([*MLP, "--schedule", FREE, "--momentum", "0"], "SGDScheduleFree needs 0 < momentum < 1"),
        (["--train", "m:f", "--schedule", FREE], "own training (train = 'm:f') builds its own"),
    ],
)
def test_bad_schedule_free_input_exits_2_before_training(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: list[str], message: str
) -> None:
    out = tmp_path / "out"
    code, stdout, err = cli(capsys, "compare", *argv, "--out", str(out))
    assert (code, stdout, err.count("\n")) == (2, "", 1)
    assert message in err
    assert not out.exists()
