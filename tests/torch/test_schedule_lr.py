"""ScheduleLR: any lrlab schedule on a torch optimizer; exact resume; record; set_lr."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import lrlab
from lrlab.schedules import torch_names as tn
from lrlab.torch import ScheduleLR, record, set_lr
from tests.strategies import schedules


def optimizer(
    lrs: list[float], kind: type[torch.optim.Optimizer] = torch.optim.SGD
) -> torch.optim.Optimizer:
    return kind([{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": lr} for lr in lrs])


def run(
    sched: torch.optim.lr_scheduler.LRScheduler, steps: int, metrics: list[float] | None = None
) -> np.ndarray:
    opt = sched.optimizer
    out = []
    for t in range(steps):
        out.append([g["lr"] for g in opt.param_groups])
        opt.step()
        if metrics is None:
            sched.step()
        else:
            sched.step(metrics[t])
    return np.array(out)


@given(schedules(max_leaves=3))
def test_lrs_are_the_schedule_values(s: lrlab.Schedule) -> None:
    sched = ScheduleLR(optimizer([0.1, 0.2]), s)
    got = run(sched, 700)
    np.testing.assert_array_equal(got[:, 0], s.values(700))
    np.testing.assert_array_equal(got[:, 1], s.values(700))
    assert sched.get_last_lr() == [s(700), s(700)]


def test_factory_list_and_initial_lrs() -> None:
    opt = optimizer([0.1, 0.01])
    sched = ScheduleLR(opt, lambda lr: lrlab.cosine(init=lr, steps=10))
    assert sched.schedules == [lrlab.cosine(init=0.1, steps=10), lrlab.cosine(init=0.01, steps=10)]
    assert sched.base_lrs == [0.1, 0.01]
    listed = [lrlab.constant(value=1.0), lrlab.constant(value=2.0)]
    assert run(ScheduleLR(optimizer([0.1, 0.01]), listed), 2).tolist() == [[1.0, 2.0], [1.0, 2.0]]


@pytest.mark.parametrize(
    ("torch_factory", "ours"),
    [
        (
            lambda o: torch.optim.lr_scheduler.StepLR(o, 30, gamma=0.5),
            lambda lr: tn.StepLR(lr=lr, step_size=30, gamma=0.5),
        ),
        (
            lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, 10, eta_min=1e-5),
            lambda lr: tn.CosineAnnealingLR(lr=lr, T_max=10, eta_min=1e-5),
        ),
        (
            lambda o: torch.optim.lr_scheduler.MultiStepLR(o, [30, 80], 0.1),
            lambda lr: tn.MultiStepLR(lr=lr, milestones=[30, 80], gamma=0.1),
        ),
        (
            lambda o: torch.optim.lr_scheduler.SequentialLR(
                o,
                [
                    torch.optim.lr_scheduler.LinearLR(o, 0.1, total_iters=5),
                    torch.optim.lr_scheduler.ExponentialLR(o, 0.97),
                ],
                milestones=[5],
            ),
            lambda lr: lrlab.join(
                [
                    tn.LinearLR(lr=lr, start_factor=0.1, total_iters=5),
                    tn.ExponentialLR(lr=lr, gamma=0.97),
                ],
                at=[5],
            ),
        ),
    ],
)
def test_matches_torch_on_several_groups(torch_factory: object, ours: object) -> None:
    theirs = run(torch_factory(optimizer([1e-3, 0.1, 0.5])), 300)  # type: ignore[operator]
    mine = run(ScheduleLR(optimizer([1e-3, 0.1, 0.5]), ours), 300)  # type: ignore[arg-type]
    np.testing.assert_allclose(mine, theirs, rtol=1e-12, atol=0)


@given(st.integers(0, 300), schedules(max_leaves=3))
def test_resume_from_state_dict_is_bit_identical(k: int, s: lrlab.Schedule) -> None:
    full = run(ScheduleLR(optimizer([0.1]), s), 400)
    first = ScheduleLR(optimizer([0.1]), s)
    run(first, k)
    saved = json.loads(json.dumps(first.state_dict()))  # JSON-safe: no pickled functions
    resumed = ScheduleLR(optimizer([0.1]), s)
    resumed.load_state_dict(saved)
    set_lr(resumed.optimizer, resumed.get_last_lr())  # as optimizer.load_state_dict would
    np.testing.assert_array_equal(run(resumed, 400 - k), full[k:])


def test_warmup_then_plateau_in_one_scheduler_and_resume() -> None:
    s = lrlab.join(
        [
            lrlab.linear(init=0.01, end=0.1, steps=3),
            lrlab.plateau(init=0.1, factor=0.5, patience=1),
        ],
        at=[3],
    )
    metrics = [9.0, 8.0, 7.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.5]
    sched = ScheduleLR(optimizer([0.1]), s)
    assert sched.metric_driven
    lrs = run(sched, len(metrics), metrics)[:, 0]
    np.testing.assert_allclose(
        lrs, [0.01, 0.04, 0.07, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05, 0.025, 0.025]
    )
    again = ScheduleLR(optimizer([0.1]), s)
    run(again, 6, metrics)
    state = json.loads(json.dumps(again.state_dict()))
    fresh = ScheduleLR(optimizer([0.1]), s)
    fresh.load_state_dict(state)
    set_lr(fresh.optimizer, fresh.get_last_lr())
    np.testing.assert_array_equal(run(fresh, 6, metrics[6:])[:, 0], lrs[6:])


def test_loading_another_schedules_checkpoint_is_refused() -> None:
    a = ScheduleLR(optimizer([0.1]), lrlab.cosine(init=0.1, steps=10))
    b = ScheduleLR(optimizer([0.1]), lrlab.cosine(init=0.1, steps=20))
    with pytest.raises(
        ValueError,
        match=r"the checkpoint was taken with schedules \[cosine\(init=0.1, steps=10\)\], but this scheduler has \[cosine\(init=0.1, steps=20\)\]",
    ):
        b.load_state_dict(a.state_dict())


def test_bad_arguments() -> None:
    with pytest.raises(
        ValueError, match=r"ScheduleLR: expected one schedule per param group \(2\), got 1"
    ):
        ScheduleLR(optimizer([0.1, 0.2]), [lrlab.constant(value=1.0)])
    with pytest.raises(
        TypeError, match=r"ScheduleLR: the factory must return a schedule, got 0\.1"
    ):
        ScheduleLR(optimizer([0.1]), lambda lr: lr)  # type: ignore[arg-type,return-value]
    with pytest.raises(TypeError, match="is not an Optimizer"):
        ScheduleLR("sgd", lrlab.constant(value=1.0))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"set_lr: expected one lr per param group \(1\), got 2"):
        set_lr(optimizer([0.1]), [0.1, 0.2])
    with pytest.raises(ValueError, match="set_lr: lr must be a finite number >= 0, got nan"):
        set_lr(optimizer([0.1]), float("nan"))


def test_step_order_warning_like_torch() -> None:
    sched = ScheduleLR(optimizer([0.1]), lrlab.constant(value=0.1))
    with pytest.warns(
        UserWarning,
        match="Detected call of `lr_scheduler.step\\(\\)` before `optimizer.step\\(\\)`",
    ):
        sched.step()


def test_trains_a_small_model_with_sgd_and_adam() -> None:
    torch.manual_seed(0)
    x = torch.randn(64, 4)
    y = x @ torch.tensor([1.0, -2.0, 0.5, 3.0]) + 0.1
    for kind in (torch.optim.SGD, torch.optim.Adam):
        model = torch.nn.Linear(4, 1)
        opt = kind(model.parameters(), lr=0.05)
        sched = ScheduleLR(opt, lambda lr: lrlab.warmup(lrlab.cosine(init=lr, steps=190), steps=10))
        first = None
        for t in range(200):
            loss = torch.nn.functional.mse_loss(model(x).squeeze(1), y)
            first = first if first is not None else loss.item()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            assert opt.param_groups[0]["lr"] == sched.schedules[0](t + 1)
        assert loss.item() < first / 10


def test_record_factory_and_existing_scheduler_leave_the_model_alone() -> None:
    lrs = record(
        lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=10, eta_min=1e-5),
        200,
        lr=1e-3,
    )
    np.testing.assert_allclose(
        lrs, tn.CosineAnnealingLR(lr=1e-3, T_max=10, eta_min=1e-5).values(200), rtol=1e-12
    )
    model = torch.nn.Linear(2, 1)
    before = [p.detach().clone() for p in model.parameters()]
    opt = torch.optim.Adam(model.parameters(), lr=0.001)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=30, gamma=0.5)
    curve = record(sched, 100)
    assert curve[0] == 0.001
    assert curve[99] == 0.001 * 0.5**3
    assert opt.param_groups[0]["lr"] == 0.001
    assert sched.last_epoch == 0
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
    two = record(lambda o: torch.optim.lr_scheduler.ExponentialLR(o, 0.5), 3, lr=[1.0, 2.0])
    assert two.tolist() == [[1.0, 2.0], [0.5, 1.0], [0.25, 0.5]]
    plateau = record(
        lambda o: torch.optim.lr_scheduler.ReduceLROnPlateau(o, patience=0),
        3,
        lr=1.0,
        metrics=[1.0, 1.0, 1.0],
    )
    assert plateau.tolist() == [1.0, 1.0, 0.1]
    with pytest.raises(TypeError, match="record: expected a scheduler or a factory, got 3"):
        record(3, 10)


def test_no_warnings_in_normal_use() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run(ScheduleLR(optimizer([0.1]), lrlab.cosine(init=0.1, steps=10)), 20)


def test_schedule_param_momentum_beta1_and_resume() -> None:
    from lrlab.torch import ScheduleParam

    opt = optimizer([0.1, 0.2])
    opt.param_groups[0]["momentum"] = 0.9
    opt.param_groups[1]["momentum"] = 0.9
    s = lrlab.cosine(init=0.95, steps=10, end=0.85)
    momentum = ScheduleParam(opt, "momentum", s)
    got = []
    for _ in range(12):
        got.append(momentum.get_last())
        opt.step()
        momentum.step()
    assert [row[0] for row in got] == s.values(12).tolist()
    adam = optimizer([0.1], torch.optim.Adam)
    beta1 = ScheduleParam(adam, "beta1", lambda b: lrlab.linear(init=b, end=0.5, steps=4))
    beta1.step()
    assert adam.param_groups[0]["betas"] == (0.9 + (0.5 - 0.9) * 0.25, 0.999)
    fresh = ScheduleParam(optimizer([0.1, 0.2]), "momentum", s)
    fresh.load_state_dict(json.loads(json.dumps(momentum.state_dict())))
    assert fresh.get_last() == momentum.get_last()
    with pytest.raises(KeyError, match="ScheduleParam: the param groups have no 'nesterov_speed'"):
        ScheduleParam(opt, "nesterov_speed", s)
    with pytest.raises(
        ValueError, match=r"ScheduleParam\.load_state_dict: the checkpoint schedules 'momentum'"
    ):
        ScheduleParam(
            optimizer([0.1, 0.2]), "weight_decay", lrlab.constant(value=0.0)
        ).load_state_dict(momentum.state_dict())


def test_record_per_epoch_like_the_tutorials() -> None:
    per_epoch = record(
        lambda o: torch.optim.lr_scheduler.StepLR(o, 30, gamma=0.5),
        200,
        lr=1e-3,
        steps_per_epoch=10,
    )
    np.testing.assert_array_equal(
        per_epoch, tn.StepLR(lr=1e-3, step_size=30, gamma=0.5).values(200)
    )
