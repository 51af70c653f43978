"""What a user's code can observe of torch's schedulers, with the drop-ins in their place:
several schedulers on one optimizer, checkpoints of other settings, param groups added
later, tensor lrs and CosineAnnealingWarmRestarts' ``T_cur``. Each is checked against
torch 2.13 itself."""

from __future__ import annotations

import io
import json
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import lrlab
import lrlab.torch as ours
from tests.torch.test_dropins import optimizer, verbose_lines

T = torch.optim.lr_scheduler

Many = Callable[[Any, torch.optim.Optimizer], list[Any]]
"""Schedulers built on one optimizer from a module of scheduler classes (torch or ours)."""


def lrs_of(build: Many, module: Any, lrs: list[float], steps: int) -> np.ndarray:
    """Each group's lr before each step, every scheduler stepped after the optimizer."""
    opt = optimizer(lrs)
    schedulers = build(module, opt)
    out = []
    for _ in range(steps):
        out.append([float(g["lr"]) for g in opt.param_groups])
        opt.step()
        for s in schedulers:
            s.step()
    return np.array(out)


def agree(build: Many, lrs: list[float], steps: int, rtol: float = 1e-10) -> None:
    theirs = lrs_of(build, T, lrs, steps)
    mine = lrs_of(build, ours, lrs, steps)
    np.testing.assert_allclose(mine, theirs, rtol=rtol, atol=1e-15)


# Several schedulers on one optimizer: torch multiplies their factors.

MULTIPLYING: list[Callable[[Any, torch.optim.Optimizer], Any]] = [
    lambda m, o: m.StepLR(o, step_size=3, gamma=0.5),
    lambda m, o: m.MultiStepLR(o, milestones=[2, 5, 9], gamma=0.3),
    lambda m, o: m.ExponentialLR(o, gamma=0.93),
    lambda m, o: m.ConstantLR(o, factor=0.25, total_iters=4),
    lambda m, o: m.LinearLR(o, start_factor=0.2, end_factor=0.9, total_iters=6),
    lambda m, o: m.PolynomialLR(o, total_iters=25, power=1.5),
    lambda m, o: m.CosineAnnealingLR(o, T_max=30),
    lambda m, o: m.MultiplicativeLR(o, lambda t: 0.9 if t % 4 == 0 else 1.0),
]


@given(st.lists(st.sampled_from(range(len(MULTIPLYING))), min_size=2, max_size=3))
def test_schedulers_on_one_optimizer_compound_as_torchs(picks: list[int]) -> None:
    agree(lambda m, o: [MULTIPLYING[i](m, o) for i in picks], [0.1, 0.5], 25)


def test_chained_scheduler_steps_each_child() -> None:
    agree(
        lambda m, o: [m.ChainedScheduler([MULTIPLYING[2](m, o), MULTIPLYING[3](m, o)])],
        [0.05],
        20,
    )


def test_chain_is_a_product_of_closed_forms_with_no_drift() -> None:
    opt = optimizer([0.1])
    step, exp = ours.StepLR(opt, 10, 0.5), ours.ExponentialLR(opt, 0.999)
    for _ in range(5000):
        opt.step()
        step.step()
        exp.step()
    expected = 0.1 * 0.5**500 * 0.999**5000
    assert opt.param_groups[0]["lr"] == pytest.approx(expected, rel=1e-13)


def test_a_scheduler_made_after_stepping_takes_over() -> None:
    # The tutorials' "continue" pattern: a new scheduler at last_epoch=0 on an optimizer
    # whose old scheduler has stepped replaces it instead of compounding with it.
    def build(m: Any, o: torch.optim.Optimizer) -> list[Any]:
        old = m.CosineAnnealingLR(o, T_max=10)
        o.step()
        old.step()
        return [m.CosineAnnealingLR(o, T_max=10, last_epoch=0)]

    agree(build, [0.1], 12)


def test_a_scheduler_stepped_to_an_epoch_sets_the_lr_outright() -> None:
    out = []
    for module in (T, ours):
        opt = optimizer([0.1])
        step, exp = module.StepLR(opt, 2), module.ExponentialLR(opt, 0.5)
        seen = []
        for _ in range(3):
            opt.step()
            step.step()
            exp.step()
        seen.append(float(opt.param_groups[0]["lr"]))
        opt.step()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # torch's epoch deprecation
            exp.step(5)  # torch's closed form: 0.1 * 0.5**5, the step's factor gone
        seen.append(float(opt.param_groups[0]["lr"]))
        for _ in range(3):
            opt.step()
            step.step()
            seen.append(float(opt.param_groups[0]["lr"]))
        out.append(seen)
    np.testing.assert_allclose(out[1], out[0], rtol=1e-12)


