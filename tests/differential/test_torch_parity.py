"""Differential tests: lrlab's closed forms against torch's schedulers, step by step.

Every test builds a real torch optimizer and scheduler, runs the usual training loop
(read ``group["lr"]``, ``optimizer.step()``, ``scheduler.step()``) for thousands of
steps and compares the lr torch gives at step ``t`` with the lrlab schedule's ``s(t)``.

Tolerance: relative error ``|torch - lrlab| / |lrlab| <= 1e-12`` (torch updates most
schedulers recursively, lrlab evaluates a closed form; both round differently, by far
less than that). Cosine-shaped schedules and LinearLR decaying to ~0 are compared with
the scale-relative ``|torch - lrlab| <= 1e-12 * max(|lrlab|, lr)`` instead; each such
test says why.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import lrlab
from lrlab.schedules import torch_names as tn

torch = pytest.importorskip("torch")
lr_scheduler = pytest.importorskip("torch.optim.lr_scheduler")
pytestmark = pytest.mark.slow  # thousands of torch steps per example: `make test` runs them

RTOL = 1e-12
TINY = 1e-300  # relative error is |a - b| / max(|b|, TINY)
STEPS = 3000  # steps per hypothesis example

Spec = tuple[str, dict[str, Any]]  # (torch scheduler name, its keyword arguments)
MakeOptimizer = Callable[[list[dict[str, Any]]], Any]

lrs = st.floats(min_value=1e-6, max_value=10.0)
unit_fractions = st.one_of(st.just(0.0), st.floats(min_value=0.0, max_value=1.0))


def fast(max_examples: int = 25) -> Callable[[Any], Any]:
    """Hypothesis settings for the torch loops: few examples, no deadline."""
    return settings(max_examples=max_examples, deadline=None)


# --- running torch --------------------------------------------------------------------


def sgd(groups: list[dict[str, Any]]) -> Any:
    return torch.optim.SGD(groups, lr=groups[0]["lr"], momentum=0.9)


def torch_lrs(
    make_scheduler: Callable[[Any], Any],
    group_lrs: Sequence[float],
    steps: int,
    *,
    make_optimizer: MakeOptimizer = sgd,
) -> np.ndarray:
    """``out[t, i]``: param group ``i``'s lr at step ``t`` of a training loop."""
    params = [torch.nn.Parameter(torch.zeros(1)) for _ in group_lrs]
    groups = [{"params": [p], "lr": lr} for p, lr in zip(params, group_lrs, strict=True)]
    optimizer = make_optimizer(groups)
    scheduler = make_scheduler(optimizer)
    out = np.empty((steps, len(group_lrs)))
    for t in range(steps):
        values = [group["lr"] for group in optimizer.param_groups]
        if t == 0:  # the comparison is float64 against float64, not a tensor
            assert all(type(v) is float for v in values), values
        out[t] = values
        optimizer.step()
        scheduler.step()
    return out


def torch_spec(spec: Spec) -> Callable[[Any], Any]:
    """A function of the optimizer building the torch scheduler described by ``spec``."""
    name, kwargs = spec
    return lambda optimizer: getattr(lr_scheduler, name)(optimizer, **kwargs)


def lrlab_spec(spec: Spec, lr: float) -> lrlab.Schedule:
    """The lrlab schedule for ``spec`` on a param group whose initial lr is ``lr``."""
    name, kwargs = spec
    schedule: lrlab.Schedule = getattr(tn, name)(lr=lr, **kwargs)
    return schedule


def lrlab_lrs(schedules: Sequence[lrlab.Schedule], steps: int) -> np.ndarray:
    return np.stack([s.values(steps) for s in schedules], axis=1)


def assert_matches(
    got: np.ndarray,
    want: np.ndarray,
    *,
    scale: Sequence[float] | float = 0.0,
    what: object = "",
) -> None:
    """``|got - want| <= RTOL * max(|want|, scale)`` everywhere (``scale`` per group)."""
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    assert got.shape == want.shape, (got.shape, want.shape)
    assert np.isfinite(got).all(), f"{what}: torch gave a non-finite lr"
    assert np.isfinite(want).all(), f"{what}: lrlab gave a non-finite lr"
    floor = np.maximum(np.broadcast_to(np.asarray(scale, dtype=np.float64), want.shape[1:]), TINY)
    err = np.abs(got - want) / np.maximum(np.abs(want), floor)
    worst = np.unravel_index(int(np.argmax(err)), err.shape)
    assert err[worst] <= RTOL, (
        f"{what}: at (t, group)={tuple(int(i) for i in worst)} torch gives {got[worst]!r}, "
        f"lrlab {want[worst]!r} (error {err[worst]:.3g} > {RTOL:g})"
    )


def check_spec(
    spec: Spec, lr: float, steps: int = STEPS, *, scale_relative: bool = False
) -> np.ndarray:
    """Run ``spec`` in torch and lrlab on one param group; return torch's lrs."""
    got = torch_lrs(torch_spec(spec), [lr], steps)
    want = lrlab_lrs([lrlab_spec(spec, lr)], steps)
    assert_matches(got, want, scale=lr if scale_relative else 0.0, what=spec)
    return got[:, 0]


