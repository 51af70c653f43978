"""When a run checkpoints, and how a resume trains again the epochs after its checkpoint."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

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
    """A commit that keeps (epoch, checkpoint or None) per epoch; raises after the commit
    that holds epoch ``stop_after``."""
    commits: list[tuple[Epoch, bytes | None]] = []

    def commit(epochs: Sequence[Epoch], data: bytes | None) -> None:
        commits.extend((e, data if e is epochs[-1] else None) for e in epochs)
        if any(e.epoch == stop_after for e in epochs):
            raise Interrupted

    return commits, commit


EVERY = {"checkpoint_overhead": math.inf, "commit_overhead": math.inf}


def test_overhead_inf_checkpoints_every_epoch_and_zero_only_the_first() -> None:
    every, commit = _commits()
    assert Run(CONFIG, commit=commit, **EVERY).execute(regression).status == "finished"
    assert [data is not None for _, data in every] == [True] * 6
    first, commit = _commits()
    Run(CONFIG, commit=commit, checkpoint_overhead=0.0, commit_overhead=math.inf).execute(
        regression
    )
    assert [data is not None for _, data in first] == [True] + [False] * 5
    assert [e.metrics for e, _ in first] == [e.metrics for e, _ in every]


def test_epochs_are_committed_together_when_commits_would_cost_too_much() -> None:
    calls: list[tuple[list[int], bool]] = []

    def commit(epochs: Sequence[Epoch], data: bytes | None) -> None:
        calls.append(([e.epoch for e in epochs], data is not None))

    run = Run(CONFIG, commit=commit, checkpoint_overhead=0.0, commit_overhead=0.0)
    assert run.execute(regression).status == "finished"
    # the first commit (with the first checkpoint), the second (measured), then the rest
    # when the run ends
    assert calls == [([0], True), ([1], False), ([2, 3, 4, 5], False)]


def test_what_was_reported_is_committed_when_the_training_fails() -> None:
    calls: list[list[int]] = []

    def fails_in_epoch_4(run: Run) -> None:
        original = run.report

        def report(**metrics: Any) -> None:
            original(**metrics)
            if len(run.history) == 4:
                raise RuntimeError("boom")

        run.report = report  # type: ignore[method-assign]
        regression(run)

    run = Run(
        CONFIG,
        commit=lambda epochs, _: calls.append([e.epoch for e in epochs]),
        checkpoint_overhead=0.0,
        commit_overhead=0.0,
    )
    ending = run.execute(fails_in_epoch_4)
    assert (ending.status, ending.error) == ("failed", "RuntimeError: boom")
    assert calls == [[0], [1], [2, 3]]


def _reporting(state: object) -> Callable[[Run], None]:
    """A trainable of one optimizer step an epoch that reports ``state`` each epoch."""

    def train(run: Run) -> None:
        optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=run.lr)
        run.scheduler(optimizer, steps_per_epoch=1)
        for _ in run.epochs():
            optimizer.step()
            run.report(val_loss=1.0, state=state)

    return train


def test_a_report_without_state_never_checkpoints() -> None:
    seen, commit = _commits()
    Run(CONFIG, commit=commit, **EVERY).execute(_reporting(None))
    assert [data for _, data in seen] == [None] * 6


def _interrupted_then_resumed(trainable, overhead: float):  # type: ignore[no-untyped-def]
    """Epochs 0-3 committed with a checkpoint only after epoch 0, then resumed."""
    first, commit = _commits(stop_after=3)
    with pytest.raises(Interrupted):
        Run(CONFIG, commit=commit, checkpoint_overhead=overhead, commit_overhead=math.inf).execute(
            trainable
        )
    checkpoint = next(data for _, data in reversed(first) if data is not None)
    history = [epoch for epoch, _ in first]
    again, commit = _commits()
    run = Run(CONFIG, checkpoint=checkpoint, history=history, commit=commit, **EVERY)
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


class _Opaque:
    """A picklable object torch.load(weights_only=True) refuses."""


def test_a_state_that_cannot_be_read_back_fails_at_the_first_checkpoint() -> None:
    opaque_state = _reporting({"ok": torch.zeros(2), "bad": _Opaque()})
    seen, commit = _commits()
    ending = Run(CONFIG, commit=commit).execute(opaque_state)
    assert ending.status == "failed"
    assert ending.error == (
        "run.report(state=...): torch.load(weights_only=True) cannot read the state back: "
        "it holds tests.lab.test_checkpoints._Opaque; save tensors, state dicts, numbers, "
        "strings, lists and dicts"
    )
    assert seen == []  # nothing half-written reaches the store
