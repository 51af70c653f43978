"""`from_timm` against timm itself: the same arguments, the same lrs.

Each case builds ``timm.scheduler.create_scheduler_v2`` on a real optimizer and drives it
as timm's training script does (``step(epoch)`` after each epoch, or
``step_update(num_updates)`` after each update), reading the param group's lr; the lrlab
schedule must agree to a relative 1e-12 (float64 rounding: the closed forms group a few
operations differently; the largest error measured over the grid is about 2e-14).
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lrlab.plateau import plateau
from lrlab.schedules.checks import ParameterError
from lrlab.schedules.timm_names import SCHEDS, from_timm
from tests.differential.timm_ref import timm_scheduler

torch = pytest.importorskip("torch")
scheduler_module = timm_scheduler()
if scheduler_module is None:
    pytest.skip("timm is not installed", allow_module_level=True)

LR = 0.3
RTOL = 1e-12


def timm_lrs(steps: int, **arguments: Any) -> np.ndarray:
    """The lr timm's scheduler gives after 0, 1, ..., steps - 1 epochs (or updates)."""
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=LR)
    scheduler, _ = scheduler_module.create_scheduler_v2(optimizer, **arguments)
    per_update = not arguments.get("step_on_epochs", True)
    out = []
    for t in range(steps):
        if t:
            if per_update:
                scheduler.step_update(num_updates=t)
            else:
                scheduler.step(epoch=t)
        out.append(optimizer.param_groups[0]["lr"])
    return np.array(out)


def misplaced(arguments: dict[str, Any], steps: int) -> np.ndarray:
    """The steps where timm's own cycle index is off by one at a restart (see docs).

    timm finds the cycle with ``floor(math.log(x, cycle_mul))``, which rounds down at
    some exact restarts (``math.log(243, 3)`` is 4.999...); there timm's position in the
    cycle equals the cycle's length, and it gives the value at the end of the cycle.
    """
    mul = float(arguments.get("cycle_mul", 1.0))
    if mul == 1.0 or arguments.get("sched") not in ("cosine", "tanh", "poly"):
        return np.zeros(steps, dtype=bool)
    scale = arguments.get("updates_per_epoch", 1) if not arguments.get("step_on_epochs", 1) else 1
    period = arguments["num_epochs"] * scale
    warm = arguments.get("warmup_epochs", 0) * scale
    out = np.zeros(steps, dtype=bool)
    for t in range(warm, steps):
        u = t - warm if arguments.get("warmup_prefix") else t
        i = math.floor(math.log(1 - u / period * (1 - mul), mul))
        position = u - (1 - mul**i) / (1 - mul) * period
        out[t] = not 0 <= position < mul**i * period
    return out


def check(arguments: dict[str, Any], steps: int) -> float:
    """Compare on ``steps`` steps; returns the largest relative error."""
    theirs = timm_lrs(steps, **arguments)
    ours = from_timm(lr=LR, **arguments).values(steps)
    if not arguments.get("warmup_epochs"):
        # without a warmup timm leaves the optimizer's lr as it is until the first step;
        # ours is its _get_lr(0), which differs from lr for tanh (it starts at
        # (1 - tanh(-7)) / 2 = 0.99999917 lr) and a milestone at 0 or 1
        assert theirs[0] == LR
        theirs[0] = _timm_get_lr(0, **arguments)
    skip = misplaced(arguments, steps)
    rel = np.abs(ours - theirs) / np.maximum(np.abs(theirs), 1e-300)
    assert rel[~skip].max() <= RTOL, (arguments, np.flatnonzero(rel > RTOL)[:5])
    return float(rel[~skip].max())


def _timm_get_lr(t: int, **arguments: Any) -> float:
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=LR)
    scheduler, _ = scheduler_module.create_scheduler_v2(optimizer, **arguments)
    return float(scheduler._get_lr(t)[0])


