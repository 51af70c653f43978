"""The LR range test: exact restore, validation, cycling, NaN, lr sequences, suggestions."""

from __future__ import annotations

import copy
import json
import math
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pytest
import torch

from lrlab.lab.find_lr import (
    METHODS,
    FindLRResult,
    Suggestion,
    find_lr,
    find_lr_for,
    lr_sequence,
    suggest,
)
from lrlab.lab.train import RunResult, TrainConfig, train

Batch = tuple[torch.Tensor, torch.Tensor]
CE = torch.nn.functional.cross_entropy


def _data(n: int = 256, batch: int = 32, seed: int = 0) -> list[Batch]:
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 10, generator=gen)
    y = (x[:, 0] - x[:, 1] > 0).long() + (x[:, 2] > 1).long()
    return [(x[i : i + batch], y[i : i + batch]) for i in range(0, n, batch)]


def _model(dropout: float = 0.0) -> torch.nn.Module:
    torch.manual_seed(1)
    return torch.nn.Sequential(
        torch.nn.Linear(10, 16),
        torch.nn.BatchNorm1d(16),
        torch.nn.ReLU(),
        torch.nn.Dropout(dropout),
        torch.nn.Linear(16, 3),
    )


def _constant_loss(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """A loss with zero gradient and value 1: the test never diverges."""
    del y
    return (out * 0.0).sum() + 1.0


OPTIMIZERS: dict[str, Callable[[torch.nn.Module], torch.optim.Optimizer]] = {
    "sgd-momentum": lambda m: torch.optim.SGD(
        m.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4
    ),
    "adam": lambda m: torch.optim.Adam(m.parameters(), lr=1e-3),
    "adam-two-groups": lambda m: torch.optim.Adam(
        [
            {"params": list(m.parameters())[:2], "lr": 1e-3},
            {"params": list(m.parameters())[2:], "lr": 3e-4, "weight_decay": 0.01},
        ]
    ),
}


def _assert_same(a: Any, b: Any) -> None:
    """Nested dicts/lists of tensors and numbers are bit-identical."""
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor)
        assert a.dtype == b.dtype
        assert a.shape == b.shape
        assert torch.equal(a, b)
    elif isinstance(a, dict):
        assert isinstance(b, dict)
        assert a.keys() == b.keys()
        for key in a:
            _assert_same(a[key], b[key])
    elif isinstance(a, list | tuple):
        assert isinstance(b, list | tuple)
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _assert_same(x, y)
    else:
        both_nan = isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b)
        assert a == b or both_nan, (a, b)


# --- exact restore --------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(OPTIMIZERS))
def test_model_optimizer_and_grads_are_bit_identical_after(kind: str) -> None:
    model = _model(dropout=0.1)
    optimizer = OPTIMIZERS[kind](model)
    batches = _data()
    for x, y in batches[:3]:  # some optimizer state and BN statistics to keep
        optimizer.zero_grad()
        CE(model(x), y).backward()  # type: ignore[no-untyped-call]
        optimizer.step()
    CE(model(batches[3][0]), batches[3][1]).backward()  # type: ignore[no-untyped-call]
    model.eval()
    model.get_submodule("3").train()  # a mix of modes must come back as it was
    twin_model = copy.deepcopy(model)
    twin_optimizer = OPTIMIZERS[kind](twin_model)
    twin_optimizer.load_state_dict(copy.deepcopy(optimizer.state_dict()))
    params = list(model.parameters())
    state_before = copy.deepcopy(model.state_dict())
    optimizer_before = copy.deepcopy(optimizer.state_dict())
    grads_before = [p.grad.clone() for p in params if p.grad is not None]
    modes_before = [m.training for m in model.modules()]
    lrs_before = [g["lr"] for g in optimizer.param_groups]

    result = find_lr(model, optimizer, CE, batches, steps=40, end=100.0)

    assert len(result.lrs) >= 10
    assert all(a is b for a, b in zip(params, model.parameters(), strict=True))
    _assert_same(model.state_dict(), state_before)
    _assert_same(optimizer.state_dict(), optimizer_before)
    _assert_same([p.grad for p in params], grads_before)
    assert [m.training for m in model.modules()] == modes_before
    assert [g["lr"] for g in optimizer.param_groups] == lrs_before
    assert all(a is b for a, b in zip(params, optimizer.param_groups[0]["params"], strict=False))
    # ... and training goes on exactly as if the test had never run.
    model.train()
    twin_model.train()
    for (x, y), opt, net in [
        (batches[5], optimizer, model),
        (batches[5], twin_optimizer, twin_model),
    ]:
        torch.manual_seed(7)
        opt.zero_grad()
        CE(net(x), y).backward()  # type: ignore[no-untyped-call]
        opt.step()
    _assert_same(model.state_dict(), twin_model.state_dict())
    _assert_same(optimizer.state_dict(), twin_optimizer.state_dict())


