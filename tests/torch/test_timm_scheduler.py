"""`TimmScheduler`: lrlab schedules driven with timm's ``step``/``step_update`` calls."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

import lrlab
from lrlab.torch import TimmScheduler
from tests.differential.timm_ref import timm_scheduler

torch = pytest.importorskip("torch")


def sgd(*lrs: float, **extra: Any) -> Any:
    groups = [{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": lr, **extra} for lr in lrs]
    return torch.optim.SGD(groups, lr=lrs[0])


def test_per_epoch_sets_the_schedules_values() -> None:
    schedule = lrlab.warmup(lrlab.cosine(init=0.1, steps=20, end=1e-3), steps=5)
    optimizer = sgd(0.1)
    scheduler = TimmScheduler(optimizer, schedule)
    seen = [optimizer.param_groups[0]["lr"]]
    for epoch in range(30):
        for update in range(3):
            optimizer.step()
            scheduler.step_update(epoch * 3 + update + 1)  # ignored: steps per epoch
        scheduler.step(epoch + 1)
        seen.append(optimizer.param_groups[0]["lr"])
    assert seen == schedule.values(31).tolist()
    assert scheduler.t == 30


def test_per_update_sets_the_schedules_values_and_ignores_epochs() -> None:
    schedule = lrlab.annealing(init=0.2, period=7, mult=2.0, cycles=3, shape="tanh")
    optimizer = sgd(0.2)
    scheduler = TimmScheduler(optimizer, schedule, t_in_epochs=False)
    seen, updates = [optimizer.param_groups[0]["lr"]], 0
    for epoch in range(10):
        for _ in range(5):
            optimizer.step()
            updates += 1
            scheduler.step_update(num_updates=updates)
            seen.append(optimizer.param_groups[0]["lr"])
        scheduler.step(epoch + 1)
        assert optimizer.param_groups[0]["lr"] == seen[-1]
    assert seen == schedule.values(51).tolist()


def test_groups_get_their_own_schedules_and_lr_scale() -> None:
    optimizer = sgd(0.1, 0.01)
    optimizer.param_groups[1]["lr_scale"] = 0.5
    scheduler = TimmScheduler(optimizer, lambda lr: lrlab.step(init=lr, period=1, gamma=0.5))
    scheduler.step(3)  # counts may jump: the value is the closed form's
    assert [g["lr"] for g in optimizer.param_groups] == [0.1 * 0.125, 0.01 * 0.125 * 0.5]
    assert [g["initial_lr"] for g in optimizer.param_groups] == [0.1, 0.01]


def test_a_plateau_follows_the_metric() -> None:
    schedule = lrlab.warmup(lrlab.plateau(init=0.1, factor=0.5, patience=1), steps=2)
    optimizer = sgd(0.1)
    scheduler = TimmScheduler(optimizer, schedule)
    state, expected = schedule.initial_state(), []
    for epoch, loss in enumerate([3.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0]):
        expected.append(schedule.lr(state))
        assert optimizer.param_groups[0]["lr"] == expected[-1]
        state = schedule.update(state, loss)
        scheduler.step(epoch + 1, loss)
    assert min(expected[2:]) == 0.05  # it did reduce after the warmup
    with pytest.raises(ValueError, match="one epoch at a time: expected epoch=8, got 9"):
        scheduler.step(9, 1.0)


def test_state_dict_resumes() -> None:
    schedule = lrlab.plateau(init=0.1, factor=0.5, patience=0)
    optimizer = sgd(0.1)
    scheduler = TimmScheduler(optimizer, schedule)
    for epoch, loss in enumerate([1.0, 1.0, 1.0]):
        scheduler.step(epoch + 1, loss)
    saved = json.loads(json.dumps(scheduler.state_dict()))
    again = TimmScheduler(sgd(0.1), schedule)
    again.load_state_dict(saved)
    assert again.optimizer.param_groups[0]["lr"] == optimizer.param_groups[0]["lr"] == 0.025
    assert again.t == 3
    with pytest.raises(ValueError, match="the checkpoint holds"):
        TimmScheduler(sgd(0.1), lrlab.constant(value=0.1)).load_state_dict(saved)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: TimmScheduler("opt", lrlab.constant(value=0.1)), "str is not an Optimizer"),  # type: ignore[arg-type]
        (
            lambda: TimmScheduler(sgd(0.1), lrlab.constant(value=0.1), t_in_epochs=1),
            "t_in_epochs must be True or False",
        ),  # type: ignore[arg-type]
        (
            lambda: TimmScheduler(sgd(0.1), lrlab.constant(value=0.1)).step(-1),
            "epoch must be an int >= 0, got -1",
        ),
        (
            lambda: TimmScheduler(sgd(0.1, 0.2), [lrlab.constant(value=0.1)]),
            "one schedule per param group",
        ),
    ],
)
def test_bad_arguments(call: Any, message: str) -> None:
    with pytest.raises((TypeError, ValueError), match=message):
        call()


@pytest.mark.parametrize(
    "arguments",
    [
        {
            "sched": "cosine",
            "num_epochs": 12,
            "warmup_epochs": 3,
            "cycle_limit": 3,
            "cycle_decay": 0.5,
            "min_lr": 1e-4,
        },
        {
            "sched": "multistep",
            "decay_milestones": [2, 5],
            "warmup_epochs": 2,
            "warmup_prefix": True,
        },
        {
            "sched": "poly",
            "num_epochs": 4,
            "step_on_epochs": False,
            "updates_per_epoch": 6,
            "warmup_epochs": 1,
        },
    ],
)
def test_from_timm_in_a_timm_scheduler_equals_timm(arguments: dict[str, Any]) -> None:
    module = timm_scheduler()
    if module is None:
        pytest.skip("timm is not installed")
    per_update = not arguments.get("step_on_epochs", True)
    theirs_opt, ours_opt = sgd(0.3), sgd(0.3)
    theirs, _ = module.create_scheduler_v2(theirs_opt, **arguments)
    ours = TimmScheduler(ours_opt, lrlab.from_timm(lr=0.3, **arguments), t_in_epochs=not per_update)
    a, b = [], []
    for t in range(1, 60):
        for scheduler in (theirs, ours):
            scheduler.step_update(num_updates=t) if per_update else scheduler.step(t)
        a.append(theirs_opt.param_groups[0]["lr"])
        b.append(ours_opt.param_groups[0]["lr"])
    np.testing.assert_allclose(b, a, rtol=1e-12)
