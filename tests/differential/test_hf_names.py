"""`from_hf` against transformers itself: the same name and arguments, the same lrs.

Each case builds ``transformers.get_scheduler`` on a real optimizer, steps it, and reads
``get_last_lr()`` before each step; the lrlab schedule must agree to a relative 1e-12
(float64 rounding: the closed forms group the arithmetic differently).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from lrlab.schedules.hf_names import NAMES, from_hf  # noqa: E402

LR = 0.3


def hf_lrs(name: str, steps: int, **arguments: Any) -> list[float]:
    """The lr transformers' scheduler gives after 0, 1, ..., steps - 1 steps."""
    specific = arguments.pop("kwargs", {})
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=LR)
    scheduler = transformers.get_scheduler(
        name, optimizer, scheduler_specific_kwargs=specific, **arguments
    )
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's "step() before optimizer.step()" notice
        for _ in range(steps):
            out.append(scheduler.get_last_lr()[0])
            optimizer.step()
            scheduler.step()
    return out


CASES: list[tuple[str, dict[str, Any]]] = [
    ("linear", {"num_warmup_steps": 10, "num_training_steps": 100}),
    ("linear", {"num_warmup_steps": 0, "num_training_steps": 37}),
    ("cosine", {"num_warmup_steps": 10, "num_training_steps": 110}),
    ("cosine", {"num_warmup_steps": 0, "num_training_steps": 50}),
    ("cosine", {"num_warmup_steps": 5, "num_training_steps": 65, "kwargs": {"num_cycles": 1.5}}),
    ("cosine_with_restarts", {"num_warmup_steps": 4, "num_training_steps": 64}),
    (
        "cosine_with_restarts",
        {"num_warmup_steps": 4, "num_training_steps": 64, "kwargs": {"num_cycles": 3}},
    ),
    ("polynomial", {"num_warmup_steps": 10, "num_training_steps": 90}),
    (
        "polynomial",
        {"num_warmup_steps": 3, "num_training_steps": 40, "kwargs": {"lr_end": 1e-3, "power": 2.0}},
    ),
    ("constant", {}),
    ("constant_with_warmup", {"num_warmup_steps": 7}),
    ("inverse_sqrt", {"num_warmup_steps": 10}),
    ("inverse_sqrt", {"num_warmup_steps": 0}),
    ("inverse_sqrt", {"num_warmup_steps": 8, "kwargs": {"timescale": 20}}),
    (
        "cosine_with_min_lr",
        {"num_warmup_steps": 10, "num_training_steps": 100, "kwargs": {"min_lr": 0.01}},
    ),
    (
        "cosine_with_min_lr",
        {"num_warmup_steps": 0, "num_training_steps": 60, "kwargs": {"min_lr_rate": 0.1}},
    ),
    (
        "cosine_warmup_with_min_lr",
        {"num_warmup_steps": 10, "num_training_steps": 100, "kwargs": {"min_lr": 0.01}},
    ),
    (
        "cosine_warmup_with_min_lr",
        {
            "num_warmup_steps": 6,
            "num_training_steps": 66,
            "kwargs": {"min_lr_rate": 0.05, "warmup_lr_rate": 0.2, "num_cycles": 1.5},
        },
    ),
    (
        "cosine_warmup_with_min_lr",
        {"num_warmup_steps": 1, "num_training_steps": 41, "kwargs": {"min_lr_rate": 0.1}},
    ),
]
CASES.extend(
    (
        "warmup_stable_decay",
        {
            "num_warmup_steps": 10,
            "num_training_steps": 100,
            "kwargs": {"num_decay_steps": 30, "decay_type": decay, "min_lr_ratio": 0.05},
        },
    )
    for decay in ("linear", "cosine", "1-sqrt")
)
CASES.append(
    (
        "warmup_stable_decay",
        {"num_warmup_steps": 0, "kwargs": {"num_decay_steps": 20, "num_stable_steps": 15}},
    )
)


@pytest.mark.parametrize(("name", "arguments"), CASES, ids=str)
def test_from_hf_equals_transformers(name: str, arguments: dict[str, Any]) -> None:
    total = arguments.get("num_training_steps") or 120
    steps = total + 15  # past the end too
    theirs = hf_lrs(name, steps, **{**arguments, "kwargs": dict(arguments.get("kwargs", {}))})
    ours = from_hf(
        name,
        lr=LR,
        **{k: v for k, v in arguments.items() if k != "kwargs"},
        **arguments.get("kwargs", {}),
    )
    np.testing.assert_allclose(ours.values(steps), theirs, rtol=1e-12, atol=1e-15)


def test_every_supported_name_is_a_transformers_name() -> None:
    known = {kind.value for kind in transformers.SchedulerType}
    assert set(NAMES) <= known
    tested = {name for name, _ in CASES}
    assert tested == set(NAMES) - {"reduce_lr_on_plateau"}  # plateau: metric-driven, below


def test_reduce_lr_on_plateau_follows_the_metric_as_transformers_does() -> None:
    from lrlab.plateau import plateau

    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=LR)
    theirs = transformers.get_scheduler(
        "reduce_lr_on_plateau", optimizer, scheduler_specific_kwargs={"patience": 1}
    )
    ours = from_hf("reduce_lr_on_plateau", lr=LR, patience=1)
    assert isinstance(ours, plateau)
    state = ours.initial_state()
    seen = []
    for loss in [1.0, 0.9, 0.95, 0.97, 0.96, 0.5, 0.6, 0.7, 0.8]:
        theirs.step(loss)
        state = ours.update(state, loss)
        seen.append(ours.lr(state))
        assert seen[-1] == pytest.approx(optimizer.param_groups[0]["lr"], rel=1e-12)
    assert min(seen) < LR  # it did reduce


@pytest.mark.parametrize(
    ("name", "arguments", "message"),
    [
        ("cosine", {"num_warmup_steps": 1}, "requires num_training_steps"),
        ("linear", {"num_warmup_steps": 10, "num_training_steps": 10}, "num_training_steps >"),
        ("cosine", {"num_warmup_steps": 0, "num_training_steps": 10, "num_cycles": 0.3}, "whole"),
        ("polynomial", {"num_warmup_steps": 0, "num_training_steps": 9, "lr_end": 1.0}, "lr_end"),
        ("constant", {"power": 2}, "takes no 'power'"),
        ("greedy", {}, "not supported yet"),
        (
            "cosine_warmup_with_min_lr",
            {"num_warmup_steps": 0, "num_training_steps": 9, "min_lr": 0.0},
            "needs num_warmup_steps >= 1",
        ),
        (
            "cosine_warmup_with_min_lr",
            {"num_warmup_steps": 1, "num_training_steps": 9, "min_lr": 0.0, "warmup_lr_rate": 0.5},
            "warmup_lr_rate; it must be 1",
        ),
        ("cosin", {}, "unknown name 'cosin'"),
        ("linear", {"num_warmup_steps": -1, "num_training_steps": 9}, "num_warmup_steps"),
    ],
)
def test_bad_arguments_name_themselves(name: str, arguments: dict[str, Any], message: str) -> None:
    with pytest.raises((ValueError, TypeError), match=message):
        from_hf(name, lr=LR, **arguments)
