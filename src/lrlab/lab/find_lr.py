"""The learning-rate range test: raise the lr every step, watch the loss, suggest an lr.

``find_lr(model, optimizer, loss_fn, loader)`` trains ``model`` for ``steps`` optimizer
steps while the lr of every param group follows the sweep from ``start`` to ``end``
(`lrlab.lab.sweep`), records the loss of each step and its bias-corrected moving
average, stops early when that average passes ``diverge`` times its best or a loss is
not finite, and then puts everything back exactly as it was: parameters, buffers,
gradients, the optimizer's state and param groups, the train/eval mode of every module
and torch's random state. The returned `FindLRResult` holds the curve and three named
suggestions (`lrlab.lab.suggest`); ``result.suggestion`` is the "steepest" one.

The settings are a `FindLRSettings` (its defaults are the only ones); keyword
arguments change some of them. ``find_lr_for(config)`` runs the test for a lab
`TrainConfig`, with the same data, model, optimizer and batches that
`lrlab.lab.train.train` would use for it.

>>> import torch
>>> from lrlab.lab.find_lr import find_lr
>>> _ = torch.manual_seed(0)
>>> x = torch.randn(256, 8)
>>> y = (x[:, 0] + x[:, 1] > 0).long()
>>> batches = [(x[i : i + 32], y[i : i + 32]) for i in range(0, 256, 32)]
>>> model = torch.nn.Linear(8, 2)
>>> optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
>>> before = [p.clone() for p in model.parameters()]
>>> result = find_lr(model, optimizer, torch.nn.functional.cross_entropy, batches, steps=50)
>>> result.notes
('the loader has 8 batches; cycled it for 50 steps',)
>>> all(torch.equal(a, b) for a, b in zip(before, model.parameters()))
True
>>> optimizer.param_groups[0]["lr"], optimizer.state_dict()["state"]
(0.1, {})
>>> sorted(result.suggestions)
['minimum/10', 'steepest', 'valley']
>>> 1e-4 < result.suggestion < 10
True
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

import torch

from lrlab.lab.suggest import DEFAULT_METHOD, Suggestion, suggest
from lrlab.lab.sweep import FindLRSettings, Mode

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from typing_extensions import Unpack

    from lrlab.lab.config import TrainConfig
    from lrlab.lab.data import Dataset

LossFn = Callable[[Any, Any], torch.Tensor]


class SettingsChanges(TypedDict, total=False):
    """Keyword arguments of `find_lr` and `find_lr_for`: `FindLRSettings` fields to change."""

    start: float
    end: float
    steps: int
    mode: Mode
    smooth: float
    diverge: float
    accumulation: int


@dataclass(frozen=True, kw_only=True, repr=False)
class FindLRResult:
    """The range test's curve, why it ended, and the suggestions.

    ``lrs[i]`` is the lr of optimizer step ``i`` and ``losses[i]`` the (mean over
    accumulated batches) loss computed in that step, before its update; ``smoothed[i]``
    is the bias-corrected moving average of ``losses[: i + 1]``. Only finite losses are
    kept: a step whose loss is NaN or infinite ends the test and is named in ``reason``.
    """

    lrs: tuple[float, ...]
    losses: tuple[float, ...]
    smoothed: tuple[float, ...]
    stopped_early: bool
    reason: str
    suggestions: dict[str, Suggestion]
    notes: tuple[str, ...] = ()
    settings: FindLRSettings = field(default_factory=FindLRSettings)
    """What the test ran with."""

    @property
    def suggestion(self) -> float | None:
        """The lr that the default method ("steepest") suggests, or None."""
        chosen = self.suggestions.get(DEFAULT_METHOD)
        return None if chosen is None else chosen.lr

    def __repr__(self) -> str:
        span = f"lr {self.lrs[0]:.3g}..{self.lrs[-1]:.3g}" if self.lrs else "no finite loss"
        best = self.suggestion
        shown = "None" if best is None else f"{best:.4g}"
        return (
            f"FindLRResult({len(self.lrs)} points, {span}, suggestion={shown}, "
            f"stopped_early={self.stopped_early})"
        )

    def to_dict(self) -> dict[str, Any]:
        """The result as a JSON-safe dict (every number finite, or None)."""
        return {
            "lrs": list(self.lrs),
            "losses": list(self.losses),
            "smoothed": list(self.smoothed),
            "stopped_early": self.stopped_early,
            "reason": self.reason,
            "suggestion": self.suggestion,
            "suggestions": {name: s.to_dict() for name, s in self.suggestions.items()},
            "notes": list(self.notes),
            "settings": self.settings.to_dict(),
        }

    def plot(self, ax: Axes | None = None, path: str | Path | None = None) -> Figure:
        """Draw loss against lr (log x axis) with each suggestion marked; return the Figure.

        ``ax``: draw into these axes; ``path``: also save the figure (.png, .svg or .pdf).
        Drawn by `lrlab.plot.find_lr_figure` (matplotlib is imported then).
        """
        from lrlab.plot import find_lr_figure

        return find_lr_figure(
            self.lrs,
            self.losses,
            self.smoothed,
            {name: s.lr for name, s in self.suggestions.items()},
            title=f"LR range test: {self.reason}",
            ax=ax,
            save=path,
        )


def _length(loader: object) -> int | None:
    """``len(loader)`` where it has one (an iterable-style DataLoader may not)."""
    try:
        return len(loader)  # type: ignore[arg-type]
    except TypeError:
        return None


class _LoaderEnded(Exception):
    """A loader that could not be iterated again (a one-shot iterator)."""


class _Cycle:
    """Batches from ``loader``, starting it over (and counting the passes) when it ends."""

    __slots__ = ("_count", "_iterator", "_loader", "passes", "per_pass")

    def __init__(self, loader: Iterable[Any]) -> None:
        self._loader = loader
        try:
            self._iterator: Iterator[Any] = iter(loader)
        except TypeError:
            raise TypeError(
                "find_lr: loader must be an iterable of (inputs, targets) batches, "
                f"got {type(loader).__name__}"
            ) from None
        self._count = 0
        self.passes = 1
        self.per_pass: int | None = None

    def next(self) -> tuple[Any, Any]:
        try:
            batch = next(self._iterator)
        except StopIteration:
            if self._count == 0:
                raise ValueError(
                    "find_lr: loader must yield at least one batch, got an empty loader"
                ) from None
            if self.per_pass is None:
                self.per_pass = self._count
            self._iterator = iter(self._loader)
            self._count = 0
            self.passes += 1
            try:
                batch = next(self._iterator)
            except StopIteration:
                raise _LoaderEnded from None
        self._count += 1
        try:
            inputs, targets = batch
        except (TypeError, ValueError):
            raise TypeError(
                f"find_lr: each batch must be an (inputs, targets) pair, got {type(batch).__name__}"
            ) from None
        return inputs, targets


def _tensors(model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> list[torch.Tensor]:
    """Every parameter of the model and the optimizer, each once."""
    seen: dict[int, torch.Tensor] = {}
    for p in model.parameters():
        seen.setdefault(id(p), p)
    for group in optimizer.param_groups:
        for p in group["params"]:
            seen.setdefault(id(p), p)
    return list(seen.values())


class _Snapshot:
    """Everything the test changes, copied once before it, and put back by `restore`."""

    def __init__(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> None:
        self.model, self.optimizer = model, optimizer
        self.state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        self.optimizer_state = copy.deepcopy(optimizer.state_dict())
        self.tensors = _tensors(model, optimizer)
        self.grads = [None if p.grad is None else p.grad.detach().clone() for p in self.tensors]
        self.modes = [(m, m.training) for m in model.modules()]
        self.rng = torch.get_rng_state()
        cuda = torch.cuda.is_initialized()  # type: ignore[no-untyped-call]
        self.cuda_rng = torch.cuda.get_rng_state_all() if cuda else None

    def restore(self) -> None:
        self.model.load_state_dict(self.state)
        for p, grad in zip(self.tensors, self.grads, strict=True):
            p.grad = grad
        self.optimizer.load_state_dict(self.optimizer_state)
        for module, training in self.modes:
            module.training = training
        torch.set_rng_state(self.rng)
        if self.cuda_rng is not None:
            torch.cuda.set_rng_state_all(self.cuda_rng)


@dataclass
class _Curve:
    lrs: list[float] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    smoothed: list[float] = field(default_factory=list)
    stopped_early: bool = False
    reason: str = ""
    attempted: int = 0


def _run(
    model: torch.nn.Module,
    *,
    optimizer: torch.optim.Optimizer,
    loss_fn: LossFn,
    cycle: _Cycle,
    schedule: list[float],
    smooth: float,
    diverge: float,
    accumulation: int,
) -> _Curve:
    """The test itself: per step one lr, ``accumulation`` batches, one optimizer step."""
    curve = _Curve(reason=f"ran all {len(schedule)} steps")
    model.train()
    groups = optimizer.param_groups
    beta = smooth
    average, best = 0.0, math.inf
    for i, lr in enumerate(schedule):
        curve.attempted = i + 1
        for group in groups:
            if isinstance(group["lr"], torch.Tensor):
                group["lr"].fill_(lr)
            else:
                group["lr"] = lr
        optimizer.zero_grad(set_to_none=True)
        try:
            if accumulation == 1:
                inputs, targets = cycle.next()
                loss = loss_fn(model(inputs), targets)
                loss.backward()  # type: ignore[no-untyped-call]
                value = loss.item()
            else:
                parts = []
                for _ in range(accumulation):
                    inputs, targets = cycle.next()
                    loss = loss_fn(model(inputs), targets) / accumulation
                    loss.backward()  # type: ignore[no-untyped-call]
                    parts.append(loss.detach())
                value = torch.stack(parts).sum().item()
        except _LoaderEnded:
            curve.stopped_early = True
            curve.reason = (
                f"the loader ran out after {cycle.per_pass} batches at step {i} and could "
                "not be started over (a one-shot iterator?); pass a list or a DataLoader"
            )
            break
        if not math.isfinite(value):
            curve.stopped_early = True
            curve.reason = f"the loss was {value} at step {i} (lr {lr:.3g})"
            break
        average = beta * average + (1.0 - beta) * value
        current = average / (1.0 - beta ** (i + 1))
        if not math.isfinite(current):
            curve.stopped_early = True
            curve.reason = f"the smoothed loss overflowed at step {i} (lr {lr:.3g})"
            break
        curve.lrs.append(lr)
        curve.losses.append(value)
        curve.smoothed.append(current)
        best = min(best, current)
        if best > 0 and current > diverge * best:
            curve.stopped_early = True
            curve.reason = (
                f"the smoothed loss {current:.4g} passed {diverge:g} x the best "
                f"{best:.4g} at step {i} (lr {lr:.3g})"
            )
            break
        optimizer.step()
    return curve


def find_lr(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    loss_fn: LossFn,
    loader: Iterable[Any],
    settings: FindLRSettings | None = None,
    **changes: Unpack[SettingsChanges],
) -> FindLRResult:
    """Run the LR range test on ``model`` and put everything back exactly afterwards.

    ``settings``: a `FindLRSettings` (default: its defaults); keyword arguments
    (``start``, ``end``, ``steps``, ``mode``, ``smooth``, ``diverge``, ``accumulation``)
    change those fields. ``loader``: any re-iterable of ``(inputs, targets)`` batches (a
    DataLoader, a list); when it has fewer than ``steps * accumulation`` batches it is
    started over, and ``notes`` says so. ``loss_fn(model(inputs), targets)`` must give a
    scalar tensor. Step ``i`` sets the lr of every param group to ``settings.lrs()[i]``,
    sums the gradients of ``accumulation`` batches (each loss divided by
    ``accumulation``) and takes one optimizer step. ``smooth`` is the moving average's
    beta (0 turns smoothing off). The test stops early when the smoothed loss passes
    ``diverge`` times the best smoothed loss so far (checked while that best is
    positive) or when a loss is NaN or infinite.

    The model is put in train mode for the test. Whatever happens, even an error, the
    model's state dict, the gradients, the optimizer's state dict (its param groups'
    lrs included), each module's train/eval mode and torch's random state (and CUDA's,
    when CUDA is in use) are restored bit for bit. Python's and numpy's random states
    are not touched.
    """
    chosen = (settings if settings is not None else FindLRSettings()).replace(**changes)
    _check(model, optimizer, loss_fn, loader)
    snapshot = _Snapshot(model, optimizer)
    cycle = _Cycle(loader)
    try:
        curve = _run(
            model,
            optimizer=optimizer,
            loss_fn=loss_fn,
            cycle=cycle,
            schedule=chosen.lrs(),
            smooth=chosen.smooth,
            diverge=chosen.diverge,
            accumulation=chosen.accumulation,
        )
    finally:
        snapshot.restore()
    notes = []
    if cycle.passes > 1:
        each = f" of {chosen.accumulation} batches" if chosen.accumulation > 1 else ""
        notes.append(
            f"the loader has {cycle.per_pass} batches; cycled it for {curve.attempted} steps{each}"
        )
    return FindLRResult(
        lrs=tuple(curve.lrs),
        losses=tuple(curve.losses),
        smoothed=tuple(curve.smoothed),
        stopped_early=curve.stopped_early,
        reason=curve.reason if curve.lrs else f"no finite loss: {curve.reason}",
        suggestions=suggest(curve.lrs, curve.smoothed),
        notes=tuple(notes),
        settings=chosen,
    )


def _check(model: object, optimizer: object, loss_fn: object, loader: object) -> None:
    """`find_lr`'s model, optimizer, loss and loader, checked before anything is touched."""
    name = "find_lr"
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"{name}: model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(
            f"{name}: optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}"
        )
    if not callable(loss_fn):
        raise TypeError(f"{name}: loss_fn must be callable, got {type(loss_fn).__name__}")
    if _length(loader) == 0:
        raise ValueError(f"{name}: loader must yield at least one batch, got an empty loader")