CYCLES = [(1.0, 0.1, 1), (1.0, 0.5, 3), (2.0, 0.5, 4), (1.5, 0.7, 5), (3.0, 1.0, 3)]
GRID: list[dict[str, Any]] = []
for sched, warm, prefix, cycling, k, low in itertools.product(
    ["cosine", "tanh", "poly"], [0, 3], [False, True], CYCLES, [1.0, 2.0, 0.5], [0.0, 1e-3]
):
    if sched == "tanh" and k != 1.0:
        continue  # timm's tanh has no k-decay
    mul, decay, limit = cycling
    GRID.append(
        {
            "sched": sched,
            "num_epochs": 10,
            "warmup_epochs": warm,
            "warmup_prefix": prefix,
            "warmup_lr": 1e-4,
            "cycle_mul": mul,
            "cycle_decay": decay,
            "cycle_limit": limit,
            "k_decay": k,
            "min_lr": low,
            "decay_rate": 2.0 if sched == "poly" else 0.1,
        }
    )
for sched, warm, prefix in itertools.product(["step", "multistep"], [0, 2, 5], [False, True]):
    GRID.append(
        {
            "sched": sched,
            "decay_epochs": 4,
            "decay_milestones": [0, 3, 5, 5, 9],
            "decay_rate": 0.5,
            "warmup_epochs": warm,
            "warmup_prefix": prefix,
        }
    )


@pytest.mark.parametrize("arguments", GRID, ids=str)
def test_per_epoch_equals_timm(arguments: dict[str, Any]) -> None:
    check(arguments, 150)


@pytest.mark.parametrize("sched", ["cosine", "tanh", "poly", "step", "multistep"])
@pytest.mark.parametrize("prefix", [False, True])
def test_per_update_equals_timm(sched: str, prefix: bool) -> None:
    arguments = {
        "sched": sched,
        "num_epochs": 6,
        "decay_epochs": 2,
        "decay_milestones": [1, 3],
        "warmup_epochs": 1,
        "warmup_prefix": prefix,
        "cycle_limit": 2,
        "cycle_mul": 2.0,
        "cycle_decay": 0.5,
        "step_on_epochs": False,
        "updates_per_epoch": 7,
        "decay_rate": 0.5,
    }
    check(arguments, 7 * 20)


def test_the_defaults_equal_timm() -> None:
    check({}, 320)


def test_timm_misplaces_some_restarts_and_lrlab_does_not() -> None:
    arguments = {"sched": "cosine", "num_epochs": 1, "cycle_mul": 3.0, "cycle_limit": 9}
    skip = misplaced(arguments, 130)
    assert np.flatnonzero(skip).tolist() == [121]  # math.log(243, 3) < 5
    theirs = timm_lrs(130, **arguments)
    ours = from_timm(lr=LR, **arguments)
    assert theirs[121] == 0.0  # the end of cycle 4
    assert ours(121) == pytest.approx(LR * 0.1**5)  # the start of cycle 5


@pytest.mark.slow
@given(
    sched=st.sampled_from(["cosine", "tanh", "poly"]),
    num_epochs=st.integers(1, 40),
    warmup=st.integers(0, 12),
    prefix=st.booleans(),
    mul=st.sampled_from([1.0, 1.25, 2.0, 2.5]),
    decay=st.floats(0.05, 1.0),
    limit=st.integers(1, 4),
    k=st.sampled_from([1.0, 0.5, 1.5, 3.0]),
    low=st.sampled_from([0.0, 1e-6, 0.01]),
    power=st.floats(0.1, 4.0),
)
def test_drawn_cycle_settings_equal_timm(
    sched: str,
    num_epochs: int,
    warmup: int,
    prefix: bool,
    mul: float,
    decay: float,
    limit: int,
    k: float,
    low: float,
    power: float,
) -> None:
    arguments = {
        "sched": sched,
        "num_epochs": num_epochs,
        "warmup_epochs": warmup,
        "warmup_prefix": prefix,
        "cycle_mul": mul,
        "cycle_decay": decay,
        "cycle_limit": limit,
        "k_decay": k,
        "min_lr": low,
        "decay_rate": power,
    }
    check(arguments, 300)