# A checkpoint of a scheduler built with other settings: torch adopts them.

OTHER_SETTINGS: list[tuple[Callable[..., Any], dict[str, Any], dict[str, Any]]] = [
    (ours.StepLR, {"step_size": 3, "gamma": 0.1}, {"step_size": 1, "gamma": 0.005}),
    (ours.MultiStepLR, {"milestones": [2, 5, 9]}, {"milestones": [1, 4], "gamma": 0.01}),
    (ours.CosineAnnealingLR, {"T_max": 10, "eta_min": 1e-3}, {"T_max": 5}),
    (ours.CosineAnnealingWarmRestarts, {"T_0": 10, "T_mult": 2}, {"T_0": 100}),
    (
        ours.CyclicLR,
        {"base_lr": 0.01, "max_lr": 0.1, "mode": "triangular2"},
        {
            "base_lr": 0.01,
            "max_lr": 0.2,
            "step_size_up": 4,
        },
    ),
]


@pytest.mark.parametrize(("kind", "saved", "other"), OTHER_SETTINGS)
def test_loading_a_checkpoint_adopts_its_settings(
    kind: Callable[..., Any], saved: dict[str, Any], other: dict[str, Any]
) -> None:
    opt = optimizer([0.1, 0.3])
    first = kind(opt, **saved)
    for _ in range(7):
        opt.step()
        first.step()
    copy = kind(optimizer([0.1, 0.3]), **other)
    copy.load_state_dict(torch.load(_saved(first.state_dict()), weights_only=True))
    assert {k: v for k, v in vars(copy).items() if k != "optimizer"} == {
        k: v for k, v in vars(first).items() if k != "optimizer"
    }
    assert copy.get_last_lr() == first.get_last_lr()
    with pytest.raises(ValueError, match="load_state_dict: the checkpoint was taken with"):
        kind(optimizer([0.1, 0.3]), **other).load_state_dict(first.state_dict(), strict=True)


def _saved(state: dict[str, Any]) -> io.BytesIO:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return buffer


def test_schedule_lr_still_refuses_another_schedule_by_default() -> None:
    a = ours.ScheduleLR(optimizer([0.1]), lrlab.cosine(init=0.1, steps=10))
    b = ours.ScheduleLR(optimizer([0.1]), lrlab.cosine(init=0.1, steps=20))
    with pytest.raises(ValueError, match="the checkpoint was taken with schedules"):
        b.load_state_dict(a.state_dict())
    b.load_state_dict(a.state_dict(), strict=False)
    assert b.schedules == a.schedules


def test_drop_in_checkpoints_stay_json_safe() -> None:
    opt = optimizer([0.1])
    sched = ours.MultiStepLR(opt, milestones=[2, 2, 5])
    opt.step()
    sched.step()
    state = json.loads(json.dumps(sched.state_dict()))
    fresh = ours.MultiStepLR(optimizer([0.1]), milestones=[3])
    fresh.load_state_dict(state)
    assert fresh.milestones == sched.milestones  # a Counter again (keys read back as ints)
    assert fresh.get_last_lr() == sched.get_last_lr()


def test_plateau_reduction_as_torchs_after_a_restored_checkpoint() -> None:
    scores = [1.0, 2.0, 3.0, 4.0, 3.0, 4.0, 5.0, 3.0, 2.0, 1.0]
    out = []
    for module in (T, ours):
        opt = optimizer([0.1])
        first = module.ReduceLROnPlateau(opt, factor=0.1, patience=2)
        for score in scores:
            first.step(score)
        copy = module.ReduceLROnPlateau(opt, mode="max", factor=0.5, patience=10)
        copy.load_state_dict(first.state_dict())
        for score in scores:
            copy.step(score)
        out.append((copy.mode, copy.factor, copy.patience, opt.param_groups[0]["lr"]))
    assert out[1] == pytest.approx(out[0])


# ReduceLROnPlateau and param groups added after it was made.