def test_random_state_is_restored_and_the_test_runs_in_train_mode() -> None:
    model = _model(dropout=0.5)
    model.eval()
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(*[torch.cat(t) for t in zip(*_data(), strict=True)]),
        batch_size=32,
        shuffle=True,  # draws from torch's global generator each pass
    )
    modes = []

    def loss_fn(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        modes.append(model.training)
        return CE(out, y)

    torch.manual_seed(123)
    rng = torch.get_rng_state()
    np_state: Any = np.random.get_state()  # noqa: NPY002 - the legacy global state
    py_state = random.getstate()
    find_lr(model, torch.optim.SGD(model.parameters(), lr=0.1), loss_fn, loader, steps=20)
    assert torch.equal(torch.get_rng_state(), rng)
    np_now: Any = np.random.get_state()  # noqa: NPY002
    assert np_now[1].tolist() == np_state[1].tolist()
    assert random.getstate() == py_state
    assert set(modes) == {True}
    assert not model.training


def test_restores_even_when_the_loss_function_raises() -> None:
    model, batches = _model(), _data()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    before = copy.deepcopy(model.state_dict())
    rng = torch.get_rng_state()
    calls = 0

    def loss_fn(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        nonlocal calls
        calls += 1
        if calls == 6:
            raise RuntimeError("boom")
        return CE(out, y)

    with pytest.raises(RuntimeError, match="boom"):
        find_lr(model, optimizer, loss_fn, batches, steps=20)
    _assert_same(model.state_dict(), before)
    assert optimizer.state_dict()["state"] == {}
    assert optimizer.param_groups[0]["lr"] == 0.1
    assert all(p.grad is None for p in model.parameters())
    assert torch.equal(torch.get_rng_state(), rng)


# --- validation -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"start": 0.0}, "find_lr: start must be > 0, got 0.0"),
        ({"start": -1e-3}, "find_lr: start must be > 0, got -0.001"),
        ({"start": 1.0, "end": 1.0}, r"find_lr: end must be greater than start \(1.0\), got 1.0"),
        ({"start": 1.0, "end": 0.1}, r"find_lr: end must be greater than start \(1.0\), got 0.1"),
        ({"end": math.inf}, "find_lr: end must be finite, got inf"),
        ({"steps": 5}, "find_lr: steps must be an int >= 10, got 5"),
        ({"smooth": 1.0}, "find_lr: smooth must be >= 0 and < 1, got 1.0"),
        ({"smooth": -0.1}, "find_lr: smooth must be >= 0 and < 1, got -0.1"),
        ({"diverge": 1.0}, "find_lr: diverge must be > 1, got 1.0"),
        ({"diverge": 0.5}, "find_lr: diverge must be > 1, got 0.5"),
        ({"mode": "cos"}, "find_lr: mode must be one of 'exp', 'linear', got 'cos'"),
        ({"accumulation": 0}, "find_lr: accumulation must be a positive int, got 0"),
    ],
)
def test_bad_arguments_name_the_parameter_and_value(kwargs: dict[str, Any], message: str) -> None:
    model = _model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match=f"^{message}$"):
        find_lr(model, optimizer, CE, _data(), **kwargs)
    assert optimizer.param_groups[0]["lr"] == 0.1


