"""The batched engine against the sequential trainer, its peer: member for member."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lrlab.cli import main
from lrlab.lab import batched
from lrlab.lab.batched import Stack, StackedOptimizer, check_batchable, train_together
from lrlab.lab.config import TrainConfig, schedule_for
from lrlab.lab.data import load
from lrlab.lab.models import build_for
from lrlab.lab.run import Run, execute_together
from lrlab.lab.runner import run_all
from lrlab.lab.store import Store
from lrlab.lab.train import builtin, optimizer_for, train

SPECS = (
    ("constant(value={lr})", "epoch"),
    ("cosine(init={lr}, steps={steps})", "batch"),
    ("StepLR(lr={lr}, step_size=1, gamma=0.5)", "epoch"),
    ("ReduceLROnPlateau(lr={lr}, patience=0, factor=0.5)", "epoch"),
    ("OneCycleLR(max_lr={lr}, total_steps={steps})", "batch"),
)
TOLERANCE = 1e-5
"""Per-step training loss, relative, over the first epoch (float32 rounding: the stacked
kernels sum in another order than the sequential ones). Training amplifies rounding:
Adam at lr 1e-3 (a near-zero gradient's 1-ulp change moves its update by up to the lr)
exceeds it by the epoch's end, and so does the sequential trainer against itself on 1
and 2 threads; the cases here train where rounding stays rounding."""


def configs(**settings: Any) -> list[TrainConfig]:
    return [
        TrainConfig(schedule=spec, per=per, engine="batched", **settings)  # type: ignore[arg-type]
        for spec, per in SPECS
    ]


def batched_losses(
    configs: list[TrainConfig], monkeypatch: pytest.MonkeyPatch
) -> tuple[list[Run], np.ndarray]:
    """The runs trained together, and each step's training loss of each member."""
    seen: list[list[float]] = []
    original = batched._cross_entropy

    def spy(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        out = original(logits, y)
        if torch.is_grad_enabled():
            seen.append(out.tolist())
        return out

    with monkeypatch.context() as patch:
        patch.setattr(batched, "_cross_entropy", spy)
        runs = [Run(config) for config in configs]
        assert [e.status for e in execute_together(runs, train_together)] == ["finished"] * len(
            runs
        )
    return runs, np.array(seen)


def sequential_losses(
    config: TrainConfig, monkeypatch: pytest.MonkeyPatch
) -> tuple[Run, list[float]]:
    seen: list[float] = []
    original = torch.nn.functional.cross_entropy

    def spy(*args: Any, **kwargs: Any) -> torch.Tensor:
        out = original(*args, **kwargs)
        if torch.is_grad_enabled():
            seen.append(out.item())
        return out

    with monkeypatch.context() as patch:
        patch.setattr(torch.nn.functional, "cross_entropy", spy)
        run = Run(dataclasses.replace(config, engine="sequential"))
        assert run.execute(builtin).status == "finished"
    return run, seen


@pytest.mark.parametrize(
    ("model", "optimizer", "lr", "weight_decay"),
    [
        ("mlp-bn", "sgd", 0.05, 1e-3),
        ("mlp-bn", "adam", 3e-4, 1e-3),
        ("mlp-bn", "adamw", 3e-4, 1e-2),
        ("mlp", "sgd", 0.05, 0.0),
        ("cnn", "sgd", 0.02, 0.0),
        ("cnn", "adam", 3e-4, 0.0),
    ],
)
def test_each_member_trains_as_the_sequential_trainer(
    model: str, optimizer: str, lr: float, weight_decay: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    chosen = configs(
        model=model, optimizer=optimizer, lr=lr, weight_decay=weight_decay, epochs=2, seed=3
    )
    runs, losses = batched_losses(chosen, monkeypatch)
    steps = runs[0].outcome().steps_per_epoch
    assert losses.shape == (2 * steps, len(chosen))
    for i, config in enumerate(chosen):
        peer, expected = sequential_losses(config, monkeypatch)
        relative = np.abs(losses[:steps, i] - expected[:steps]) / np.abs(expected[:steps])
        assert relative.max() <= TOLERANCE, (config.schedule, relative.max())
        # the lr each step used is the schedule's, as the sequential trainer's
        assert runs[i].lrs == peer.lrs
        assert [e.lr for e in runs[i].history] == [e.lr for e in peer.history]
        closed = schedule_for(config, steps)
        if closed.metric_driven:
            continue
        per_step = config.per == "batch"
        for step, value in runs[i].lrs[: steps - 1]:
            assert value == pytest.approx(float(closed(step if per_step else 0)), rel=1e-12)


def test_the_plateau_member_is_fed_its_own_validation_loss(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    plateau = TrainConfig(
        model="mlp-bn",
        lr=0.05,
        epochs=6,
        engine="batched",
        schedule="ReduceLROnPlateau(lr={lr}, patience=0, factor=0.5, threshold=0.05)",
    )
    other = dataclasses.replace(plateau, schedule="constant(value={lr})")
    runs, _ = batched_losses([other, plateau], monkeypatch)
    peer, _ = sequential_losses(plateau, monkeypatch)
    lrs = [e.lr for e in runs[1].history]
    assert lrs == [e.lr for e in peer.history]
    assert min(lrs) < 0.05  # it did reduce
    assert {e.lr for e in runs[0].history} == {0.05}


def test_a_diverging_member_stops_alone_and_disturbs_no_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calm = configs(model="mlp-bn", epochs=2)[:2]
    wild = dataclasses.replace(calm[0], lr=50.0)
    alone, _ = batched_losses(calm, monkeypatch)
    runs = [Run(config) for config in [calm[0], wild, calm[1]]]
    endings = execute_together(runs, train_together)
    assert [e.status for e in endings] == ["finished", "diverged", "finished"]
    assert runs[1].diverged_at is not None
    for before, after in zip(alone, [runs[0], runs[2]], strict=True):
        assert [e.metrics for e in after.history] == [e.metrics for e in before.history]
        assert after.final == before.final


def test_resuming_a_batch_gives_the_uninterrupted_numbers(tmp_path: Path) -> None:
    chosen = configs(model="mlp-bn", epochs=4, batch_size=128)[:3]
    whole = tmp_path / "whole"
    assert {e.status for e in run_all(str(whole), chosen)} == {"finished"}

    class Stop(BaseException):  # as Ctrl-C or a kill would stop it
        pass

    broken = tmp_path / "broken"
    commits = 0
    real = Store.save_epochs

    def save_then_stop(self: Store, *args: Any, **kwargs: Any) -> None:
        nonlocal commits
        real(self, *args, **kwargs)
        commits += 1
        if commits == 4:  # epochs 0 of every member, and epoch 1 of the first
            raise Stop

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Store, "save_epochs", save_then_stop)
        with pytest.raises(Stop):
            list(run_all(str(broken), chosen))
    with Store(broken, read_only=True) as store:
        assert [len(store.epochs(c.run_id)) for c in chosen] == [2, 1, 1]
    ends = list(run_all(str(broken), chosen))
    assert sorted(e.resumed_from or 0 for e in ends) == [1, 1, 2]
    with Store(whole, read_only=True) as a, Store(broken, read_only=True) as b:
        for config in chosen:
            got = b.epochs(config.run_id)
            assert [e.epoch for e in got] == [0, 1, 2, 3]  # nothing lost, nothing twice
            assert [e.metrics for e in got] == [e.metrics for e in a.epochs(config.run_id)]
        assert {r.engine for r in b.runs([c.run_id for c in chosen])} == {"batched"}


def test_a_member_checkpoint_is_the_sequential_trainers_state() -> None:
    config = configs(model="cnn", optimizer="adam", lr=1e-3, epochs=1)[1]
    saved: list[bytes] = []
    train(config, on_epoch=lambda _epoch, checkpoint: saved.append(checkpoint or b""))
    state = Run(dataclasses.replace(config, engine="sequential"), checkpoint=saved[0]).restore()
    data = load("digits", seed=0)
    model = build_for("cnn", data)
    model.load_state_dict(state["model"])  # strict: every key, every shape
    optimizer = optimizer_for(config, model)
    optimizer.load_state_dict(state["optimizer"])
    assert all(optimizer.state[p]["step"] > 0 for p in model.parameters())


@settings(max_examples=25, deadline=None)
@given(
    kind=st.sampled_from(["sgd", "adam", "adamw"]),
    lrs=st.lists(st.floats(1e-4, 0.5), min_size=1, max_size=4),
    momentum=st.sampled_from([0.0, 0.5, 0.9]),
    weight_decay=st.sampled_from([0.0, 1e-3, 0.1]),
)
def test_the_stacked_update_is_torch_optim_per_member(
    kind: str, lrs: list[float], momentum: float, weight_decay: float
) -> None:
    config = TrainConfig(optimizer=kind, momentum=momentum, weight_decay=weight_decay)  # type: ignore[arg-type]
    generator = torch.Generator().manual_seed(0)
    start = torch.randn(4, 3, generator=generator)
    stacked = start.expand(len(lrs), 4, 3).clone()
    ours = StackedOptimizer(config, [stacked], [None] * len(lrs))
    peers = []
    for lr in lrs:
        holder = torch.nn.Module()
        holder.p = p = torch.nn.Parameter(start.clone())
        peers.append((p, optimizer_for(dataclasses.replace(config, lr=lr), holder)))
    for _ in range(4):
        grad = torch.randn(4, 3, generator=generator)
        ours.step([grad.expand(len(lrs), 4, 3)], lrs)
        for p, peer in peers:
            p.grad = grad.clone()
            peer.step()
    for i, (p, _) in enumerate(peers):
        torch.testing.assert_close(stacked[i], p.detach(), rtol=1e-6, atol=1e-7)


def test_a_stack_keeps_each_members_state_and_drops_members() -> None:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    other = {k: v + 1 for k, v in model.state_dict().items()}
    stack = Stack(model, [None, other], torch.device("cpu"))
    stack.logits(torch.randn(6, 3))  # train mode: running statistics move, per member
    first, second = stack.member(0), stack.member(1)
    assert set(first) == set(model.state_dict())
    assert not torch.equal(first["1.running_mean"], second["1.running_mean"])
    assert torch.equal(first["0.weight"] + 1, second["0.weight"])
    stack.keep(torch.tensor([1]))
    assert torch.equal(stack.member(0)["0.weight"], second["0.weight"])
    assert stack.trainable[0].requires_grad
    assert stack.trainable[0].is_leaf


FACTORY = """
import torch

class Counting(torch.nn.Module):
    def forward(self, x):
        if x.sum().item() > 1e9:  # data-dependent Python: vmap cannot stack it
            return x
        return x


def factory(n_features, n_classes):
    return torch.nn.Sequential(
        torch.nn.Linear(n_features, 16), Counting(), torch.nn.Linear(16, n_classes)
    )
"""


def test_a_model_that_cannot_stack_is_named_with_the_way_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "unstackable.py").write_text(FACTORY)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    config = TrainConfig(model="unstackable:factory", engine="batched")
    with pytest.raises(ValueError, match=r"layer '1' \(Counting\).*--engine sequential"):
        check_batchable(config, load("digits", seed=0))
    code = main(
        ["compare", "--model", "unstackable:factory", "--engine", "batched", "--epochs", "2",
         "--seeds", "1", "--out", str(tmp_path / "out"), "--quiet"]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1
    assert "--engine sequential" in err
    assert not (tmp_path / "out" / "lrlab.sqlite").exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--engine", "fast"], "invalid choice: 'fast'"),
        (["--device", "gpu"], "device must be cpu, cuda or cuda:N, got 'gpu'"),
        (["--device", "cuda"], "torch sees no CUDA GPU here"),
        (["--train", "x:y", "--engine", "batched"], "engine does not apply to own training"),
    ],
)
def test_bad_engine_or_device_is_exit_2(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if "cuda" in argv and torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    code = main(["compare", *argv, "--epochs", "2", "--out", str(tmp_path), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert "Traceback" not in err


def test_auto_is_batched_where_it_is_faster_and_the_id_says_so() -> None:
    from lrlab.lab.experiment import Experiment

    auto = Experiment(model="mlp-bn", epochs=2, seeds=(0,))
    sequential = dataclasses.replace(auto, engine="sequential")
    assert {c.engine for c in auto.configs()} == {"batched"}
    assert auto.id == dataclasses.replace(auto, engine="batched").id != sequential.id
    assert {c.engine for c in Experiment(model="pkg:factory").configs()} == {"sequential"}
    assert {c.engine for c in Experiment().configs()} == {"sequential"}  # the CNN on a CPU
    assert {c.engine for c in Experiment(device="cuda").configs()} == {"batched"}


STACKABLE = """
import torch


def factory(n_features, n_classes):
    return torch.nn.Sequential(
        torch.nn.Linear(n_features, 32), torch.nn.LayerNorm(32), torch.nn.GELU(),
        torch.nn.Linear(32, n_classes),
    )
"""


def test_a_factory_model_trains_stacked_under_vmap_as_the_sequential_trainer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "stackable.py").write_text(STACKABLE)
    monkeypatch.syspath_prepend(str(tmp_path))
    chosen = configs(model="stackable:factory", epochs=1, seed=1)[:3]
    check_batchable(chosen[0], load("digits", seed=1))
    runs, losses = batched_losses(chosen, monkeypatch)
    for i, config in enumerate(chosen):
        peer, expected = sequential_losses(config, monkeypatch)
        assert np.abs(losses[:, i] - expected).max() <= TOLERANCE * np.abs(expected).max()
        assert runs[i].lrs == peer.lrs


def checkpoints(config: TrainConfig) -> list[bytes]:
    """Every epoch's checkpoint of ``config`` trained whole."""
    saved: list[bytes] = []
    train(config, on_epoch=lambda _epoch, checkpoint: saved.append(checkpoint or b""))
    return saved


def test_a_batch_resumed_after_its_last_epoch_still_reports_its_test_accuracy() -> None:
    config = configs(model="mlp-bn", epochs=2, batch_size=256)[1]
    again = train(config, resume=checkpoints(config)[-1])
    assert again.status == "finished"
    assert again.test_accuracy == train(config).test_accuracy is not None


FROZEN = """
import torch


def factory(n_features, n_classes):
    model = torch.nn.Sequential(
        torch.nn.Linear(n_features, 16), torch.nn.ReLU(), torch.nn.Linear(16, n_classes)
    )
    model[0].requires_grad_(False)
    return model
"""


def test_optimizer_state_is_numbered_as_torch_numbers_it_with_frozen_layers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "frozen.py").write_text(FROZEN)
    monkeypatch.syspath_prepend(str(tmp_path))
    keys = {}
    for engine in ("sequential", "batched"):
        config = TrainConfig(model="frozen:factory", epochs=1, engine=engine)  # type: ignore[arg-type]
        state = Run(config, checkpoint=checkpoints(config)[0]).restore()
        keys[engine] = {
            k: tuple(v["momentum_buffer"].shape) for k, v in state["optimizer"]["state"].items()
        }
    assert keys["batched"] == keys["sequential"] == {2: (10, 16), 3: (10,)}