@pytest.mark.parametrize("min_lr", [0.0, [1e-5]])
def test_plateau_takes_in_param_groups_added_later(min_lr: Any) -> None:
    metrics = [1.0] * 7 + [0.6] + [0.5] * 12
    out = []
    for module in (T, ours):
        opt = optimizer([0.5])
        sched = module.ReduceLROnPlateau(
            opt,
            threshold=0.1,
            patience=2,
            cooldown=1,
            min_lr=list(min_lr) if isinstance(min_lr, list) else min_lr,
        )
        lrs = []
        for t, metric in enumerate(metrics):
            if t == 4:
                opt.add_param_group({"params": [torch.nn.Parameter(torch.zeros(1))], "lr": 0.05})
                if isinstance(min_lr, list):
                    sched.min_lrs.append(1e-6)
            opt.step()
            sched.step(metric)
            lrs.append([float(g["lr"]) for g in opt.param_groups[1:]] or [0.0])
        out.append(lrs)
    np.testing.assert_allclose(out[1], out[0], rtol=1e-12)


def test_plateau_with_a_min_lr_list_not_extended_raises_torchs_error() -> None:
    opt = optimizer([0.1, 0.1])
    sched = ours.ReduceLROnPlateau(opt, patience=0, min_lr=[1e-5, 1e-4])
    opt.add_param_group({"params": [torch.nn.Parameter(torch.zeros(1))], "lr": 0.05})
    sched.step(1.0)  # no reduction yet: nothing to check
    with pytest.raises(RuntimeError, match=r"The number of param groups in the `optimizer` \(3\)"):
        sched.step(2.0)


# Tensor lrs.

TENSOR_KINDS: list[Callable[[torch.optim.Optimizer], Any]] = [
    lambda o: ours.StepLR(o, 2),
    lambda o: ours.CosineAnnealingLR(o, 10),
    lambda o: ours.CosineAnnealingWarmRestarts(o, 3),
    lambda o: ours.OneCycleLR(o, max_lr=torch.tensor(0.1), total_steps=10),
    lambda o: ours.CyclicLR(o, base_lr=torch.tensor(0.01), max_lr=torch.tensor(0.1)),
]


@pytest.mark.parametrize("build", TENSOR_KINDS)
def test_a_tensor_lr_stays_the_same_tensor(build: Callable[[torch.optim.Optimizer], Any]) -> None:
    lr = torch.tensor(0.05)
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr, momentum=0.9)
    sched = build(opt)
    for _ in range(5):
        opt.step()
        sched.step()
    assert opt.param_groups[0]["lr"] is lr
    last = sched.get_last_lr()[0]
    assert isinstance(last, torch.Tensor)
    assert last is not lr
    assert float(last) == float(lr)


def test_plateau_keeps_a_tensor_lr() -> None:
    lr = torch.tensor(0.5)
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)
    sched = ours.ReduceLROnPlateau(opt, patience=0)
    sched.step(1.0)
    sched.step(2.0)
    assert opt.param_groups[0]["lr"] is lr
    assert float(lr) == pytest.approx(0.05)


def test_cyclic_and_one_cycle_read_tensor_settings_once() -> None:
    for module in (T, ours):
        max_lr, base = torch.tensor(0.2), torch.tensor(0.8)
        opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1, momentum=0.9)
        sched = module.CyclicLR(opt, base_lr=torch.tensor(0.1), max_lr=max_lr, base_momentum=base)
        max_lr.mul_(0.5)
        base.mul_(0.5)
        opt.step()
        sched.step()
        assert sched.max_lrs == pytest.approx([0.2])
        assert opt.param_groups[0]["base_momentum"] == pytest.approx(0.8)
        assert opt.param_groups[0]["max_momentum"] == pytest.approx(0.9)


# CosineAnnealingWarmRestarts' T_cur.


@pytest.mark.parametrize("t_mult", [1, 2])
def test_setting_t_cur_moves_the_schedule_as_torchs(t_mult: int) -> None:
    out = []
    for module in (T, ours):
        opt = optimizer([0.1])
        sched = module.CosineAnnealingWarmRestarts(opt, T_0=4, T_mult=t_mult, eta_min=0.01)
        seen = []
        for value in (3, 1, 2):
            sched.T_cur = value
            opt.step()
            sched.step()
            seen.append((float(sched.T_cur), float(opt.param_groups[0]["lr"])))
        out.append(seen)
    np.testing.assert_allclose(out[1], out[0], rtol=1e-12)


