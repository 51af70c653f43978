"""Golden values: hand-computed learning rates for each family at chosen steps."""

from __future__ import annotations

import math

import numpy as np
import pytest

import lrlab
from lrlab.schedules import torch_names as tn

TUTORIAL_LR = 0.001  # Adam's lr in the tutorials

GOLDEN: list[tuple[lrlab.Schedule, dict[float, float]]] = [
    (lrlab.constant(value=0.01), {0: 0.01, 10**9: 0.01}),
    # StepLR(step_size=30, gamma=0.5) of the tutorials, per epoch for 200 epochs
    (
        lrlab.step(init=TUTORIAL_LR, period=30, gamma=0.5),
        {0: 1e-3, 29: 1e-3, 30: 5e-4, 59: 5e-4, 60: 2.5e-4, 199: 1e-3 * 0.5**6},
    ),
    (
        lrlab.multistep(init=0.1, milestones=[30, 80], gamma=0.1),
        {0: 0.1, 29: 0.1, 30: 0.01, 79: 0.01, 80: 0.001, 500: 0.001},
    ),
    (lrlab.multistep(init=1.0, milestones=[5, 5], gamma=0.5), {4: 1.0, 5: 0.25, 100: 0.25}),
    (lrlab.exponential(init=1.0, gamma=0.95), {0: 1.0, 1: 0.95, 10: 0.95**10}),
    (lrlab.linear(init=0.0, end=1.0, steps=10), {0: 0.0, 5: 0.5, 10: 1.0, 11: 1.0, 2.5: 0.25}),
    (
        lrlab.polynomial(init=1.0, steps=10, end=0.1, power=2.0),
        {0: 1.0, 5: 0.325, 10: 0.1, 99: 0.1},
    ),
    # CosineAnnealingLR(T_max=10, eta_min=1e-5) of the tutorials: oscillates over 200 epochs
    (
        lrlab.cosine(init=TUTORIAL_LR, steps=10, end=1e-5, periodic=True),
        {0: 1e-3, 5: 5.05e-4, 10: 1e-5, 15: 5.05e-4, 20: 1e-3, 190: 1e-5, 200: 1e-3},
    ),
    (lrlab.cosine(init=1.0, steps=10), {5: 0.5, 10: 0.0, 20: 0.0}),
    # CosineAnnealingWarmRestarts(T_0=10, T_mult=2, eta_min=1e-5): restarts at 10, 30, 70, 150
    (
        lrlab.cosine_restarts(init=TUTORIAL_LR, period=10, mult=2, end=1e-5),
        {0: 1e-3, 5: 5.05e-4, 10: 1e-3, 20: 5.05e-4, 30: 1e-3, 50: 5.05e-4, 70: 1e-3, 150: 1e-3},
    ),
    (lrlab.cosine_restarts(init=1.0, period=4, decay=0.5), {0: 1.0, 2: 0.5, 4: 0.5, 8: 0.25}),
    (
        lrlab.cosine_restarts(init=1.0, period=4, mult=3),
        {0: 1.0, 4: 1.0, 10: 0.5, 16: 1.0, 2.0: 0.5},
    ),
    # CyclicLR(base_lr=0.01, max_lr=0.1) per batch, step_size_up=2000 (torch's default)
    (
        lrlab.cyclic(init=0.01, peak=0.1, up_steps=2000),
        {0: 0.01, 1000: 0.055, 2000: 0.1, 3000: 0.055, 4000: 0.01, 6000: 0.1},
    ),
    (
        lrlab.cyclic(init=0.0, peak=1.0, up_steps=1, down_steps=3, mode="triangular2"),
        {0: 0.0, 1: 1.0, 2: 2 / 3, 5: 0.5, 9: 0.25},
    ),
    (
        lrlab.cyclic(init=0.0, peak=1.0, up_steps=2, mode="exp_range", gamma=0.5),
        {1: 0.5 * 0.5, 2: 0.25, 6: 0.5**6},
    ),
    (
        lrlab.one_cycle(peak=1.0, steps=100, init=0.04, end=0.0, warmup_frac=0.25),
        {0: 0.04, 24: 1.0, 99: 0.0, 1000: 0.0},
    ),
    (
        lrlab.one_cycle(
            peak=1.0,
            steps=101,
            init=0.1,
            end=0.0,
            shape="linear",
            three_phase=True,
            warmup_frac=0.5 - 0.5 / 101,
        ),
        {0: 0.1, 49: 1.0, 98: 0.1, 100: 0.0},
    ),
    (
        lrlab.inverse_sqrt(peak=1.0, warmup_steps=100),
        {0: 0.0, 50: 0.5, 100: 1.0, 400: 0.5, 10_000: 0.1},
    ),
    (lrlab.inverse_sqrt(peak=1.0, timescale=1), {0: 1.0, 3: 0.5, 99: 0.1}),
    (
        lrlab.wsd(peak=1.0, steps=100, decay_steps=20, warmup_steps=10, shape="1-sqrt"),
        {0: 0.0, 5: 0.5, 10: 1.0, 80: 1.0, 85: 0.5, 100: 0.0, 200: 0.0},
    ),
    (
        lrlab.wsd(peak=1.0, steps=10, decay_steps=10, end=0.5, shape="cosine"),
        {0: 1.0, 5: 0.75, 10: 0.5},
    ),
    (
        lrlab.piecewise_constant(boundaries=[10, 20], lrs=[0.1, 0.05, 0.01]),
        {0: 0.1, 9.99: 0.1, 10: 0.05, 20: 0.01, 1e9: 0.01},
    ),
    (
        lrlab.piecewise_linear(boundaries=[0, 10, 30], lrs=[0.0, 1.0, 0.0]),
        {5: 0.5, 10: 1.0, 20: 0.5, 30: 0.0, 99: 0.0},
    ),
    # composites
    (
        lrlab.warmup(lrlab.cosine(init=1.0, steps=100), steps=10),
        {0: 0.0, 5: 0.5, 10: 1.0, 60: 0.5, 110: 0.0},
    ),
    (
        lrlab.warmup(lrlab.cosine(init=1.0, steps=100), steps=10, mode="overlay", start_factor=0.5),
        {0: 0.5, 10: math.cos(math.pi * 0.1) / 2 + 0.5, 50: 0.5},
    ),
    (lrlab.warmup(lrlab.constant(value=1.0), steps=10, shape="cosine"), {5: 0.5, 10: 1.0}),
    (
        lrlab.warmup(lrlab.constant(value=1.0), steps=10, shape="exponential", start_factor=0.01),
        {0: 0.01, 5: 0.1, 10: 1.0},
    ),
    (
        lrlab.join(
            [lrlab.constant(value=1.0), lrlab.step(init=0.5, period=10, gamma=0.5)], at=[10]
        ),
        {9: 1.0, 10: 0.5, 19: 0.5, 20: 0.25},
    ),
    (
        lrlab.product([lrlab.constant(value=0.5), lrlab.exponential(init=1.0, gamma=0.5)]),
        {0: 0.5, 2: 0.125},
    ),
    (lrlab.scale(lrlab.linear(init=1.0, end=0.0, steps=4), factor=2.0), {0: 2.0, 2: 1.0}),
    (
        lrlab.clip(lrlab.linear(init=1.0, end=0.0, steps=4), low=0.3, high=0.6),
        {0: 0.6, 2: 0.5, 4: 0.3},
    ),
    # torch closed forms
    (tn.ConstantLR(lr=0.3, factor=0.5, total_iters=3), {0: 0.15, 2: 0.15, 3: 0.3}),
    (tn.ConstantLR(lr=0.3, factor=0.5, total_iters=0), {0: 0.15, 3: 0.15}),
    (tn.LinearLR(lr=0.3, start_factor=0.5, total_iters=0), {0: 0.15, 3: 0.15}),
    (tn.MultiStepLR(lr=0.3, milestones=[]), {0: 0.3, 100: 0.3}),
    (tn.OneCycleLR(max_lr=0.1, total_steps=100), {0: 0.004, 29: 0.1, 99: 4e-7}),
]


@pytest.mark.parametrize(("schedule", "expected"), GOLDEN, ids=lambda v: repr(v)[:60])
def test_golden_values(schedule: lrlab.Schedule, expected: dict[float, float]) -> None:
    steps = np.array(list(expected), dtype=float)
    want = np.array(list(expected.values()))
    np.testing.assert_allclose(schedule(steps), want, rtol=1e-12, atol=1e-15)
    for t, value in expected.items():
        assert schedule(t) == pytest.approx(value, rel=1e-12, abs=1e-15)


def test_tutorial_record_of_200_epochs_has_the_expected_distinct_values() -> None:
    lrs = lrlab.step(init=TUTORIAL_LR, period=30, gamma=0.5).values(200)
    assert sorted(set(lrs.tolist()), reverse=True) == [1e-3 * 0.5**k for k in range(7)]


def test_python_ints_numpy_scalars_and_fractional_steps() -> None:
    s = lrlab.cosine_restarts(init=1.0, period=10)
    assert s(np.int64(5)) == s(5) == s(5.0) == s(np.float32(5.0))
    assert s(2.5) == pytest.approx(0.5 + 0.5 * math.cos(math.pi * 0.25))