@pytest.mark.parametrize(
    "loader",
    [[], iter([]), torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.zeros(0, 10)))],
    ids=["list", "iterator", "dataloader"],
)
def test_an_empty_loader_is_a_value_error(loader: Any) -> None:
    model = _model()
    before = copy.deepcopy(model.state_dict())
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(
        ValueError, match=r"^find_lr: loader must yield at least one batch, got an empty loader$"
    ):
        find_lr(model, optimizer, CE, loader)
    _assert_same(model.state_dict(), before)
    assert optimizer.param_groups[0]["lr"] == 0.1


def test_wrong_types_are_type_errors() -> None:
    model = _model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(TypeError, match=r"find_lr: steps must be an int >= 10, got 20\.0"):
        find_lr(model, optimizer, CE, _data(), steps=20.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="find_lr: loader must be an iterable of"):
        find_lr(model, optimizer, CE, 3)  # type: ignore[arg-type]
    with pytest.raises(
        TypeError, match=r"find_lr: each batch must be an \(inputs, targets\) pair, got Tensor"
    ):
        find_lr(model, optimizer, CE, [torch.zeros(4, 10)] * 3)
    with pytest.raises(TypeError, match=r"find_lr: model must be a torch\.nn\.Module, got str"):
        find_lr("model", optimizer, CE, _data())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"find_lr: optimizer must be a torch\.optim\.Optimizer"):
        find_lr(model, None, CE, _data())  # type: ignore[arg-type]
    assert optimizer.param_groups[0]["lr"] == 0.1


# --- the loader -----------------------------------------------------------------------


def test_a_short_loader_is_cycled_and_the_result_says_so() -> None:
    model, batches = _model(), _data()  # 8 batches
    result = find_lr(
        model, torch.optim.SGD(model.parameters(), lr=0.1), _constant_loss, batches, steps=30
    )
    assert result.notes == ("the loader has 8 batches; cycled it for 30 steps",)
    assert len(result.lrs) == 30
    long_enough = find_lr(
        model, torch.optim.SGD(model.parameters(), lr=0.1), CE, batches * 4, steps=30
    )
    assert long_enough.notes == ()
    accumulated = find_lr(
        model,
        torch.optim.SGD(model.parameters(), lr=0.1),
        _constant_loss,
        batches,
        steps=10,
        accumulation=3,
    )
    assert accumulated.notes == ("the loader has 8 batches; cycled it for 10 steps of 3 batches",)


def test_a_one_shot_iterator_that_runs_out_ends_the_test_with_a_reason() -> None:
    model = _model()
    result = find_lr(
        model,
        torch.optim.SGD(model.parameters(), lr=0.1),
        _constant_loss,
        iter(_data() * 2),
        steps=30,
    )
    assert result.stopped_early
    assert len(result.lrs) == 16
    assert "the loader ran out after 16 batches at step 16" in result.reason
    assert result.notes == ("the loader has 16 batches; cycled it for 17 steps",)


# --- NaN and divergence ---------------------------------------------------------------


