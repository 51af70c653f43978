"""Differential tests: lrlab's `plateau` against torch's ReduceLROnPlateau, exactly.

Both make the same float64 operations in the same order, so the learning rates (and
``best``, ``num_bad_epochs``, ``cooldown_counter``) must be equal, not just close, for
every metric sequence: NaN, infinities, negatives, repeats included.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lrlab
from lrlab.schedules import torch_names as tn

torch = pytest.importorskip("torch")
lr_scheduler = pytest.importorskip("torch.optim.lr_scheduler")

Row = tuple[list[float], float, int, int, int]  # lrs, best, num_bad_epochs, cooldown, step

lrs = st.floats(min_value=1e-6, max_value=10.0)
special_metrics = st.sampled_from([math.nan, math.inf, -math.inf, 0.0, -0.0, 1.0, -1.0, 1e-300])
metric = st.one_of(
    special_metrics,
    st.floats(min_value=-10.0, max_value=10.0),
    st.floats(allow_nan=True, allow_infinity=True),
)
# runs of one value (plateaus) between single values
metrics = st.lists(
    st.tuples(metric, st.integers(min_value=1, max_value=8)), min_size=1, max_size=25
).map(lambda runs: [value for value, count in runs for _ in range(count)])

pytestmark = pytest.mark.slow  # torch in every hypothesis example: `make test` runs them


@st.composite
def plateau_kwargs(draw: st.DrawFn, lr: float) -> dict[str, Any]:
    """Every ReduceLROnPlateau parameter but min_lr (per-group in some tests)."""
    return {
        "mode": draw(st.sampled_from(["min", "max"])),
        "factor": draw(st.sampled_from([0.0, 0.1, 0.5]) | st.floats(min_value=0.0, max_value=0.99)),
        "patience": draw(st.integers(min_value=0, max_value=6)),
        "threshold": draw(
            st.sampled_from([0.0, 1e-4, 1.0]) | st.floats(min_value=0.0, max_value=2.0)
        ),
        "threshold_mode": draw(st.sampled_from(["rel", "abs"])),
        "cooldown": draw(st.integers(min_value=0, max_value=5)),
        "eps": draw(st.sampled_from([0.0, 1e-8]) | st.floats(min_value=0.0, max_value=lr)),
    }


def min_lrs(lr: float) -> st.SearchStrategy[float]:
    return st.just(0.0) | st.floats(min_value=0.0, max_value=lr) | st.just(lr / 8)


def run_torch(
    group_lrs: list[float], metric_values: list[Any], min_lr: Any, kwargs: dict[str, Any]
) -> list[Row]:
    """After each ``scheduler.step(metric)``: the group lrs and the scheduler's state."""
    params = [torch.nn.Parameter(torch.zeros(1)) for _ in group_lrs]
    optimizer = torch.optim.SGD(
        [{"params": [p], "lr": lr} for p, lr in zip(params, group_lrs, strict=True)],
        lr=group_lrs[0],
        momentum=0.9,
    )
    scheduler = lr_scheduler.ReduceLROnPlateau(optimizer, min_lr=min_lr, **kwargs)
    rows = []
    for value in metric_values:
        optimizer.step()
        scheduler.step(value)
        rows.append(
            (
                [group["lr"] for group in optimizer.param_groups],
                scheduler.best,
                scheduler.num_bad_epochs,
                scheduler.cooldown_counter,
                scheduler.last_epoch,
            )
        )
    return rows


def run_lrlab(schedules: list[lrlab.Schedule], metric_values: list[Any]) -> list[Row]:
    """The same rows from lrlab: ``state = s.update(state, metric)``, ``s.lr(state)``."""
    states = [s.initial_state() for s in schedules]
    rows = []
    for value in metric_values:
        states = [s.update(state, value) for s, state in zip(schedules, states, strict=True)]
        first = states[0]
        rows.append(
            (
                [s.lr(state) for s, state in zip(schedules, states, strict=True)],
                first.best,
                first.num_bad_epochs,
                first.cooldown_counter,
                first.step,
            )
        )
    return rows


def same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


