"""When a run checkpoints, and how a resume trains again the epochs after its checkpoint."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from lrlab.lab.config import TrainConfig
from lrlab.lab.records import Epoch
from lrlab.lab.run import Run, _pack_epochs, _unpack_epochs
from tests.lab.trainables import nondeterministic, regression

CONFIG = TrainConfig(
    epochs=6, lr=0.05, schedule="StepLR(lr={lr}, step_size=2, gamma=0.5)", train="t:regression"
)


class Interrupted(Exception):
    pass


def _commits(stop_after: int | None = None):  # type: ignore[no-untyped-def]
    commits: list[tuple[Epoch, bytes | None]] = []

    def commit(epoch: Epoch, data: bytes | None) -> None:
        commits.append((epoch, data))
        if epoch.epoch == stop_after:
            raise Interrupted

    return commits, commit


def test_overhead_inf_checkpoints_every_epoch_and_zero_only_the_first() -> None:
    every, commit = _commits()
    assert Run(CONFIG, commit=commit, checkpoint_overhead=math.inf).execute(regression).status == (
        "finished"
    )
    assert [data is not None for _, data in every] == [True] * 6
    first, commit = _commits()
    Run(CONFIG, commit=commit, checkpoint_overhead=0.0).execute(regression)
    assert [data is not None for _, data in first] == [True] + [False] * 5
    assert [e.metrics for e, _ in first] == [e.metrics for e, _ in every]


def test_a_report_without_state_never_checkpoints() -> None:
    def stateless(run: Run) -> None:
        optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=run.lr)
        run.scheduler(optimizer, steps_per_epoch=1)
        for _ in run.epochs():
            optimizer.step()
            run.report(val_loss=1.0)

    seen, commit = _commits()
    Run(CONFIG, commit=commit, checkpoint_overhead=math.inf).execute(stateless)
    assert [data for _, data in seen] == [None] * 6


def _interrupted_then_resumed(trainable, overhead: float):  # type: ignore[no-untyped-def]
    """Epochs 0-3 committed with a checkpoint only after epoch 0, then resumed."""
    first, commit = _commits(stop_after=3)
    with pytest.raises(Interrupted):
        Run(CONFIG, commit=commit, checkpoint_overhead=overhead).execute(trainable)
    checkpoint = next(data for _, data in reversed(first) if data is not None)
    history = [epoch for epoch, _ in first]
    again, commit = _commits()
    run = Run(CONFIG, checkpoint=checkpoint, history=history, commit=commit)
    return run, run.execute(trainable), history, again


def test_a_resume_trains_the_epochs_after_the_checkpoint_again_and_commits_only_new_ones() -> None:
    full, commit = _commits()
    uninterrupted = Run(CONFIG, commit=commit)
    uninterrupted.execute(regression)
    run, ending, history, again = _interrupted_then_resumed(regression, 0.0)
    assert ending.status == "finished"
    assert run.resumed_from == 4
    assert [e.epoch for e, _ in again] == [4, 5]  # 1-3 trained again, not committed again
    assert [e.metrics for e in run.history] == [e.metrics for e, _ in full]
    assert run.history[:4] == history
    assert run.warnings == []
    assert run.outcome().lrs == uninterrupted.outcome().lrs


def test_a_training_that_is_not_deterministic_is_warned_about_on_resume() -> None:
    run, ending, history, again = _interrupted_then_resumed(nondeterministic, 0.0)
    assert ending.status == "finished"
    assert run.history[:4] == history  # the committed epochs are kept
    assert [e.epoch for e, _ in again] == [4, 5]
    (warning,) = run.warnings
    assert warning.startswith("[resume] epoch 1, trained again after resuming, gave draw")
    assert "not deterministic" in warning


metric_names = st.sampled_from(["val_loss", "val_mse", "acc", "lr_x"])
epochs = st.lists(
    st.dictionaries(metric_names, st.floats(allow_nan=True, allow_infinity=True), max_size=4),
    max_size=8,
)


@given(epochs, st.floats(min_value=0, max_value=10), st.floats(min_value=0, max_value=1e4))
def test_epochs_survive_packing(metrics: list[dict[str, float]], lr: float, seconds: float) -> None:
    rows = [Epoch(epoch=i, lr=lr, seconds=seconds, metrics=m) for i, m in enumerate(metrics)]
    back = _unpack_epochs(_pack_epochs(rows))
    assert [(e.epoch, e.lr, e.seconds) for e in back] == [(e.epoch, e.lr, e.seconds) for e in rows]
    for got, want in zip(back, rows, strict=True):
        assert got.metrics.keys() == want.metrics.keys()
        for name, value in want.metrics.items():
            assert got.metrics[name] == value or (
                math.isnan(value) and math.isnan(got.metrics[name])
            )