def find_lr_for(
    config: TrainConfig,
    settings: FindLRSettings | None = None,
    *,
    data: Dataset | None = None,
    **changes: Unpack[SettingsChanges],
) -> FindLRResult:
    """`find_lr` for a lab config: its data, model, optimizer, batch size and seed.

    Builds exactly what `lrlab.lab.train.train` builds for ``config`` (``config.lr`` is
    replaced by the test's lrs), draws the training split's minibatches as the trainer
    does (`lrlab.lab.batches.Minibatches`: ``config.batch_size``, a new order each pass,
    seeded by ``config.seed``) and uses cross-entropy. ``settings`` and keyword
    arguments as for `find_lr`. The same config gives the same result; torch's global
    random state is left as it was.

    >>> from lrlab.lab.config import TrainConfig
    >>> result = find_lr_for(TrainConfig(dataset="digits", model="mlp-bn"), steps=30)
    >>> len(result.lrs) > 10, result.suggestion is not None
    (True, True)
    """
    from lrlab.lab.batches import Minibatches
    from lrlab.lab.data import load
    from lrlab.lab.models import build_for, check_model
    from lrlab.lab.train import optimizer_for

    chosen = (settings if settings is not None else FindLRSettings()).replace(**changes)
    saved_rng = torch.get_rng_state()
    threads = torch.get_num_threads()
    torch.set_num_threads(config.threads)  # as `train` does: the same numbers everywhere
    try:
        data = data if data is not None else load(config.dataset, seed=config.seed)
        check_model(config.model, data, config.batch_size, seed=config.seed)
        torch.manual_seed(config.seed)
        model = build_for(config.model, data)
        optimizer = optimizer_for(config, model)
        loader = Minibatches(
            torch.from_numpy(data.x_train),
            torch.from_numpy(data.y_train),
            config.batch_size,
            torch.Generator().manual_seed(config.seed),
        )
        return find_lr(model, optimizer, torch.nn.functional.cross_entropy, loader, chosen)
    finally:
        torch.set_rng_state(saved_rng)
        torch.set_num_threads(threads)
