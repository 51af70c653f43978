"""Drop-ins against torch 2.13: same learning rates (and momentum), same errors, resume."""

from __future__ import annotations

import io
import json
import logging
import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import lrlab.torch as ours
from lrlab.torch import set_lr

T = torch.optim.lr_scheduler

Factory = Callable[[torch.optim.Optimizer], Any]


def optimizer(lrs: list[float], kind: str = "sgd") -> torch.optim.Optimizer:
    groups = [{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": lr} for lr in lrs]
    if kind == "adam":
        return torch.optim.Adam(groups)
    return torch.optim.SGD(groups, momentum=0.9)


def trace(
    factory: Factory,
    lrs: list[float],
    steps: int,
    kind: str = "sgd",
    metrics: list[float] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    opt = optimizer(lrs, kind)
    sched = factory(opt)
    out, momentum = [], []
    for t in range(steps):
        out.append([g["lr"] for g in opt.param_groups])
        momentum.append(
            [g["betas"][0] if kind == "adam" else g["momentum"] for g in opt.param_groups]
        )
        opt.step()
        if metrics is None:
            sched.step()
        else:
            sched.step(metrics[t])
    return np.array(out), np.array(momentum)


def same(
    a: Factory,
    b: Factory,
    lrs: list[float],
    steps: int,
    kind: str = "sgd",
    metrics: list[float] | None = None,
    rtol: float = 1e-12,
) -> None:
    lr_a, m_a = trace(a, lrs, steps, kind, metrics)
    lr_b, m_b = trace(b, lrs, steps, kind, metrics)
    # Relative to the value, with a floor of a few ulps of the schedule's scale: where a
    # value cancels to ~0 (end_factor ~ 1e-16), torch's recursion keeps rounding noise of
    # the initial lr's size that the closed form does not have.
    np.testing.assert_allclose(lr_a, lr_b, rtol=rtol, atol=1e-15 * max(lrs))
    np.testing.assert_allclose(m_a, m_b, rtol=rtol, atol=1e-15)


groups = st.lists(st.floats(1e-4, 1.0), min_size=1, max_size=3)
heavy = settings(max_examples=15)  # each example steps two schedulers hundreds of times


@heavy
@given(lrs=groups, step_size=st.integers(1, 50), gamma=st.floats(0.05, 1.0))
def test_step_lr(lrs: list[float], step_size: int, gamma: float) -> None:
    same(
        lambda o: T.StepLR(o, step_size, gamma),
        lambda o: ours.StepLR(o, step_size, gamma),
        lrs,
        500,
    )


@heavy
@given(
    lrs=groups,
    milestones=st.lists(st.integers(0, 400), min_size=1, max_size=5),
    gamma=st.floats(0.05, 1.0),
)
def test_multistep_lr_with_repeats_and_any_order(
    lrs: list[float], milestones: list[int], gamma: float
) -> None:
    same(
        lambda o: T.MultiStepLR(o, milestones, gamma),
        lambda o: ours.MultiStepLR(o, milestones, gamma),
        lrs,
        500,
    )


@heavy
@given(lrs=groups, factor=st.floats(0.01, 1.0), total=st.integers(0, 50))
def test_constant_lr(lrs: list[float], factor: float, total: int) -> None:
    same(
        lambda o: T.ConstantLR(o, factor, total),
        lambda o: ours.ConstantLR(o, factor, total),
        lrs,
        200,
    )


@heavy
@given(lrs=groups, start=st.floats(0.01, 1.0), end=st.floats(0.0, 1.0), total=st.integers(1, 300))
def test_linear_lr(lrs: list[float], start: float, end: float, total: int) -> None:
    same(
        lambda o: T.LinearLR(o, start, end, total),
        lambda o: ours.LinearLR(o, start, end, total),
        lrs,
        400,
        rtol=1e-11,
    )


@pytest.mark.slow
@heavy
@given(lrs=groups, gamma=st.floats(0.9, 1.0))
def test_exponential_lr(lrs: list[float], gamma: float) -> None:
    same(lambda o: T.ExponentialLR(o, gamma), lambda o: ours.ExponentialLR(o, gamma), lrs, 1000)


@heavy
@given(lrs=groups, total=st.integers(1, 300), power=st.floats(0.5, 3.0))
def test_polynomial_lr(lrs: list[float], total: int, power: float) -> None:
    same(
        lambda o: T.PolynomialLR(o, total, power),
        lambda o: ours.PolynomialLR(o, total, power),
        lrs,
        400,
        rtol=1e-10,
    )


@heavy
@given(lrs=groups, t_max=st.integers(1, 200), eta_min=st.floats(0.0, 1e-4))
def test_cosine_annealing_lr(lrs: list[float], t_max: int, eta_min: float) -> None:
    same(
        lambda o: T.CosineAnnealingLR(o, t_max, eta_min),
        lambda o: ours.CosineAnnealingLR(o, t_max, eta_min),
        lrs,
        600,
        rtol=1e-10,
    )


@heavy
@given(lrs=groups, t0=st.integers(1, 50), mult=st.integers(1, 3), eta_min=st.floats(0.0, 1e-4))
def test_cosine_annealing_warm_restarts(
    lrs: list[float], t0: int, mult: int, eta_min: float
) -> None:
    same(
        lambda o: T.CosineAnnealingWarmRestarts(o, t0, mult, eta_min),
        lambda o: ours.CosineAnnealingWarmRestarts(o, t0, mult, eta_min),
        lrs,
        600,
    )


@heavy
@given(
    t0=st.integers(1, 20),
    mult=st.integers(1, 3),
    epochs=st.lists(st.floats(0.0, 300.0), min_size=1, max_size=30),
)
def test_cosine_annealing_warm_restarts_fractional_epochs(
    t0: int, mult: int, epochs: list[float]
) -> None:
    opt_a, opt_b = optimizer([0.1, 0.01]), optimizer([0.1, 0.01])
    theirs = T.CosineAnnealingWarmRestarts(opt_a, t0, mult, 1e-5)
    mine = ours.CosineAnnealingWarmRestarts(opt_b, t0, mult, 1e-5)
    for epoch in epochs:
        theirs.step(epoch)
        mine.step(epoch)
        assert mine.last_epoch == theirs.last_epoch
        if mult > 1 and _torch_log_off_by_one(epoch, t0, mult):
            continue  # torch's int(math.log(...)) rounds down at some exact restarts (docs)
        np.testing.assert_allclose(mine.get_last_lr(), theirs.get_last_lr(), rtol=1e-12)
        assert mine.T_cur == pytest.approx(theirs.T_cur, abs=1e-9)
        assert mine.T_i == theirs.T_i


def _torch_log_off_by_one(epoch: float, t0: int, mult: int) -> bool:
    if epoch < t0:
        return False
    n = int(math.log(epoch / t0 * (mult - 1) + 1, mult))
    return t0 * (mult ** (n + 1) - 1) / (mult - 1) <= epoch


@heavy
@given(
    lrs=st.lists(st.floats(1e-3, 0.05), min_size=1, max_size=3),
    up=st.integers(1, 40),
    down=st.none() | st.integers(1, 40),
    mode=st.sampled_from(["triangular", "triangular2", "exp_range"]),
    gamma=st.floats(0.99, 1.0),
    kind=st.sampled_from(["sgd", "adam"]),
)
def test_cyclic_lr_with_momentum(
    lrs: list[float], up: int, down: int | None, mode: str, gamma: float, kind: str
) -> None:
    peaks = [lr * 10 for lr in lrs]
    kwargs = {"step_size_up": up, "step_size_down": down, "mode": mode, "gamma": gamma}
    same(
        lambda o: T.CyclicLR(o, lrs, peaks, **kwargs),
        lambda o: ours.CyclicLR(o, lrs, peaks, **kwargs),
        lrs,
        400,
        kind,
    )


@heavy
@given(
    lrs=st.lists(st.floats(1e-3, 1.0), min_size=1, max_size=3),
    total=st.integers(20, 400),
    pct=st.floats(0.1, 0.45),
    anneal=st.sampled_from(["cos", "linear"]),
    three=st.booleans(),
    kind=st.sampled_from(["sgd", "adam"]),
)
def test_one_cycle_lr_with_momentum_up_to_total_steps(
    lrs: list[float], total: int, pct: float, anneal: str, three: bool, kind: str
) -> None:
    kwargs = {
        "total_steps": total,
        "pct_start": pct,
        "anneal_strategy": anneal,
        "three_phase": three,
    }
    same(
        lambda o: T.OneCycleLR(o, lrs, **kwargs),
        lambda o: ours.OneCycleLR(o, lrs, **kwargs),
        lrs,
        total,
        kind,
    )
    # after total_steps steps torch extrapolates one more value; the drop-in matches it
    last = []
    for lib in (T, ours):
        opt = optimizer(lrs, kind)
        sched = lib.OneCycleLR(opt, lrs, **kwargs)
        for _ in range(total):
            opt.step()
            sched.step()
        last.append(sched.get_last_lr())
    np.testing.assert_allclose(last[1], last[0], rtol=1e-12)


def test_one_cycle_raises_like_torch_past_total_steps() -> None:
    sched = ours.OneCycleLR(optimizer([0.1]), 0.1, total_steps=10)
    for _ in range(10):
        sched.optimizer.step()
        sched.step()
    with pytest.raises(
        ValueError, match=r"Tried to step 11 times\. The specified number of total steps is 10"
    ):
        sched.step()


metrics_st = st.lists(
    st.one_of(st.floats(-10, 10), st.sampled_from([math.nan, math.inf, -math.inf, 1.0])),
    min_size=1,
    max_size=60,
)


@heavy
@given(
    lrs=groups,
    mode=st.sampled_from(["min", "max"]),
    factor=st.floats(0.0, 0.99),
    patience=st.integers(0, 5),
    threshold=st.floats(0.0, 0.5),
    threshold_mode=st.sampled_from(["rel", "abs"]),
    cooldown=st.integers(0, 3),
    min_lr=st.floats(0.0, 1e-3),
    eps=st.sampled_from([0.0, 1e-8, 1e-3]),
    metrics=metrics_st,
)
def test_reduce_lr_on_plateau_any_metrics(
    lrs: list[float],
    mode: str,
    factor: float,
    patience: int,
    threshold: float,
    threshold_mode: str,
    cooldown: int,
    min_lr: float,
    eps: float,
    metrics: list[float],
) -> None:
    kwargs = {
        "mode": mode,
        "factor": factor,
        "patience": patience,
        "threshold": threshold,
        "threshold_mode": threshold_mode,
        "cooldown": cooldown,
        "min_lr": min_lr,
        "eps": eps,
    }
    opt_a, opt_b = optimizer(lrs), optimizer(lrs)
    theirs, mine = T.ReduceLROnPlateau(opt_a, **kwargs), ours.ReduceLROnPlateau(opt_b, **kwargs)
    for metric in metrics:
        theirs.step(metric)
        mine.step(metric)
        assert [g["lr"] for g in opt_b.param_groups] == [g["lr"] for g in opt_a.param_groups]
        assert mine.get_last_lr() == theirs.get_last_lr()
        assert (mine.num_bad_epochs, mine.cooldown_counter, mine.last_epoch) == (
            theirs.num_bad_epochs,
            theirs.cooldown_counter,
            theirs.last_epoch,
        )
        assert mine.best == theirs.best or (math.isnan(mine.best) and math.isnan(theirs.best))


def test_reduce_lr_on_plateau_per_group_min_lr() -> None:
    opt_a, opt_b = optimizer([1.0, 0.5]), optimizer([1.0, 0.5])
    theirs = T.ReduceLROnPlateau(opt_a, patience=0, min_lr=[0.01, 0.2])
    mine = ours.ReduceLROnPlateau(opt_b, patience=0, min_lr=[0.01, 0.2])
    for _ in range(5):
        theirs.step(1.0)
        mine.step(1.0)
    assert mine.get_last_lr() == theirs.get_last_lr()
    assert mine.get_last_lr() == pytest.approx([0.01, 0.2])


def test_reduce_lr_on_plateau_without_metric_says_what_to_pass() -> None:
    sched = ours.ReduceLROnPlateau(optimizer([0.1]))
    with pytest.raises(
        TypeError,
        match=r"ReduceLROnPlateau.step\(\) needs the metric it watches: call scheduler.step\(val_loss\) after validation \(mode='min': lower is better\)",
    ):
        sched.step()


@heavy
@given(lrs=groups, warm=st.integers(1, 20), gamma=st.floats(0.9, 1.0))
def test_sequential_lr(lrs: list[float], warm: int, gamma: float) -> None:
    def theirs(o: torch.optim.Optimizer) -> Any:
        return T.SequentialLR(
            o, [T.LinearLR(o, 0.1, total_iters=warm), T.ExponentialLR(o, gamma)], milestones=[warm]
        )

    def mine(o: torch.optim.Optimizer) -> Any:
        return ours.SequentialLR(
            o,
            [ours.LinearLR(o, 0.1, total_iters=warm), ours.ExponentialLR(o, gamma)],
            milestones=[warm],
        )

    same(theirs, mine, lrs, 300, rtol=1e-11)


def test_our_dropins_inside_torchs_sequential_lr() -> None:
    def theirs(o: torch.optim.Optimizer) -> Any:
        return T.SequentialLR(
            o, [T.LinearLR(o, 0.1, total_iters=5), T.CosineAnnealingLR(o, 50)], milestones=[5]
        )

    def mixed(o: torch.optim.Optimizer) -> Any:
        return T.SequentialLR(
            o, [ours.LinearLR(o, 0.1, total_iters=5), ours.CosineAnnealingLR(o, 50)], milestones=[5]
        )

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch's SequentialLR calls step(0)
        same(theirs, mixed, [0.1, 0.01], 200, rtol=1e-10)


def test_lambda_and_multiplicative_lr() -> None:
    same(
        lambda o: T.LambdaLR(o, lambda e: 0.95**e),
        lambda o: ours.LambdaLR(o, lambda e: 0.95**e),
        [0.1, 0.2],
        100,
    )
    same(
        lambda o: T.MultiplicativeLR(o, lambda _: 0.9),
        lambda o: ours.MultiplicativeLR(o, lambda _: 0.9),
        [0.1],
        100,
    )


@pytest.mark.parametrize(
    ("name", "args", "kwargs"),
    [
        ("ConstantLR", (), {"factor": 1.5}),
        ("LinearLR", (), {"start_factor": 0.0}),
        ("LinearLR", (), {"end_factor": 2.0}),
        ("CosineAnnealingWarmRestarts", (0,), {}),
        ("CosineAnnealingWarmRestarts", (10,), {"T_mult": 0}),
        ("CosineAnnealingWarmRestarts", (10,), {"eta_min": "0"}),
        ("OneCycleLR", (0.1,), {}),
        ("OneCycleLR", (0.1,), {"total_steps": 0}),
        ("OneCycleLR", (0.1,), {"epochs": 0, "steps_per_epoch": 10}),
        ("OneCycleLR", (0.1,), {"total_steps": 100, "pct_start": 2.0}),
        ("OneCycleLR", (0.1,), {"total_steps": 100, "anneal_strategy": "cosine"}),
        ("OneCycleLR", ([0.1, 0.2],), {"total_steps": 100}),
        ("CyclicLR", (0.01, 0.1), {"mode": "nope"}),
        ("ReduceLROnPlateau", (), {"factor": 1.0}),
        ("ReduceLROnPlateau", (), {"mode": "minimum"}),
        ("ReduceLROnPlateau", (), {"threshold_mode": "relative"}),
        ("ReduceLROnPlateau", (), {"min_lr": [0.1, 0.2]}),
    ],
)
def test_bad_arguments_raise_like_torch(
    name: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    with pytest.raises(Exception) as theirs:  # noqa: PT011 - compared below
        getattr(T, name)(optimizer([0.1]), *args, **kwargs)
    with pytest.raises(type(theirs.value)) as mine:
        getattr(ours, name)(optimizer([0.1]), *args, **kwargs)
    assert str(mine.value) == str(theirs.value)


def test_not_an_optimizer_like_torch() -> None:
    for name, args in [("StepLR", (3,)), ("CyclicLR", (0.01, 0.1)), ("ReduceLROnPlateau", ())]:
        with pytest.raises(TypeError, match="str is not an Optimizer"):
            getattr(ours, name)("sgd", *args)


@pytest.mark.parametrize(
    "factory",
    [
        lambda o: ours.StepLR(o, 7, 0.5),
        lambda o: ours.CosineAnnealingWarmRestarts(o, 5, 2, 1e-4),
        lambda o: ours.OneCycleLR(o, 0.1, total_steps=300),
        lambda o: ours.CyclicLR(o, 0.01, 0.1, step_size_up=9),
        lambda o: ours.SequentialLR(
            o, [ours.LinearLR(o, 0.1, total_iters=5), ours.CosineAnnealingLR(o, 50)], milestones=[5]
        ),
        lambda o: ours.ChainedScheduler([ours.ConstantLR(o, 0.5, 10), ours.ExponentialLR(o, 0.99)]),
    ],
)
@pytest.mark.parametrize("k", [0, 1, 37, 150])
def test_resume_is_bit_identical(factory: Factory, k: int) -> None:
    full, _ = trace(factory, [0.1, 0.05], 300)
    opt = optimizer([0.1, 0.05])
    sched = factory(opt)
    for _ in range(k):
        opt.step()
        sched.step()
    checkpoint = json.loads(json.dumps(sched.state_dict()))
    opt2 = optimizer([0.1, 0.05])
    fresh = factory(opt2)
    fresh.load_state_dict(checkpoint)
    set_lr(opt2, fresh.get_last_lr())
    rest = []
    for _ in range(300 - k):
        rest.append([g["lr"] for g in opt2.param_groups])
        opt2.step()
        fresh.step()
    np.testing.assert_array_equal(np.array(rest), full[k:])


def test_reduce_lr_on_plateau_resume() -> None:
    metrics = [1.0, 0.9, 0.9, 0.9, 0.8, 0.8, 0.8, 0.8, 0.8, 0.7]
    full, _ = trace(
        lambda o: ours.ReduceLROnPlateau(o, patience=1, factor=0.5), [0.1], 10, metrics=metrics
    )
    opt = optimizer([0.1])
    sched = ours.ReduceLROnPlateau(opt, patience=1, factor=0.5)
    for m in metrics[:4]:
        sched.step(m)
    fresh = ours.ReduceLROnPlateau(optimizer([0.1]), patience=1, factor=0.5)
    fresh.load_state_dict(json.loads(json.dumps(sched.state_dict())))
    got = []
    for m in metrics[4:]:
        got.append(fresh.get_last_lr()[0])
        fresh.step(m)
    np.testing.assert_array_equal(got, full[4:, 0])


def verbose_lines(run: Callable[[], object]) -> list[str]:
    """What ``run()`` logs to the ``verbose`` logger, line by line."""
    logger = logging.getLogger("lrlab.torch.verbose")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger.addHandler(handler)
    try:
        run()
    finally:
        logger.removeHandler(handler)
    return stream.getvalue().splitlines()


def test_verbose_reports_changes_in_the_tutorials_format() -> None:
    def run() -> None:
        sched = ours.CosineAnnealingWarmRestarts(
            optimizer([1e-3]), T_0=10, T_mult=2, eta_min=1e-5, verbose=True
        )
        sched.optimizer.step()
        sched.step()

    assert verbose_lines(run) == [
        "Epoch 00000: adjusting learning rate of group 0 to 1.0000e-03.",
        "Epoch 00001: adjusting learning rate of group 0 to 9.7577e-04.",
    ]


def test_tutorial_scripts_run_unchanged_but_for_the_import() -> None:
    settings: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = [
        ("StepLR", (), {"step_size": 30, "gamma": 0.5}),
        ("CosineAnnealingLR", (), {"T_max": 10, "eta_min": 1e-5}),
        ("CosineAnnealingWarmRestarts", (), {"T_0": 10, "T_mult": 2, "eta_min": 1e-5}),
        ("MultiStepLR", ([30, 80], 0.1), {}),
        ("LambdaLR", (), {"lr_lambda": lambda e: 0.95**e}),
        ("CyclicLR", (0.01, 0.1), {}),
        ("OneCycleLR", (0.01,), {"total_steps": 200}),
    ]
    for name, args, kwargs in settings:
        lrs = {}
        for lib in (T, ours):
            opt = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=0.001)
            scheduler = getattr(lib, name)(opt, *args, **kwargs)
            lr_list = []
            for _epoch in range(200):
                for _ in range(10):  # STEP_SIZE batches
                    opt.step()
                scheduler.step()
                lr_list.append(scheduler.get_last_lr()[0])
            lrs[lib.__name__] = lr_list
        np.testing.assert_allclose(lrs["lrlab.torch"], lrs[T.__name__], rtol=1e-12, err_msg=name)


@heavy
@given(
    lrs=groups,
    factor=st.floats(0.1, 1.0),
    total=st.integers(1, 20),
    gamma=st.floats(0.9, 1.0),
    step_size=st.integers(1, 30),
)
def test_chained_scheduler_of_multiplicative_schedulers(
    lrs: list[float], factor: float, total: int, gamma: float, step_size: int
) -> None:
    def theirs(o: torch.optim.Optimizer) -> Any:
        return T.ChainedScheduler(
            [T.ConstantLR(o, factor, total), T.ExponentialLR(o, gamma), T.StepLR(o, step_size, 0.5)]
        )

    def mine(o: torch.optim.Optimizer) -> Any:
        return ours.ChainedScheduler(
            [
                ours.ConstantLR(o, factor, total),
                ours.ExponentialLR(o, gamma),
                ours.StepLR(o, step_size, 0.5),
            ]
        )

    same(theirs, mine, lrs, 300, rtol=1e-11)


def test_chained_cosine_is_the_product_torchs_recursion_gives() -> None:
    # Without eta_min torch's cosine recursion multiplies by the ratio of consecutive
    # closed-form values, so up to T_max chaining it is the product of closed forms.
    same(
        lambda o: T.ChainedScheduler([T.ExponentialLR(o, 0.97), T.CosineAnnealingLR(o, 60)]),
        lambda o: ours.ChainedScheduler(
            [ours.ExponentialLR(o, 0.97), ours.CosineAnnealingLR(o, 60)]
        ),
        [0.1, 0.02],
        60,
        rtol=1e-10,
    )


def test_chained_scheduler_bad_input_and_delegates_torchs() -> None:
    opt = optimizer([0.1])
    with pytest.raises(
        ValueError, match="ChainedScheduler expects at least one scheduler to be chained"
    ):
        ours.ChainedScheduler([])
    with pytest.raises(ValueError, match="does not support `ReduceLROnPlateau`"):
        ours.ChainedScheduler([ours.ReduceLROnPlateau(opt)])
    mixed = ours.ChainedScheduler([T.ExponentialLR(opt, 0.9)])
    assert type(mixed) is T.ChainedScheduler


def test_torchs_schedulers_inside_our_sequential_lr() -> None:
    def theirs(o: torch.optim.Optimizer) -> Any:
        return T.SequentialLR(
            o, [T.LinearLR(o, 0.1, total_iters=5), T.StepLR(o, 10)], milestones=[5]
        )

    def mixed(o: torch.optim.Optimizer) -> Any:
        return ours.SequentialLR(
            o, [T.LinearLR(o, 0.1, total_iters=5), T.StepLR(o, 10)], milestones=[5]
        )

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch's SequentialLR calls step(0)
        same(theirs, mixed, [0.1, 0.3], 100)