def assert_same_rows(got: list[Row], want: list[Row], what: object) -> None:
    assert len(got) == len(want)
    for t, (g, w) in enumerate(zip(got, want, strict=True)):
        g_lrs, g_best, *g_counts = g
        w_lrs, w_best, *w_counts = w
        assert g_lrs == w_lrs, f"{what}: after step {t}: torch lrs {g_lrs}, lrlab {w_lrs}"
        assert same(g_best, w_best), f"{what}: after step {t}: best {g_best!r} != {w_best!r}"
        assert g_counts == w_counts, (
            f"{what}: after step {t}: torch (num_bad_epochs, cooldown_counter, step) "
            f"{g_counts}, lrlab {w_counts}"
        )


@settings(max_examples=200, deadline=None)
@given(data=st.data(), lr=lrs, metric_values=metrics)
def test_matches_torch_exactly(data: st.DataObject, lr: float, metric_values: list[float]) -> None:
    kwargs = data.draw(plateau_kwargs(lr), label="kwargs")
    min_lr = data.draw(min_lrs(lr), label="min_lr")
    got = run_torch([lr], metric_values, min_lr, kwargs)
    want = run_lrlab([tn.ReduceLROnPlateau(lr=lr, min_lr=min_lr, **kwargs)], metric_values)
    assert_same_rows(got, want, (lr, min_lr, kwargs))


@settings(max_examples=100, deadline=None)
@given(
    data=st.data(),
    group_lrs=st.lists(lrs, min_size=2, max_size=4),
    metric_values=metrics,
    shared_min_lr=st.booleans(),
)
def test_several_param_groups_with_their_own_min_lr(
    data: st.DataObject, group_lrs: list[float], metric_values: list[float], shared_min_lr: bool
) -> None:
    kwargs = data.draw(plateau_kwargs(min(group_lrs)), label="kwargs")
    if shared_min_lr:
        min_lr: Any = data.draw(min_lrs(min(group_lrs)), label="min_lr")
        per_group = [min_lr] * len(group_lrs)
    else:
        per_group = [data.draw(min_lrs(lr), label="min_lr") for lr in group_lrs]
        min_lr = per_group
    got = run_torch(group_lrs, metric_values, min_lr, kwargs)
    schedules: list[lrlab.Schedule] = [
        lrlab.plateau(init=lr, min_lr=m, **kwargs)
        for lr, m in zip(group_lrs, per_group, strict=True)
    ]
    assert_same_rows(got, run_lrlab(schedules, metric_values), (group_lrs, min_lr, kwargs))


def test_golden_per_group_min_lr() -> None:
    group_lrs, min_lr = [1.0, 0.1], [0.3, 0.0]
    kwargs = {"factor": 0.5, "patience": 1, "cooldown": 1}
    values = [1.0] * 12
    got = run_torch(group_lrs, values, min_lr, kwargs)
    schedules: list[lrlab.Schedule] = [
        lrlab.plateau(init=lr, min_lr=m, **kwargs) for lr, m in zip(group_lrs, min_lr, strict=True)
    ]
    assert_same_rows(got, run_lrlab(schedules, values), "golden")
    # best = 1.0 at step 0; bad at 1, 2 -> reduce; 1 cooldown step; bad at 4, 5 -> reduce
    # (to group 0's min_lr 0.3, after which it stays); group 1 halves at 2, 5, 8 and 11.
    assert [row[0][0] for row in got] == [1.0, 1.0, 0.5, 0.5, 0.5] + [0.3] * 7
    assert [row[0][1] for row in got][-1] == 0.1 * 0.5**4


@pytest.mark.parametrize(
    ("mode", "values"),
    [
        # NaN is never an improvement: bad epochs, then reductions
        ("min", [1.0, math.nan, math.nan, math.nan, math.nan, 0.5, math.nan]),
        # -inf in min mode improves once, then nothing beats it
        ("min", [1.0, -math.inf, -5.0, -math.inf, -1e300, -math.inf, 0.0, -7.0]),
        # inf in min mode is never better than anything finite
        ("min", [math.inf, math.inf, 3.0, math.inf, math.inf, math.inf, math.inf]),
        # max mode: inf improves once, -inf never does, negatives are ordinary numbers
        ("max", [-3.0, -2.0, -2.0, -math.inf, math.inf, 1e308, math.inf, math.nan]),
    ],
)
@pytest.mark.parametrize("threshold_mode", ["rel", "abs"])
def test_non_finite_and_negative_metrics(
    mode: str, values: list[float], threshold_mode: str
) -> None:
    kwargs = {"mode": mode, "factor": 0.5, "patience": 1, "threshold_mode": threshold_mode}
    got = run_torch([1.0], values, 0.0, kwargs)
    want = run_lrlab([tn.ReduceLROnPlateau(lr=1.0, **kwargs)], values)
    assert_same_rows(got, want, kwargs)
    assert got[-1][0][0] < 1.0  # every sequence above triggers at least one reduction