@pytest.mark.slow
@given(
    sched=st.sampled_from(["step", "multistep"]),
    period=st.integers(1, 30),
    milestones=st.lists(st.integers(0, 80), max_size=6).map(sorted),
    rate=st.floats(0.01, 1.0),
    warmup=st.integers(0, 12),
    prefix=st.booleans(),
    start=st.sampled_from([0.0, 1e-5, 0.1]),
)
def test_drawn_step_settings_equal_timm(
    sched: str,
    period: int,
    milestones: list[int],
    rate: float,
    warmup: int,
    prefix: bool,
    start: float,
) -> None:
    arguments = {
        "sched": sched,
        "decay_epochs": period,
        "decay_milestones": milestones,
        "decay_rate": rate,
        "warmup_epochs": warmup,
        "warmup_prefix": prefix,
        "warmup_lr": start,
    }
    check(arguments, 120)


@pytest.mark.parametrize("warm", [0, 3])
@pytest.mark.parametrize("mode", ["min", "max"])
def test_plateau_follows_the_metric_as_timm_does(warm: int, mode: str) -> None:
    arguments = {
        "sched": "plateau",
        "patience_epochs": 1,
        "decay_rate": 0.5,
        "warmup_epochs": warm,
        "plateau_mode": mode,
        "min_lr": 0.01,
    }
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=LR)
    theirs, _ = scheduler_module.create_scheduler_v2(optimizer, **arguments)
    ours = from_timm(lr=LR, **arguments)
    assert ours.metric_driven
    assert any(isinstance(node, plateau) for node in ours._plateaus())
    state = ours.initial_state()
    metrics = [1.0, 0.9, 0.95, 0.97, 0.96, 0.5, 0.6, 0.7, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8]
    seen = []
    for epoch, metric in enumerate(metrics):
        used = optimizer.param_groups[0]["lr"]
        seen.append(ours.lr(state))
        assert seen[-1] == pytest.approx(used, rel=RTOL, abs=1e-15), epoch
        theirs.step(epoch + 1, metric)
        state = ours.update(state, metric)
    assert min(seen[warm:]) < LR  # it did reduce


def test_every_sched_is_covered() -> None:
    assert {a.get("sched", "cosine") for a in GRID} | {"plateau"} == set(SCHEDS)


def test_the_signature_is_timms() -> None:
    import inspect

    theirs = inspect.signature(scheduler_module.create_scheduler_v2).parameters
    ours = inspect.signature(from_timm).parameters
    assert [p for p in ours if p != "lr"] == [p for p in theirs if p != "optimizer"]
    for name in theirs:
        if name != "optimizer":
            assert ours[name].default == theirs[name].default, name


@pytest.mark.parametrize(
    ("arguments", "parameter", "message"),
    [
        ({"noise": 0.5}, "noise", "not supported: timm's lr noise is random"),
        ({"sched": "cosin"}, "sched", "must be one of"),
        (
            {"sched": "plateau", "step_on_epochs": False, "updates_per_epoch": 5},
            "step_on_epochs",
            "once an epoch",
        ),
        ({"step_on_epochs": False}, "updates_per_epoch", "positive int, got 0"),
        ({"sched": "multistep", "decay_milestones": [5, 3]}, "decay_milestones", "sorted"),
        ({"cycle_limit": 3, "cycle_mul": 0.5}, "cycle_mul", "cycle_mul must be >= 1"),
        ({"k_decay": 0.0}, "k_decay", "k_decay must be > 0"),
        ({"num_epochs": 0}, "num_epochs", "num_epochs must be a positive int, got 0"),
        ({"min_lr": -1.0}, "min_lr", "min_lr must be >= 0, got -1.0"),
        ({"sched": "step", "decay_rate": 2.0}, "decay_rate", "decay_rate must be >= 0 and <= 1"),
        ({"sched": "poly", "decay_rate": 0.0}, "decay_rate", "decay_rate must be > 0"),
        ({"sched": "plateau", "plateau_mode": "up"}, "plateau_mode", "plateau_mode must be one of"),
        ({"warmup_epochs": -1}, "warmup_epochs", "warmup_epochs must be an int >= 0"),
    ],
)
def test_bad_arguments_name_timms_parameter(
    arguments: dict[str, Any], parameter: str, message: str
) -> None:
    with pytest.raises(ParameterError, match=message) as caught:
        from_timm(lr=LR, **arguments)
    assert caught.value.parameter == parameter
    assert str(caught.value).startswith("from_timm: ")