# --- strategies: (torch name, kwargs) for the multiplicative schedulers -----------------


@st.composite
def step_lrs(draw: st.DrawFn, steps: int = STEPS) -> Spec:
    step_size = draw(st.integers(min_value=1, max_value=500))
    # Keep lr * gamma**k above 1e-250 (no subnormals, where relative error is meaningless).
    decays = max(1, (steps - 1) // step_size)
    low = max(1e-3, 10.0 ** (-250.0 / decays))
    gamma = draw(st.one_of(st.just(0.0), st.floats(min_value=low, max_value=1.0)))
    return "StepLR", {"step_size": step_size, "gamma": gamma}


@st.composite
def multistep_lrs(draw: st.DrawFn, steps: int = STEPS) -> Spec:
    # Unsorted, with repeats (a milestone listed twice decays twice) and 0 (decays at t=0).
    milestone = st.one_of(
        st.integers(min_value=0, max_value=steps + 10), st.sampled_from([0, 1, 30, 80, 1000])
    )
    milestones = draw(st.lists(milestone, max_size=8))
    gamma = draw(st.one_of(st.just(0.0), st.floats(min_value=1e-3, max_value=1.0)))
    return "MultiStepLR", {"milestones": milestones, "gamma": gamma}


@st.composite
def constant_lrs(draw: st.DrawFn, steps: int = STEPS) -> Spec:
    # factor > 0: torch divides by it at total_iters (factor=0 raises ZeroDivisionError).
    factor = draw(st.floats(min_value=1e-3, max_value=1.0))
    total_iters = draw(st.integers(min_value=0, max_value=steps + 10))
    return "ConstantLR", {"factor": factor, "total_iters": total_iters}


@st.composite
def linear_lrs(
    draw: st.DrawFn, steps: int = STEPS, min_end: float = 0.01, max_end: float = 1.0
) -> Spec:
    start = draw(st.floats(min_value=1e-4, max_value=1.0))
    end = draw(st.one_of(st.just(min_end), st.floats(min_value=min_end, max_value=max_end)))
    total_iters = draw(st.integers(min_value=0, max_value=steps + 10))
    return "LinearLR", {"start_factor": start, "end_factor": end, "total_iters": total_iters}


@st.composite
def exponential_lrs(draw: st.DrawFn, steps: int = STEPS) -> Spec:
    low = 10.0 ** (-250.0 / (steps - 1))  # lr * gamma**t stays above 1e-250
    return "ExponentialLR", {"gamma": draw(st.floats(min_value=low, max_value=1.0))}


@st.composite
def polynomial_lrs(draw: st.DrawFn, steps: int = STEPS) -> Spec:
    total_iters = draw(st.integers(min_value=1, max_value=steps + 10))
    power = draw(st.floats(min_value=0.05, max_value=10.0))
    return "PolynomialLR", {"total_iters": total_iters, "power": power}


# --- one scheduler, one param group ------------------------------------------------------


@fast()
@given(lr=lrs, spec=step_lrs())
def test_step_lr(lr: float, spec: Spec) -> None:
    check_spec(spec, lr)


@fast()
@given(lr=lrs, spec=multistep_lrs())
def test_multistep_lr_unsorted_and_repeated_milestones(lr: float, spec: Spec) -> None:
    check_spec(spec, lr)


def test_multistep_lr_repeated_unsorted_golden() -> None:
    spec: Spec = ("MultiStepLR", {"milestones": [80, 30, 30, 0], "gamma": 0.5})
    got = check_spec(spec, 1.0, 200)
    assert got[[0, 29, 30, 79, 80]].tolist() == [0.5, 0.5, 0.125, 0.125, 0.0625]


@fast()
@given(lr=lrs, spec=constant_lrs())
def test_constant_lr(lr: float, spec: Spec) -> None:
    check_spec(spec, lr)


def test_constant_lr_total_iters_zero_keeps_the_factor() -> None:
    # Documented: torch's step-by-step form keeps the factor forever, as lrlab does.
    got = check_spec(("ConstantLR", {"factor": 0.25, "total_iters": 0}), 0.4, 100)
    assert set(got.tolist()) == {0.1}


@fast()
@given(lr=lrs, spec=linear_lrs())
def test_linear_lr(lr: float, spec: Spec) -> None:
    check_spec(spec, lr)


@fast()
@given(lr=lrs, spec=linear_lrs(min_end=0.0, max_end=0.01))
def test_linear_lr_decaying_to_zero(lr: float, spec: Spec) -> None:
    # Scale-relative: torch's recursive ratio 1 + (e - s) / (T*s + (t-1)*(e - s)) cancels
    # when end_factor e is ~0, so its last values are off by ~eps*lr in absolute terms
    # (1e-9 relative to a value near e*lr; at end_factor=0 torch even gives about -1e-20
    # instead of 0). lrlab's (1 - x) * init + x * end is exact at the end.
    check_spec(spec, lr, scale_relative=True)


def test_linear_lr_total_iters_zero_keeps_the_start_factor() -> None:
    got = check_spec(("LinearLR", {"start_factor": 0.5, "total_iters": 0}), 0.2, 100)
    assert set(got.tolist()) == {0.1}


@fast()
@given(lr=lrs, spec=exponential_lrs())
def test_exponential_lr(lr: float, spec: Spec) -> None:
    check_spec(spec, lr)


@pytest.mark.parametrize("gamma", [0.5, 0.1, 0.01])
def test_exponential_lr_fast_decay(gamma: float) -> None:
    steps = int(250 / -math.log10(gamma))  # down to ~1e-250, above the subnormals
    check_spec(("ExponentialLR", {"gamma": gamma}), 1.0, steps)


@fast()
@given(lr=lrs, spec=polynomial_lrs())
def test_polynomial_lr(lr: float, spec: Spec) -> None:
    got = check_spec(spec, lr)
    total_iters = spec[1]["total_iters"]
    if total_iters < STEPS:
        assert (got[total_iters:] == 0.0).all()


# --- cosine-shaped schedules --------------------------------------------------------------
#
# These are compared scale-relative: near eta_min (or min_lr) the value is
# eta_min + (lr - eta_min) * (1 + cos(x)) / 2 with 1 + cos(x) ~ 0, so one ulp of cos(x)
# (math.cos and numpy's cos may differ by an ulp on some platforms) or of the recursion
# is ~1e-16 * lr in absolute terms but 1e-10 relative to a value near 0.


@fast()
@given(
    lr=lrs,
    t_max=st.integers(min_value=1, max_value=64),
    eta_frac=unit_fractions,
)
def test_cosine_annealing_lr_far_past_t_max(lr: float, t_max: int, eta_frac: float) -> None:
    # 1000 steps are 15 to 1000 half-periods: the lr climbs back to lr after 2*T_max, as in
    # torch. Not more steps: torch's recursion drifts from the exact curve by ~eps * t (the
    # argument pi*t/T_max loses absolute precision) and by ~eps * T_max**2 after each
    # minimum; up to 1000 steps and T_max <= 64 it stays below 1e-12 * lr (see
    # test_cosine_annealing_lr_recursion_drift_documented for where it does not).
    spec: Spec = ("CosineAnnealingLR", {"T_max": t_max, "eta_min": lr * eta_frac})
    got = check_spec(spec, lr, 1000, scale_relative=True)
    assert got[2 * t_max] == pytest.approx(lr, rel=1e-11)  # back at lr after 2 * T_max


@fast()
@given(lr=lrs, t_max=st.integers(min_value=1, max_value=STEPS), eta_frac=unit_fractions)
def test_cosine_annealing_lr_first_half_period(lr: float, t_max: int, eta_frac: float) -> None:
    # Down to eta_min at T_max and one step into the climb (torch's special-cased step).
    spec: Spec = ("CosineAnnealingLR", {"T_max": t_max, "eta_min": lr * eta_frac})
    got = check_spec(spec, lr, t_max + 2, scale_relative=True)
    assert got[t_max] == lr * eta_frac


def torch_closed_form_lrs(
    make_scheduler: Callable[[Any], Any], lr: float, epochs: Sequence[float]
) -> list[float]:
    """torch's own closed form: ``scheduler.step(epoch)`` (deprecated, warns) per epoch."""
    optimizer = sgd([{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": lr}])
    scheduler = make_scheduler(optimizer)
    out = []
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The epoch parameter", category=UserWarning)
        for epoch in epochs:
            optimizer.step()
            scheduler.step(epoch)
            out.append(optimizer.param_groups[0]["lr"])
    return out


@fast(25)
@given(lr=lrs, t_max=st.integers(min_value=1, max_value=STEPS), eta_frac=unit_fractions)
def test_cosine_annealing_lr_matches_torch_closed_form_far_past_t_max(
    lr: float, t_max: int, eta_frac: float
) -> None:
    # Far past T_max with a large T_max, torch's recursion drifts (see below) but its own
    # closed form (used by the deprecated step(epoch)) is lrlab's formula.
    spec: Spec = ("CosineAnnealingLR", {"T_max": t_max, "eta_min": lr * eta_frac})
    epochs = [*range(STEPS), 10 * STEPS + 7, 123_457]
    got = torch_closed_form_lrs(torch_spec(spec), lr, epochs)
    want = lrlab_spec(spec, lr)(np.array(epochs, dtype=np.float64))
    assert_matches(np.array(got)[:, None], want[:, None], scale=lr, what=spec)


def test_cosine_annealing_lr_recursion_drift_documented() -> None:
    # Documented difference (torch_names): far past T_max with eta_min close to lr, torch's
    # recursion drifts from the exact curve. Past T_max it restarts the climb with
    # (1 - cos(pi/T_max)) / 2, which cancels: a relative error ~eps * T_max**2 that the
    # recursion carries up the climb, scaled by eta_min / (lr - eta_min) through its
    # "+ eta_min" roundings. lr=1, T_max=1500, eta_min=0.9: off by more than 1e-12 from
    # t=1689 on; at t=2999 torch's loop gives 0.999999890363885, lrlab 0.9999998903377689
    # (the exact value is 0.99999989033776896...), and so does torch's own closed form.
    spec: Spec = ("CosineAnnealingLR", {"T_max": 1500, "eta_min": 0.9})
    want = lrlab_spec(spec, 1.0).values(3000)
    closed = np.array(torch_closed_form_lrs(torch_spec(spec), 1.0, range(3000)))
    loop = torch_lrs(torch_spec(spec), [1.0], 3000)[:, 0]
    assert np.max(np.abs(closed - want)) <= 1e-15  # lrlab is torch's closed form
    assert_matches(loop[:1600, None], want[:1600, None], scale=1.0)  # fine at first ...
    assert abs(loop[2999] - want[2999]) > 1e-11  # ... then torch's loop drifts


@fast()
@given(
    lr=lrs,
    t_0=st.integers(min_value=1, max_value=300),
    t_mult=st.integers(min_value=1, max_value=4),
    eta_frac=unit_fractions,
)
def test_cosine_annealing_warm_restarts(lr: float, t_0: int, t_mult: int, eta_frac: float) -> None:
    spec: Spec = (
        "CosineAnnealingWarmRestarts",
        {"T_0": t_0, "T_mult": t_mult, "eta_min": lr * eta_frac},
    )
    got = check_spec(spec, lr, scale_relative=True)
    restarts = [t_0 * (t_mult**k - 1) // (t_mult - 1) if t_mult > 1 else t_0 * k for k in range(8)]
    for start in restarts:
        if start < STEPS:
            assert got[start] == pytest.approx(lr, rel=1e-15)


def torch_cycle_index(epoch: float, t_0: int, t_mult: int) -> int:
    """The cycle torch's step(epoch) puts ``epoch`` in (it rounds through a logarithm)."""
    if epoch < t_0:
        return 0
    return int(math.log(epoch / t_0 * (t_mult - 1) + 1, t_mult))


def exact_cycle_index(epoch: float, t_0: int, t_mult: int) -> int:
    k = 0
    while t_0 * (t_mult ** (k + 1) - 1) // (t_mult - 1) <= epoch:
        k += 1
    return k


@fast()
@given(
    lr=lrs,
    t_0=st.integers(min_value=1, max_value=50),
    t_mult=st.integers(min_value=1, max_value=4),
    eta_frac=unit_fractions,
    parts=st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=2000),
            st.integers(min_value=1, max_value=64),
            st.integers(min_value=0, max_value=63),
        ),
        min_size=1,
        max_size=200,
    ),
)
def test_cosine_annealing_warm_restarts_fractional_epochs(
    lr: float, t_0: int, t_mult: int, eta_frac: float, parts: list[tuple[int, int, int]]
) -> None:
    # torch's documented per-batch use: scheduler.step(epoch + i / iters), in any order.
    epochs = [e + min(i, iters - 1) / iters for e, iters, i in parts]
    if t_mult > 1:
        # At a few exact restart epochs torch's log rounds below the cycle index (e.g.
        # math.log(243, 3) = 4.999...); test_cosine_annealing_warm_restarts_log_rounding
        # pins those down. Elsewhere the index is right and torch must equal lrlab.
        epochs = [
            e
            for e in epochs
            if torch_cycle_index(e, t_0, t_mult) == exact_cycle_index(e, t_0, t_mult)
        ]
        assume(epochs)
    spec: Spec = (
        "CosineAnnealingWarmRestarts",
        {"T_0": t_0, "T_mult": t_mult, "eta_min": lr * eta_frac},
    )
    got = torch_closed_form_lrs(torch_spec(spec), lr, epochs)
    want = lrlab_spec(spec, lr)(np.array(epochs, dtype=np.float64))
    assert_matches(np.array(got)[:, None], want[:, None], scale=lr, what=(spec, epochs))


@pytest.mark.parametrize(
    ("t_0", "t_mult", "epoch", "torch_step_epoch"),
    [
        (1, 3, 40, 1.0),  # restart 4 of T_mult=3
        (10, 2, 310, 1.0),  # restart 5 of T_mult=2
        # Documented difference (torch_names): torch's step(epoch) finds the cycle with
        # int(math.log(x, T_mult)), which rounds below the integer at some restarts
        # (math.log(243, 3) = 4.999...), and gives eta_min there instead of the restart lr.
        (1, 3, 121, 0.0),  # restart 5 of T_mult=3
        (10, 10, 1110, 0.0),  # restart 3 of T_mult=10
    ],
)
def test_cosine_annealing_warm_restarts_log_rounding(
    t_0: int, t_mult: int, epoch: int, torch_step_epoch: float
) -> None:
    spec: Spec = ("CosineAnnealingWarmRestarts", {"T_0": t_0, "T_mult": t_mult, "eta_min": 0.0})
    # torch's step() loop agrees with lrlab at every restart: the lr is back at 1.0 ...
    loop = torch_lrs(torch_spec(spec), [1.0], epoch + 1)[:, 0]
    assert loop[epoch] == lrlab_spec(spec, 1.0)(epoch) == 1.0
    # ... torch's step(epoch) too, except where its logarithm rounds down.
    assert torch_closed_form_lrs(torch_spec(spec), 1.0, [epoch]) == [torch_step_epoch]
    assert (torch_cycle_index(epoch, t_0, t_mult) == exact_cycle_index(epoch, t_0, t_mult)) == (
        torch_step_epoch == 1.0
    )


# --- CyclicLR and OneCycleLR ---------------------------------------------------------------


@st.composite
def cyclic_lrs(draw: st.DrawFn, steps: int = STEPS) -> dict[str, Any]:
    mode = draw(st.sampled_from(["triangular", "triangular2", "exp_range"]))
    # triangular2 halves the height every cycle; torch computes 2.0 ** (cycle - 1), which
    # overflows after 1024 cycles: keep the cycles fewer.
    min_up = 3 if mode == "triangular2" else 1
    up = draw(st.integers(min_value=min_up, max_value=800))
    down = draw(st.one_of(st.none(), st.integers(min_value=1, max_value=800)))
    gamma = 1.0
    if mode == "exp_range":
        gamma = draw(st.floats(min_value=10.0 ** (-250.0 / steps), max_value=1.0))
    return {
        "base_lr": draw(st.one_of(st.just(0.0), lrs)),
        "max_lr": draw(lrs),
        "step_size_up": up,
        "step_size_down": down,
        "mode": mode,
        "gamma": gamma,
    }


@fast()
@given(kwargs=cyclic_lrs(), cycle_momentum=st.booleans())
def test_cyclic_lr(kwargs: dict[str, Any], cycle_momentum: bool) -> None:
    got = torch_lrs(
        lambda o: lr_scheduler.CyclicLR(o, cycle_momentum=cycle_momentum, **kwargs),
        [1.0],  # CyclicLR sets every group's lr to base_lr
        STEPS,
    )
    assert_matches(got, lrlab_lrs([tn.CyclicLR(**kwargs)], STEPS), what=kwargs)


@st.composite
def one_cycle_lrs(draw: st.DrawFn) -> dict[str, Any]:
    three_phase = draw(st.booleans())
    total_steps = draw(st.integers(min_value=40, max_value=STEPS))
    # every phase at least a step long (torch divides by the phase length)
    pct_start = draw(st.floats(min_value=0.05, max_value=0.45 if three_phase else 0.95))
    return {
        "max_lr": draw(lrs),
        "total_steps": total_steps,
        "pct_start": pct_start,
        "anneal_strategy": draw(st.sampled_from(["cos", "linear"])),
        "div_factor": draw(st.floats(min_value=1.0, max_value=1e3)),
        "final_div_factor": draw(st.floats(min_value=1.0, max_value=1e5)),
        "three_phase": three_phase,
    }


@fast()
@given(kwargs=one_cycle_lrs())
def test_one_cycle_lr(kwargs: dict[str, Any]) -> None:
    # t = 0 .. total_steps - 1 only: see test_one_cycle_lr_after_the_last_step.
    steps = kwargs["total_steps"]
    got = torch_lrs(lambda o: lr_scheduler.OneCycleLR(o, **kwargs), [1.0], steps)
    want = lrlab_lrs([tn.OneCycleLR(**kwargs)], steps)
    # Scale-relative for 'cos' (see the cosine section); 'linear' is compared strictly.
    scale = kwargs["max_lr"] if kwargs["anneal_strategy"] == "cos" else 0.0
    assert_matches(got, want, scale=scale, what=kwargs)
    assert got[0, 0] == pytest.approx(kwargs["max_lr"] / kwargs["div_factor"], rel=1e-15)


def test_one_cycle_lr_epochs_and_steps_per_epoch() -> None:
    kwargs = {"max_lr": 0.1, "epochs": 10, "steps_per_epoch": 100}
    got = torch_lrs(lambda o: lr_scheduler.OneCycleLR(o, **kwargs), [1.0], 1000)
    assert_matches(got, lrlab_lrs([tn.OneCycleLR(**kwargs)], 1000), scale=0.1)


@pytest.mark.parametrize("anneal_strategy", ["cos", "linear"])
@pytest.mark.parametrize("three_phase", [False, True])
def test_one_cycle_lr_after_the_last_step(anneal_strategy: str, three_phase: bool) -> None:
    # Documented difference: lrlab holds its final value from total_steps - 1 on; torch
    # extrapolates the last phase one step further at t = total_steps, then raises.
    kwargs = {
        "max_lr": 0.1,
        "total_steps": 100,
        "anneal_strategy": anneal_strategy,
        "three_phase": three_phase,
    }
    optimizer = sgd([{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": 0.1}])
    scheduler = lr_scheduler.OneCycleLR(optimizer, **kwargs)
    got = []
    for _ in range(100):  # t = 0 .. 99
        got.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    at_total_steps = optimizer.param_groups[0]["lr"]  # t = 100
    s = tn.OneCycleLR(**kwargs)
    assert_matches(np.array(got)[:, None], s.values(100)[:, None], scale=0.1)
    assert got[99] == pytest.approx(0.1 / 25.0 / 1e4, rel=1e-12)  # both end at min_lr
    assert s(100) == s(10**6) == s(99)  # lrlab holds it ...
    assert at_total_steps != pytest.approx(s(100), rel=1e-3)  # ... torch extrapolates
    optimizer.step()
    with pytest.raises(ValueError, match="Tried to step"):
        scheduler.step()  # ... and raises after that


# --- SequentialLR and ChainedScheduler -----------------------------------------------------


@st.composite
def sequential_specs(draw: st.DrawFn) -> tuple[list[Spec], int, bool]:
    """A LinearLR warmup, then ExponentialLR, CosineAnnealingLR or StepLR from ``m`` on."""
    milestone = draw(st.integers(min_value=1, max_value=STEPS // 2))
    warmup: Spec = (
        "LinearLR",
        {
            "start_factor": draw(st.floats(min_value=1e-3, max_value=1.0)),
            "end_factor": draw(st.floats(min_value=0.01, max_value=1.0) | st.just(1.0)),
            "total_iters": draw(st.integers(min_value=1, max_value=2 * milestone)),
        },
    )
    kind = draw(st.sampled_from(["ExponentialLR", "CosineAnnealingLR", "StepLR"]))
    rest = STEPS - milestone
    then: Spec
    if kind == "ExponentialLR":
        then = draw(exponential_lrs(rest))
    elif kind == "StepLR":
        then = draw(step_lrs(rest))
    else:
        # T_max >= the steps left: the usual warmup + cosine, not far past T_max (whose
        # recursion drift the cosine tests cover).
        t_max = draw(st.integers(min_value=rest, max_value=STEPS))
        then = (kind, {"T_max": t_max, "eta_min": draw(st.floats(0.0, 1e-3) | st.just(0.0))})
    return [warmup, then], milestone, kind == "CosineAnnealingLR"


@fast()
@given(lr=lrs, specs=sequential_specs())
def test_sequential_lr(lr: float, specs: tuple[list[Spec], int, bool]) -> None:
    phases, milestone, cosine = specs

    def make(optimizer: Any) -> Any:
        schedulers = [torch_spec(spec)(optimizer) for spec in phases]
        return lr_scheduler.SequentialLR(optimizer, schedulers, milestones=[milestone])

    got = torch_lrs(make, [lr], STEPS)
    s = tn.SequentialLR(
        schedulers=[lrlab_spec(spec, lr) for spec in phases], milestones=[milestone]
    )
    assert_matches(got, lrlab_lrs([s], STEPS), scale=lr if cosine else 0.0, what=specs)
    assert got[milestone, 0] == pytest.approx(lr, rel=1e-15)  # each phase starts afresh


def test_sequential_lr_three_phases_golden() -> None:
    # ConstantLR for 20 steps, a LinearLR warmup, then a cosine to the end (torch's docs'
    # SequentialLR example extended by one phase).
    lr, steps = 0.05, 2000
    phases: list[Spec] = [
        ("ConstantLR", {"factor": 0.1, "total_iters": 20}),
        ("LinearLR", {"start_factor": 0.01, "total_iters": 100}),
        ("CosineAnnealingLR", {"T_max": steps - 121, "eta_min": 1e-6}),  # ends at 1999
    ]

    def make(optimizer: Any) -> Any:
        schedulers = [torch_spec(spec)(optimizer) for spec in phases]
        return lr_scheduler.SequentialLR(optimizer, schedulers, milestones=[20, 120])

    got = torch_lrs(make, [lr], steps)
    s = tn.SequentialLR(schedulers=[lrlab_spec(p, lr) for p in phases], milestones=[20, 120])
    assert_matches(got, lrlab_lrs([s], steps), scale=lr)
    assert got[[0, 19, 20, 120, steps - 1], 0].tolist() == pytest.approx(
        [0.005, 0.005, 0.0005, 0.05, 1e-6], rel=1e-9, abs=1e-12
    )


# Multiplicative schedulers only: their chain is the product of their closed forms.
chain_parts = st.one_of(
    step_lrs(),
    multistep_lrs(),
    constant_lrs(),
    linear_lrs(),
    polynomial_lrs(),
    st.floats(min_value=0.9, max_value=1.0).map(lambda g: ("ExponentialLR", {"gamma": g})),
)


@fast()
@given(
    lr=lrs,
    specs=st.lists(chain_parts, min_size=2, max_size=3)
    | st.tuples(constant_lrs(), exponential_lrs()).map(list)
    | st.tuples(step_lrs(), exponential_lrs()).map(list),
)
def test_chained_scheduler(lr: float, specs: list[Spec]) -> None:
    def make(optimizer: Any) -> Any:
        return lr_scheduler.ChainedScheduler([torch_spec(spec)(optimizer) for spec in specs])

    s = tn.ChainedScheduler(lr=lr, schedulers=[lrlab_spec(spec, lr) for spec in specs])
    want = lrlab_lrs([s], STEPS)
    # Products of several decays: stay well above the subnormals (relative comparison).
    assume(not (want[want > 0] < 1e-280).any())
    assert_matches(torch_lrs(make, [lr], STEPS), want, what=specs)


@pytest.mark.parametrize(
    ("specs", "anchors"),
    [
        (
            [("ConstantLR", {"factor": 0.1, "total_iters": 2}), ("ExponentialLR", {"gamma": 0.9})],
            {0: 0.1, 1: 0.1 * 0.9, 2: 0.9**2, 10: 0.9**10},
        ),
        (
            [("StepLR", {"step_size": 30, "gamma": 0.5}), ("ExponentialLR", {"gamma": 0.99})],
            {0: 1.0, 29: 0.99**29, 30: 0.5 * 0.99**30, 299: 0.5**9 * 0.99**299},
        ),
    ],
)
def test_chained_scheduler_golden(specs: list[Spec], anchors: dict[int, float]) -> None:
    lr, steps = 1.0, 300

    def make(optimizer: Any) -> Any:
        return lr_scheduler.ChainedScheduler([torch_spec(spec)(optimizer) for spec in specs])

    got = torch_lrs(make, [lr], steps)
    s = tn.ChainedScheduler(lr=lr, schedulers=[lrlab_spec(spec, lr) for spec in specs])
    assert_matches(got, lrlab_lrs([s], steps))
    for t, value in anchors.items():
        assert got[t, 0] == pytest.approx(value, rel=1e-13)


# --- several param groups --------------------------------------------------------------------


MULTI_GROUP: dict[str, tuple[Callable[[Any, list[float]], Any], Callable[[float], Any], bool]] = {
    # name: (torch scheduler on the optimizer, lrlab schedule for a group's lr, cosine?)
    "StepLR": (
        lambda o, _: lr_scheduler.StepLR(o, step_size=7, gamma=0.5),
        lambda lr: tn.StepLR(lr=lr, step_size=7, gamma=0.5),
        False,
    ),
    "MultiStepLR": (
        lambda o, _: lr_scheduler.MultiStepLR(o, milestones=[300, 30, 30], gamma=0.3),
        lambda lr: tn.MultiStepLR(lr=lr, milestones=[300, 30, 30], gamma=0.3),
        False,
    ),
    "ConstantLR": (
        lambda o, _: lr_scheduler.ConstantLR(o, factor=0.3, total_iters=50),
        lambda lr: tn.ConstantLR(lr=lr, factor=0.3, total_iters=50),
        False,
    ),
    "LinearLR": (
        lambda o, _: lr_scheduler.LinearLR(o, start_factor=0.01, end_factor=0.5, total_iters=700),
        lambda lr: tn.LinearLR(lr=lr, start_factor=0.01, end_factor=0.5, total_iters=700),
        False,
    ),
    "ExponentialLR": (
        lambda o, _: lr_scheduler.ExponentialLR(o, gamma=0.995),
        lambda lr: tn.ExponentialLR(lr=lr, gamma=0.995),
        False,
    ),
    "PolynomialLR": (
        lambda o, _: lr_scheduler.PolynomialLR(o, total_iters=800, power=2.5),
        lambda lr: tn.PolynomialLR(lr=lr, total_iters=800, power=2.5),
        False,
    ),
    "CosineAnnealingLR": (
        lambda o, _: lr_scheduler.CosineAnnealingLR(o, T_max=40, eta_min=1e-6),
        lambda lr: tn.CosineAnnealingLR(lr=lr, T_max=40, eta_min=1e-6),
        True,
    ),
    "CosineAnnealingWarmRestarts": (
        lambda o, _: lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=7, T_mult=2, eta_min=1e-6),
        lambda lr: tn.CosineAnnealingWarmRestarts(lr=lr, T_0=7, T_mult=2, eta_min=1e-6),
        True,
    ),
    "CyclicLR": (
        lambda o, group_lrs: lr_scheduler.CyclicLR(
            o,
            base_lr=group_lrs,
            max_lr=[5 * lr for lr in group_lrs],
            step_size_up=90,
            mode="triangular2",
        ),
        lambda lr: tn.CyclicLR(base_lr=lr, max_lr=5 * lr, step_size_up=90, mode="triangular2"),
        False,
    ),
    "OneCycleLR": (
        lambda o, group_lrs: lr_scheduler.OneCycleLR(o, max_lr=group_lrs, total_steps=1000),
        lambda lr: tn.OneCycleLR(max_lr=lr, total_steps=1000),
        True,
    ),
}


@pytest.mark.parametrize("name", sorted(MULTI_GROUP))
@fast(8)
@given(group_lrs=st.lists(lrs, min_size=2, max_size=4))
def test_several_param_groups(name: str, group_lrs: list[float]) -> None:
    make_torch, make_lrlab, cosine = MULTI_GROUP[name]
    steps = 1000
    got = torch_lrs(lambda o: make_torch(o, group_lrs), group_lrs, steps)
    want = lrlab_lrs([make_lrlab(lr) for lr in group_lrs], steps)
    assert_matches(got, want, scale=group_lrs if cosine else 0.0, what=(name, group_lrs))


# --- the tutorials' settings ---------------------------------------------------------------


def adam(groups: list[dict[str, Any]]) -> Any:
    return torch.optim.Adam(groups, lr=groups[0]["lr"])


def test_golden_adam_step_lr() -> None:
    got = torch_lrs(
        lambda o: lr_scheduler.StepLR(o, step_size=30, gamma=0.5), [0.001], 200, make_optimizer=adam
    )
    assert_matches(got, lrlab_lrs([tn.StepLR(lr=0.001, step_size=30, gamma=0.5)], 200))
    assert got[[0, 29, 30, 60, 199], 0].tolist() == pytest.approx(
        [1e-3, 1e-3, 5e-4, 2.5e-4, 1e-3 * 0.5**6], rel=1e-15
    )


def test_golden_adam_cosine_annealing_lr() -> None:
    got = torch_lrs(
        lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=10, eta_min=1e-5),
        [0.001],
        200,
        make_optimizer=adam,
    )
    want = lrlab_lrs([tn.CosineAnnealingLR(lr=0.001, T_max=10, eta_min=1e-5)], 200)
    assert_matches(got, want, scale=0.001)
    assert got[[10, 20, 190], 0].tolist() == pytest.approx([1e-5, 1e-3, 1e-5], rel=1e-10)


def test_golden_adam_cosine_annealing_warm_restarts() -> None:
    got = torch_lrs(
        lambda o: lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=10, T_mult=2, eta_min=1e-5),
        [0.001],
        320,
        make_optimizer=adam,
    )
    s = tn.CosineAnnealingWarmRestarts(lr=0.001, T_0=10, T_mult=2, eta_min=1e-5)
    assert_matches(got, lrlab_lrs([s], 320), scale=0.001)
    assert got[[0, 10, 30, 70, 150, 310], 0].tolist() == pytest.approx([1e-3] * 6, rel=1e-15)


def test_golden_multistep_lr() -> None:
    got = torch_lrs(
        lambda o: lr_scheduler.MultiStepLR(o, milestones=[30, 80], gamma=0.1), [0.1], 200
    )
    assert_matches(got, lrlab_lrs([tn.MultiStepLR(lr=0.1, milestones=[30, 80], gamma=0.1)], 200))
    assert got[[29, 30, 79, 80], 0].tolist() == pytest.approx([0.1, 0.01, 0.01, 0.001], rel=1e-15)


def test_golden_cyclic_lr() -> None:
    # Per batch, torch's default step_size_up=2000, cycling the SGD momentum too.
    got = torch_lrs(lambda o: lr_scheduler.CyclicLR(o, base_lr=0.01, max_lr=0.1), [0.1], 10_000)
    assert_matches(got, lrlab_lrs([tn.CyclicLR(base_lr=0.01, max_lr=0.1)], 10_000))
    assert got[[0, 1000, 2000, 4000, 6000], 0].tolist() == pytest.approx(
        [0.01, 0.055, 0.1, 0.01, 0.1], rel=1e-14
    )


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("StepLR", {"step_size": 6.0}),
        ("MultiStepLR", {"milestones": [20 * 0.5, 20 * 0.75]}),
        ("CosineAnnealingLR", {"T_max": 20 / 2}),
        ("ConstantLR", {"total_iters": 4.0}),
        ("LinearLR", {"total_iters": 8.0}),
        ("PolynomialLR", {"total_iters": 12.0, "power": 2.0}),
    ],
)
def test_whole_number_floats_are_taken_as_torch_takes_them(
    name: str, kwargs: dict[str, object]
) -> None:
    """Tutorial code computes counts from epochs (``epochs * 0.5``): torch accepts them."""
    import lrlab.torch as ours

    def lrs(kind: type) -> tuple[list[float], dict[str, object]]:
        optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
        scheduler = kind(optimizer, **kwargs)
        seen = []
        for _ in range(20):
            optimizer.step()
            scheduler.step()
            seen.append(scheduler.get_last_lr()[0])
        return seen, {k: getattr(scheduler, k) for k in kwargs}

    theirs, their_state = lrs(getattr(torch.optim.lr_scheduler, name))
    mine, my_state = lrs(getattr(ours, name))
    assert mine == pytest.approx(theirs, rel=1e-12, abs=1e-15)
    assert my_state == their_state  # the value as given, as torch keeps it