def test_parameter_grid() -> None:
    # Every mode, threshold mode, patience and cooldown on one fixed, varied sequence, so
    # that an off-by-one anywhere fails deterministically (hypothesis samples the rest).
    rng = np.random.default_rng(2024)
    values = [float(v) for v in rng.choice([3.0, 2.0, 1.0, 1.0, 0.5, -1.0], size=40)]
    values += [math.nan, 0.5, 0.5, math.inf, -math.inf, 0.25, 7.0, 7.0, 7.0, 7.0, -math.inf]
    values += [1.0] * 10
    for mode, threshold_mode, patience, cooldown, threshold in itertools.product(
        ["min", "max"], ["rel", "abs"], range(5), range(3), [0.0, 0.1]
    ):
        kwargs = {
            "mode": mode,
            "factor": 0.5,
            "patience": patience,
            "threshold": threshold,
            "threshold_mode": threshold_mode,
            "cooldown": cooldown,
        }
        got = run_torch([1.0], values, 0.01, kwargs)
        want = run_lrlab([tn.ReduceLROnPlateau(lr=1.0, min_lr=0.01, **kwargs)], values)
        assert_same_rows(got, want, kwargs)


@pytest.mark.parametrize(
    ("mode", "threshold_mode", "boundary", "better"),
    [
        # best = 2.0, threshold = 0.25: the metric must beat these bounds strictly
        ("min", "rel", 2.0 * (1.0 - 0.25), -math.inf),
        ("min", "abs", 2.0 - 0.25, -math.inf),
        ("max", "rel", 2.0 * (0.25 + 1.0), math.inf),
        ("max", "abs", 2.0 + 0.25, math.inf),
    ],
)
def test_threshold_boundaries(
    mode: str, threshold_mode: str, boundary: float, better: float
) -> None:
    just_better = math.nextafter(boundary, better)
    values = [2.0, boundary, boundary, just_better, just_better, just_better]
    kwargs = {
        "mode": mode,
        "factor": 0.5,
        "patience": 1,
        "threshold": 0.25,
        "threshold_mode": threshold_mode,
    }
    got = run_torch([1.0], values, 0.0, kwargs)
    want = run_lrlab([tn.ReduceLROnPlateau(lr=1.0, **kwargs)], values)
    assert_same_rows(got, want, kwargs)
    # Exactly at the bound is no improvement (2 bad -> halved); one ulp past it is, and
    # then repeating it is not (2 bad -> halved again).
    assert [row[1] for row in got] == [2.0, 2.0, 2.0, just_better, just_better, just_better]
    assert [row[0][0] for row in got] == [1.0, 1.0, 0.5, 0.5, 0.5, 0.25]


@pytest.mark.parametrize(
    ("eps", "expected"),
    [
        (0.5, [1.0, 1.0, 1.0]),  # a change of exactly eps is skipped ...
        (math.nextafter(0.5, 0.0), [1.0, 0.5, 0.5]),  # ... one ulp more is made (once)
        (0.0, [1.0, 0.5, 0.25]),
    ],
)
def test_eps_boundary(eps: float, expected: list[float]) -> None:
    kwargs = {"factor": 0.5, "patience": 0, "eps": eps}
    values = [1.0, 1.0, 1.0]
    got = run_torch([1.0], values, 0.0, kwargs)
    assert_same_rows(got, run_lrlab([tn.ReduceLROnPlateau(lr=1.0, **kwargs)], values), kwargs)
    assert [row[0][0] for row in got] == expected


def test_tensor_metrics() -> None:
    # torch's step() takes 0-dim tensors (float(metric)); lrlab's update does too.
    values = [torch.tensor(v, dtype=torch.float64) for v in [3.0, 2.0, 2.0, 2.5, 2.0, 2.0]]
    got = run_torch([0.1], values, 0.0, {"patience": 1})
    want = run_lrlab([lrlab.plateau(init=0.1, patience=1)], values)
    assert_same_rows(got, want, "tensors")
    assert got[-1][0] == [0.1 * 0.1 * 0.1]