def test_our_schedulers_inside_torchs_chained_scheduler() -> None:
    theirs = lrs_of(
        lambda m, o: [T.ChainedScheduler([MULTIPLYING[0](m, o), MULTIPLYING[6](m, o)])],
        T,
        [0.1, 0.3],
        30,
    )
    mine = lrs_of(
        lambda m, o: [T.ChainedScheduler([MULTIPLYING[0](m, o), MULTIPLYING[6](m, o)])],
        ours,
        [0.1, 0.3],
        30,
    )
    np.testing.assert_allclose(mine, theirs, rtol=1e-10, atol=1e-15)


# LambdaLR and MultiplicativeLR: lrlab's own classes, torch's values and state dicts.


class Halving:
    """A callable-object lr_lambda: torch saves its attributes in the state dict."""

    def __init__(self, rate: float) -> None:
        self.rate = rate

    def __call__(self, t: int) -> float:
        return float(self.rate**t)


@pytest.mark.parametrize("name", ["LambdaLR", "MultiplicativeLR"])
def test_function_schedulers_are_lrlabs_own_with_torchs_values(name: str) -> None:
    theirs, mine = getattr(T, name), getattr(ours, name)
    assert not issubclass(mine, theirs)
    assert issubclass(mine, T.LRScheduler)
    lambdas = [Halving(0.9), lambda t: 1.0 / (1 + t)]
    agree(lambda m, o: [getattr(m, name)(o, lambdas)], [0.1, 0.4], 15)


@pytest.mark.parametrize("name", ["LambdaLR", "MultiplicativeLR"])
def test_function_scheduler_state_dict_as_torchs(name: str) -> None:
    opt = optimizer([0.1])
    sched = getattr(ours, name)(opt, Halving(0.9))
    for _ in range(3):
        opt.step()
        sched.step()
    state = sched.state_dict()
    assert state["lr_lambdas"] == [{"rate": 0.9}]
    resumed = getattr(ours, name)(opt, Halving(0.5))
    resumed.load_state_dict(state)
    assert resumed.lr_lambdas[0].rate == 0.9
    assert resumed.last_epoch == 3
    plain = getattr(ours, name)(optimizer([0.1]), lambda _: 0.9)
    assert plain.state_dict()["lr_lambdas"] == [None]


@pytest.mark.parametrize(
    ("lr_lambda", "error", "message"),
    [
        ([lambda _: 1.0, lambda _: 1.0], ValueError, "Expected 1 lr_lambdas, but got 2"),
        (0.5, TypeError, "lr_lambda should be a function, but got float"),
    ],
)
def test_function_scheduler_bad_lambdas_raise_torchs_errors(
    lr_lambda: Any, error: type[Exception], message: str
) -> None:
    for module in (T, ours):
        with pytest.raises(error, match=message):
            module.MultiplicativeLR(optimizer([0.1]), lr_lambda)


@pytest.mark.parametrize("last_epoch", [-5, 2.5, "3", True])
def test_a_bad_last_epoch_is_named(last_epoch: Any) -> None:
    opt = optimizer([0.1])
    opt.param_groups[0]["initial_lr"] = 0.1
    for build in (
        lambda: ours.StepLR(opt, 3, last_epoch=last_epoch),
        lambda: ours.LambdaLR(opt, lambda _: 1.0, last_epoch=last_epoch),
        lambda: ours.OneCycleLR(opt, 0.1, total_steps=10, last_epoch=last_epoch),
    ):
        with pytest.raises(ValueError, match=r"last_epoch must be an int >= -1, got "):
            build()


def test_every_scheduler_reports_through_the_one_writer() -> None:
    def run() -> None:
        opt = optimizer([0.1])
        sched = ours.MultiplicativeLR(opt, lambda _: 0.5, verbose=True)
        opt.step()
        sched.step()
        plateau = ours.ReduceLROnPlateau(optimizer([0.1]), patience=0, verbose=True)
        plateau.step(1.0)
        plateau.step(2.0)

    assert verbose_lines(run) == [
        "Epoch 00000: adjusting learning rate of group 0 to 1.0000e-01.",
        "Epoch 00001: adjusting learning rate of group 0 to 5.0000e-02.",
        "Epoch 00000: adjusting learning rate of group 0 to 1.0000e-01.",
        "Epoch 00002: adjusting learning rate of group 0 to 1.0000e-02.",
    ]
