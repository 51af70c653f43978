"""The LR range test: exact restore, validation, cycling, NaN, the lr sweep, the lab adapter.

The suggestion methods are tested in test_suggest.py, the minibatches in test_batches.py.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import random
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pytest
import torch

from lrlab.cli import build_parser, main
from lrlab.lab.config import TrainConfig
from lrlab.lab.find_lr import FindLRResult, find_lr, find_lr_for
from lrlab.lab.suggest import METHODS, Suggestion
from lrlab.lab.sweep import FindLRSettings, lr_sequence, sweep
from lrlab.lab.train import RunResult, train

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


@pytest.mark.slow
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
        ({"end": 1e200}, r"find_lr: end must be at most 1e\+10, got 1e\+200"),
        ({"start": 1e-320}, "find_lr: start must be at least 1e-300, got 1e-320"),
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
    with pytest.raises(TypeError, match=r"^find_lr: unknown setting 'stpes'; the settings are "):
        find_lr(model, optimizer, CE, _data(), stpes=20)  # type: ignore[call-arg]
    assert optimizer.param_groups[0]["lr"] == 0.1


# --- the settings ---------------------------------------------------------------------


@pytest.mark.slow
def test_settings_hold_the_defaults_and_keywords_change_them() -> None:
    assert FindLRSettings() == FindLRSettings(
        start=1e-7, end=10.0, steps=100, mode="exp", smooth=0.98, diverge=4.0, accumulation=1
    )
    model, batches = _model(), _data()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    base = FindLRSettings(steps=20, smooth=0.5)
    given = find_lr(model, opt, _constant_loss, batches, base)
    assert given.settings is base
    assert len(given.lrs) == 20
    changed = find_lr(model, opt, _constant_loss, batches, base, steps=12, mode="linear")
    assert changed.settings == FindLRSettings(steps=12, smooth=0.5, mode="linear")
    assert list(changed.lrs) == changed.settings.lrs()
    assert changed.settings.schedule()(11) == 10.0
    with pytest.raises(ValueError, match=r"^find_lr: steps must be an int >= 10, got 9$"):
        find_lr(model, opt, _constant_loss, batches, base, steps=9)
    with pytest.raises(dataclasses.FrozenInstanceError):
        base.steps = 30  # type: ignore[misc]


def test_the_cli_takes_its_defaults_and_choices_from_the_settings(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = build_parser().parse_args(["find-lr"])
    defaults = FindLRSettings()
    for f in dataclasses.fields(FindLRSettings):
        assert getattr(args, f.name) == getattr(defaults, f.name), f.name
    assert main(["find-lr", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    for shown in [
        "--start START first lr (default 1e-07)",
        "--end END last lr (default 10)",
        "--steps STEPS optimizer steps (default 100)",
        "--smooth SMOOTH loss smoothing in [0, 1) (default 0.98)",
        "--diverge DIVERGE stop at this x best loss (default 4)",
        "--accumulation ACCUMULATION batches per step (default 1)",
        "--mode {exp,linear} how the lr rises (default exp)",
    ]:
        assert shown in text


def test_importing_the_settings_loads_neither_numpy_nor_torch() -> None:
    code = (
        "import sys, lrlab.lab.sweep as s; s.FindLRSettings.steps; "
        "print(sorted(m for m in ('numpy', 'torch') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


# --- a sweep over hundreds of decades -------------------------------------------------


@pytest.mark.parametrize("mode", ["exp", "linear"])
def test_the_sweep_never_overflows_and_ends_exactly(mode: str) -> None:
    for start, end, steps in [(1e-300, 1e10, 1000), (1e-200, 1e10, 10), (1e-7, 10.0, 100)]:
        lrs = np.asarray(lr_sequence(start, end, steps, mode))
        assert np.all(np.isfinite(lrs))
        assert lrs[0] == start
        assert lrs[-1] == end
        assert np.all(np.diff(lrs) > 0)
        if mode == "exp":  # evenly spaced in log10, to the last few bits
            exact = np.linspace(math.log10(start), math.log10(end), steps)
            np.testing.assert_allclose(np.log10(lrs), exact, rtol=1e-13, atol=1e-12)
    assert sweep(1e-7, 10.0, 100, mode)(10**6) == 10.0  # past the end it holds end
    with pytest.raises(ValueError, match=r"^sweep: steps must be an int >= 2, got 1$"):
        sweep(1e-7, 10.0, 1, mode)


def test_a_sweep_over_210_decades_gives_json_with_finite_numbers(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["find-lr", "--start", "1e-200", "--end", "1e10", "--steps", "10", "--json"])
    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    data = json.loads(out, parse_constant=lambda name: pytest.fail(f"{name} in the JSON"))
    assert data["lrs"][0] == 1e-200
    assert all(math.isfinite(v) for v in data["lrs"] + data["losses"] + data["smoothed"])
    assert main(["find-lr", "--start", "1e-200", "--end", "1e200", "--json"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == "lrlab: error: find_lr: end must be at most 1e+10, got 1e+200\n"


@pytest.mark.parametrize("mode", ["exp", "linear"])
def test_the_sweep_matches_torch_lr_finder(mode: str) -> None:
    lr_finder = pytest.importorskip("torch_lr_finder.lr_finder")
    start, end, steps = 1e-7, 10.0, 100
    kind = lr_finder.ExponentialLR if mode == "exp" else lr_finder.LinearLR
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=start)
    scheduler = kind(optimizer, end_lr=end, num_iter=steps)
    theirs = []
    for i in range(steps):
        scheduler.last_epoch = i
        theirs.append(scheduler.get_lr()[0])
    np.testing.assert_allclose(lr_sequence(start, end, steps, mode), theirs, rtol=2e-15, atol=0)


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
    expected = lr_sequence(start, end, steps, mode)
    assert list(result.lrs) == expected
    assert seen == [[lr, lr] for lr in expected]
    assert (result.lrs[0], result.lrs[-1]) == (start, end)  # both ends exactly
    if mode == "exp":  # today's formula and torch-lr-finder's, to the last bits
        formula = [start * (end / start) ** (i / (steps - 1)) for i in range(steps)]
    else:
        formula = [start + (end - start) * i / (steps - 1) for i in range(steps)]
    np.testing.assert_allclose(result.lrs, formula, rtol=2e-15, atol=0)
    assert not result.stopped_early
    assert result.reason == "ran all 37 steps"
    assert [g["lr"] for g in optimizer.param_groups] == [1e-3, 3e-4]
    assert result.settings == FindLRSettings(start=start, end=end, steps=steps, mode=mode)
    assert result.to_dict()["settings"] == {
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
        ValueError,
        match=r"^find_lr_figure: cannot tell the format of '.*lr.txt': use .png, .svg or .pdf$",
    ):
        result.plot(path=tmp_path / "lr.txt")
    assert not (tmp_path / "lr.txt").exists()


@pytest.mark.slow
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


def test_find_lr_for_draws_the_trainers_batches_and_builds_its_model() -> None:
    from lrlab.lab.data import load
    from lrlab.lab.models import build_for
    from lrlab.lab.train import optimizer_for

    config = TrainConfig(dataset="digits", model="mlp-bn", optimizer="sgd", seed=2)
    found = find_lr_for(config, steps=30)
    data = load("digits", seed=2)
    x, y = torch.from_numpy(data.x_train), torch.from_numpy(data.y_train)
    shuffle = torch.Generator().manual_seed(2)
    batches = []
    while len(batches) < 30:  # the trainer's draw: a new permutation each pass
        order = torch.randperm(len(y), generator=shuffle)
        batches += [(x[order[i : i + 64]], y[order[i : i + 64]]) for i in range(0, len(y), 64)]
    threads = torch.get_num_threads()
    torch.set_num_threads(config.threads)  # as find_lr_for and train do
    try:
        torch.manual_seed(2)
        model = build_for("mlp-bn", data)
        by_hand = find_lr(model, optimizer_for(config, model), CE, batches[:30], steps=30)
    finally:
        torch.set_num_threads(threads)
    assert (found.lrs, found.losses, found.smoothed) == (
        by_hand.lrs,
        by_hand.losses,
        by_hand.smoothed,
    )


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
    accuracy = {f: run.epochs[-1]["val_accuracy"] for f, run in runs.items()}
    train_loss = {f: run.epochs[-1]["train_loss"] for f, run in runs.items()}
    assert accuracy[1.0] >= accuracy[0.1] - 2 / 270
    assert accuracy[1.0] > accuracy[0.01] + 0.02
    assert accuracy[1.0] > 0.95
    assert train_loss[1.0] < train_loss[0.1] < train_loss[0.01]