# --- warmup, then plateau ---------------------------------------------------------------

WARMUP_STEPS = 5


def warmup_then_plateau() -> lrlab.Schedule:
    return lrlab.join(
        [
            lrlab.linear(init=0.001, end=0.1, steps=WARMUP_STEPS),
            lrlab.plateau(init=0.1, factor=0.5, patience=2),
        ],
        at=[WARMUP_STEPS],
    )


def check_warmup_then_plateau(metric_values: list[float]) -> list[float]:
    """lrlab's lr at steps 0 .. len(metric_values), checked against torch; returned."""
    s = warmup_then_plateau()
    state = s.initial_state()
    lrlab_lrs = [s.lr(state)]
    for value in metric_values:
        state = s.update(state, value)
        lrlab_lrs.append(s.lr(state))
        if state.step == WARMUP_STEPS:
            # the warmup's metrics were not seen: the plateau starts from scratch
            assert (state.lr, state.best, state.num_bad_epochs, state.cooldown_counter) == (
                0.1,
                math.inf,
                0,
                0,
            )

    # Steps 0..4: torch's LinearLR warmup of lr 0.1 from 1% (closed form vs recursion).
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1, momentum=0.9)
    warmup = lr_scheduler.LinearLR(optimizer, start_factor=0.01, total_iters=WARMUP_STEPS)
    torch_warmup = []
    for _ in range(min(WARMUP_STEPS, len(lrlab_lrs))):
        torch_warmup.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        warmup.step()
    np.testing.assert_allclose(lrlab_lrs[:WARMUP_STEPS], torch_warmup, rtol=1e-12, atol=0)

    # From step 5 on: a ReduceLROnPlateau started at lr 0.1 and fed the later metrics.
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1, momentum=0.9)
    plateau = lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=2)
    torch_plateau = [optimizer.param_groups[0]["lr"]]
    for value in metric_values[WARMUP_STEPS:]:
        plateau.step(value)
        torch_plateau.append(optimizer.param_groups[0]["lr"])
    assert lrlab_lrs[WARMUP_STEPS:] == torch_plateau[: len(lrlab_lrs) - WARMUP_STEPS]
    if len(metric_values) > WARMUP_STEPS:
        assert (state.best, state.num_bad_epochs, state.cooldown_counter) == (
            plateau.best,
            plateau.num_bad_epochs,
            plateau.cooldown_counter,
        )
    return lrlab_lrs


def test_warmup_then_plateau_golden() -> None:
    # The warmup sees -inf and NaN (which would pin best at -inf): ignored. Then best=1.0,
    # 3 bad steps > patience 2 -> 0.05, 3 more -> 0.025, 0.5 improves, 3 bad (0.5 is no
    # improvement on 0.5) -> 0.0125.
    warmup_metrics = [-math.inf, math.nan, 1.0, 0.5, 0.1]
    later = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.6, 0.7, 0.5]
    got = check_warmup_then_plateau(warmup_metrics + later)
    assert got[0] == pytest.approx(0.001, rel=1e-15)
    assert got[WARMUP_STEPS:] == [0.1] * 4 + [0.05] * 3 + [0.025] * 4 + [0.0125]


@settings(max_examples=100, deadline=None)
@given(metric_values=metrics)
def test_warmup_then_plateau(metric_values: list[float]) -> None:
    check_warmup_then_plateau(metric_values)


@pytest.mark.parametrize(
    ("metric", "error"), [("abc", ValueError), (None, TypeError), ([1.0], TypeError)]
)
def test_a_bad_metric_raises_what_torch_raises(metric: object, error: type) -> None:
    import lrlab.torch as ours

    for kind in (torch.optim.lr_scheduler.ReduceLROnPlateau, ours.ReduceLROnPlateau):
        optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
        with pytest.raises(error):
            kind(optimizer).step(metric)


def test_a_numeric_string_metric_is_taken_as_torch_takes_it() -> None:
    import lrlab.torch as ours

    def lrs(kind: type) -> list[float]:
        optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
        scheduler = kind(optimizer, patience=0)
        for value in ("1.0", "1.0", "0.5", "0.5", "0.5"):
            scheduler.step(value)
        return [g["lr"] for g in optimizer.param_groups]

    assert lrs(ours.ReduceLROnPlateau) == lrs(torch.optim.lr_scheduler.ReduceLROnPlateau)