def test_a_loss_that_is_nan_from_the_first_batch_gives_a_result_that_says_so(
    tmp_path: Path,
) -> None:
    model = _model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    before = copy.deepcopy(model.state_dict())

    def nan_loss(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return CE(out, y) * math.nan

    result = find_lr(model, optimizer, nan_loss, _data())
    assert result.lrs == result.losses == result.smoothed == ()
    assert result.stopped_early
    assert result.reason == "no finite loss: the loss was nan at step 0 (lr 1e-07)"
    assert result.suggestion is None
    assert set(result.suggestions) == set(METHODS)
    for method, chosen in result.suggestions.items():
        assert chosen == Suggestion(
            method=method,
            lr=None,
            index=None,
            reason="too few points (0) to suggest an lr; at least 5 are needed",
        )
    json.dumps(result.to_dict(), allow_nan=False)
    result.plot(path=tmp_path / "nan.png")
    assert (tmp_path / "nan.png").stat().st_size > 0
    _assert_same(model.state_dict(), before)
    assert "0 points" in repr(result)


def test_an_infinite_loss_later_ends_the_test_and_keeps_the_finite_points() -> None:
    model = _model()
    calls = 0

    def loss_fn(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        nonlocal calls
        calls += 1
        return CE(out, y) * (math.inf if calls > 12 else 1.0)

    result = find_lr(model, torch.optim.SGD(model.parameters(), lr=0.1), loss_fn, _data())
    assert len(result.lrs) == 12
    assert result.stopped_early
    assert result.reason.startswith("the loss was inf at step 12 (lr ")


def test_a_diverging_loss_stops_the_test() -> None:
    torch.manual_seed(0)
    x = torch.randn(512, 4)
    y = x @ torch.tensor([1.0, -2.0, 0.5, 3.0])
    batches = [(x[i : i + 32], y[i : i + 32]) for i in range(0, 512, 32)]
    model = torch.nn.Linear(4, 1)

    def mse(out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.mse_loss(out.squeeze(1), target)

    result = find_lr(model, torch.optim.SGD(model.parameters(), lr=0.1), mse, batches, end=100.0)
    assert result.stopped_early
    assert "passed 4 x the best" in result.reason
    assert len(result.lrs) < 100
    best = np.minimum.accumulate(result.smoothed)
    assert result.smoothed[-1] > 4 * best[-1]
    assert all(np.asarray(result.smoothed[:-1]) <= 4 * best[:-1])
    assert result.suggestion is not None
    assert 1e-3 < result.suggestion < 1.0


# --- the lr sequence, smoothing and accumulation --------------------------------------


@pytest.mark.parametrize("mode", ["exp", "linear"])
def test_every_param_group_gets_the_exact_lr_of_each_step(mode: Literal["exp", "linear"]) -> None:
    model = _model()
    optimizer = OPTIMIZERS["adam-two-groups"](model)
    seen: list[list[float]] = []

    def loss_fn(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        seen.append([g["lr"] for g in optimizer.param_groups])
        return _constant_loss(out, y)

    start, end, steps = 1e-6, 3.0, 37
    result = find_lr(
        model, optimizer, loss_fn, _data(), start=start, end=end, steps=steps, mode=mode
    )
    if mode == "exp":
        expected = [start * (end / start) ** (i / (steps - 1)) for i in range(steps)]
    else:
        expected = [start + (end - start) * i / (steps - 1) for i in range(steps)]
    assert list(result.lrs) == expected == lr_sequence(start, end, steps, mode)
    assert seen == [[lr, lr] for lr in expected]
    assert not result.stopped_early
    assert result.reason == "ran all 37 steps"
    assert math.isclose(result.lrs[-1], end, rel_tol=1e-12)
    assert [g["lr"] for g in optimizer.param_groups] == [1e-3, 3e-4]
    assert result.settings == {
        "start": start,
        "end": end,
        "steps": steps,
        "mode": mode,
        "smooth": 0.98,
        "diverge": 4.0,
        "accumulation": 1,
    }


def test_accumulation_takes_one_lr_and_one_optimizer_step_per_k_batches() -> None:
    model = _model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    seen: list[float] = []
    values = iter(range(1, 1000))

    def loss_fn(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        del y
        seen.append(optimizer.param_groups[0]["lr"])
        return (out * 0.0).sum() + float(next(values))  # losses 1, 2, 3, ...

    steps_taken = 0

    def count(*_: object) -> None:
        nonlocal steps_taken
        steps_taken += 1

    handle = optimizer.register_step_post_hook(count)
    try:
        result = find_lr(model, optimizer, loss_fn, _data(), steps=12, accumulation=3, diverge=1e6)
    finally:
        handle.remove()
    assert steps_taken == 12
    assert len(result.lrs) == 12
    assert seen == [lr for lr in result.lrs for _ in range(3)]
    # each recorded loss is the mean of its 3 batches' losses: 2, 5, 8, ...
    np.testing.assert_allclose(result.losses, [3 * i + 2 for i in range(12)], rtol=1e-6)


def test_accumulated_gradients_equal_the_mean_over_the_batches() -> None:
    batches = _data(batch=16)
    pair = [(torch.cat([batches[0][0], batches[1][0]]), torch.cat([batches[0][1], batches[1][1]]))]
    results = []
    for loader, k in [(batches[:2], 2), (pair, 1)]:
        torch.manual_seed(3)
        model = torch.nn.Linear(10, 3)
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        results.append(find_lr(model, opt, CE, loader, steps=10, accumulation=k, smooth=0.0))
    np.testing.assert_allclose(results[0].losses, results[1].losses, rtol=1e-5)


def test_smoothing_is_a_bias_corrected_moving_average() -> None:
    model, batches = _model(), _data()
    raw = find_lr(
        model, torch.optim.SGD(model.parameters(), lr=0.1), CE, batches, steps=20, smooth=0.0
    )
    assert raw.smoothed == raw.losses
    smooth = find_lr(
        model, torch.optim.SGD(model.parameters(), lr=0.1), CE, batches, steps=20, smooth=0.9
    )
    assert smooth.losses == raw.losses  # the model and data came back: same losses again
    average, expected = 0.0, []
    for i, loss in enumerate(smooth.losses):
        average = 0.9 * average + 0.1 * loss
        expected.append(average / (1 - 0.9 ** (i + 1)))
    np.testing.assert_allclose(smooth.smoothed, expected, rtol=1e-12)
    assert smooth.smoothed[0] == smooth.losses[0]


# --- suggestions ----------------------------------------------------------------------


def _curve() -> tuple[np.ndarray, np.ndarray]:
    """A textbook range-test curve: flat, a smooth fall, a minimum, a blow-up."""
    lrs = np.logspace(-6, 1, 71)
    x = np.log10(lrs)
    loss = 2.3 - 2.0 / (1 + np.exp(-(x + 2.5) * 3)) + np.where(x > -0.5, (x + 0.5) ** 2 * 4, 0)
    return lrs, loss


def test_the_suggestions_on_a_textbook_curve() -> None:
    lrs, loss = _curve()
    found = suggest(lrs, loss)
    assert list(found) == list(METHODS)
    steepest = found["steepest"]
    assert steepest.index is not None
    assert steepest.lr == pytest.approx(10**-2.5)
    assert "falls fastest" in steepest.reason
    low = int(np.argmin(loss))
    assert found["minimum/10"].index == low
    assert found["minimum/10"].lr == pytest.approx(lrs[low] / 10)
    valley = found["valley"]
    assert valley.index is not None
    assert valley.lr is not None
    assert 0 < valley.index < low
    # two thirds down the descent: between the steepest point and the minimum
    assert steepest.lr is not None
    assert steepest.lr < valley.lr < lrs[low]


def test_no_suggestion_when_the_loss_never_falls() -> None:
    lrs = np.logspace(-5, 0, 30)
    found = suggest(lrs, np.linspace(1.0, 3.0, 30))
    assert {m: s.lr for m, s in found.items()} == dict.fromkeys(METHODS)
    assert (
        found["steepest"].reason
        == "the smoothed loss never falls (away from the edges of the curve)"
    )
    assert found["minimum/10"].reason.startswith(
        "the smoothed loss is lowest at the first lr (1e-05)"
    )
    assert found["valley"].reason == "the smoothed loss has no descent"


def test_too_few_points_and_bad_curves() -> None:
    found = suggest([1e-3, 1e-2, 1e-1], [1.0, 0.5, 0.2])
    assert all(s.lr is None and "too few points (3)" in s.reason for s in found.values())
    with pytest.raises(ValueError, match="suggest: lrs and smoothed must be 1-d and of one length"):
        suggest([1e-3, 1e-2], [1.0])
    with pytest.raises(ValueError, match="suggest: lrs must be finite and > 0 and smoothed finite"):
        suggest(np.logspace(-3, 0, 6), [1.0, 0.9, np.nan, 0.5, 0.4, 0.3])


# --- plot and to_dict -----------------------------------------------------------------


def _result() -> FindLRResult:
    model = _model()
    return find_lr(
        model, torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9), CE, _data(), steps=60
    )


def test_plot_draws_the_curve_and_marks_each_suggestion(tmp_path: Path) -> None:
    from matplotlib.figure import Figure

    result = _result()
    figure = result.plot(path=tmp_path / "lr.svg")
    assert isinstance(figure, Figure)
    ax = figure.axes[0]
    assert ax.get_xscale() == "log"
    labels = [str(line.get_label()) for line in ax.get_lines()]
    assert labels[:2] == ["loss", "smoothed loss"]
    marked = {label.split(":")[0] for label in labels[2:]}
    assert marked == {m for m, s in result.suggestions.items() if s.lr is not None}
    assert "steepest" in marked
    assert f"steepest: {result.suggestion:.3g}" in labels
    assert (tmp_path / "lr.svg").read_text().startswith("<?xml")
    mine = Figure()
    axes = mine.add_subplot()
    assert result.plot(ax=axes) is mine
    with pytest.raises(
        ValueError, match=r"plot: path must end in .png, .svg or .pdf, got '.*lr.txt'"
    ):
        result.plot(path=tmp_path / "lr.txt")


def test_to_dict_is_json_safe_and_complete() -> None:
    result = _result()
    data = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert data["lrs"] == list(result.lrs)
    assert data["suggestion"] == result.suggestion
    assert data["suggestions"]["steepest"]["lr"] == result.suggestion
    assert set(data["suggestions"]) == set(METHODS)
    assert data["settings"]["steps"] == 60
    assert data["stopped_early"] == result.stopped_early
    assert data["reason"] == result.reason
    assert data["notes"] == ["the loader has 8 batches; cycled it for 60 steps"]


# --- the lab: find_lr_for -------------------------------------------------------------


def test_find_lr_for_is_deterministic_and_leaves_the_global_random_state() -> None:
    config = TrainConfig(dataset="digits", model="mlp-bn", optimizer="adam", seed=3)
    torch.manual_seed(99)
    rng = torch.get_rng_state()
    first = find_lr_for(config, steps=40)
    assert torch.equal(torch.get_rng_state(), rng)
    second = find_lr_for(config, steps=40)
    assert first == second
    assert find_lr_for(TrainConfig(dataset="digits", optimizer="adam", seed=4), steps=40) != first
    assert first.notes == ("the loader has 20 batches; cycled it for 40 steps",)


def _digits(lr: float) -> RunResult:
    run = train(
        TrainConfig(
            dataset="digits",
            model="mlp-bn",
            optimizer="sgd",
            lr=lr,
            epochs=10,
            schedule="constant(value={lr})",
        )
    )
    assert run.status == "finished"
    assert len(run.epochs) == 10
    return run


def test_the_suggestion_on_digits_trains_better_than_smaller_lrs() -> None:
    """10 epochs at the suggested lr against lr/10 and lr/100 (MLP-BN, SGD, digits).

    Validation accuracy on digits (270 examples) is flat over a wide band of lrs: at
    lr/10 it ties with the suggestion here (both 0.9741 at seed 0). So the test asks for
    no worse than lr/10 give or take two examples, clearly better than lr/100, and a
    lower final training loss than both (the suggestion trains fastest).
    """
    result = find_lr_for(TrainConfig(dataset="digits", model="mlp-bn", optimizer="sgd"))
    lr = result.suggestion
    assert lr is not None
    assert 1e-3 <= lr <= 3.0
    for chosen in result.suggestions.values():
        assert chosen.lr is not None
        assert 1e-4 <= chosen.lr <= 3.0
    runs = {factor: _digits(lr * factor) for factor in (1.0, 0.1, 0.01)}
    accuracy = {f: run.epochs[-1].val_accuracy for f, run in runs.items()}
    train_loss = {f: run.epochs[-1].train_loss for f, run in runs.items()}
    assert accuracy[1.0] >= accuracy[0.1] - 2 / 270
    assert accuracy[1.0] > accuracy[0.01] + 0.02
    assert accuracy[1.0] > 0.95
    assert train_loss[1.0] < train_loss[0.1] < train_loss[0.01]
