"""The learning-rate range test: raise the lr every step, watch the loss, suggest an lr.

``find_lr(model, optimizer, loss_fn, loader)`` trains ``model`` for ``steps`` optimizer
steps while the lr of every param group rises from ``start`` to ``end`` (exponentially or
linearly), records the loss of each step and its bias-corrected moving average, stops
early when that average passes ``diverge`` times its best or a loss is not finite, and
then puts everything back exactly as it was: parameters, buffers, gradients, the
optimizer's state and param groups, the train/eval mode of every module and torch's
random state. The returned `FindLRResult` holds the curve and three named suggestions
("steepest", "minimum/10" and "valley"); ``result.suggestion`` is the "steepest" one.

``find_lr_for(config)`` runs the test for a lab `TrainConfig`, with the same data, model
and optimizer that `lrlab.lab.train.train` would build for it.

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

import bisect
import copy
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt
import torch

from lrlab.schedules._base import check_choice, check_float, check_int

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from lrlab.lab.data import Dataset
    from lrlab.lab.train import TrainConfig

METHODS = ("steepest", "minimum/10", "valley")
"""The suggestion methods, in the order they are computed and drawn."""
DEFAULT_METHOD = "steepest"
"""The method behind `FindLRResult.suggestion`."""
MODES = ("exp", "linear")
MIN_POINTS = 5
"""A suggestion needs at least this many finite points of the curve."""
MAX_STEPS = 10_000_000

_FORMATS = ("png", "svg", "pdf")
_COLORS = {"steepest": "#d62728", "minimum/10": "#2ca02c", "valley": "#9467bd"}

LossFn = Callable[[Any, Any], torch.Tensor]


@dataclass(frozen=True, kw_only=True)
class Suggestion:
    """One method's suggested lr, or ``lr=None`` with the reason none could be made.

    ``index`` is the point of the curve the suggestion comes from (for "minimum/10" the
    minimum, whose lr is ten times the suggestion), or None.
    """

    method: str
    lr: float | None
    index: int | None
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """The suggestion as a JSON-safe dict."""
        return {"method": self.method, "lr": self.lr, "index": self.index, "reason": self.reason}


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
    settings: dict[str, Any] = field(default_factory=dict)
    """The arguments of the test: start, end, steps, mode, smooth, diverge, accumulation."""

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
            "settings": dict(self.settings),
        }

    def plot(self, ax: Axes | None = None, path: str | Path | None = None) -> Figure:
        """Draw loss against lr (log x axis) with each suggestion marked; return the Figure.

        ``ax``: draw into these axes; ``path``: also save the figure (.png, .svg or .pdf).
        matplotlib is imported here, and only the Agg-safe ``Figure`` API is used.
        """
        suffix = None
        if path is not None:
            suffix = Path(path).suffix.lower().lstrip(".")
            if suffix not in _FORMATS:
                raise ValueError(f"plot: path must end in .png, .svg or .pdf, got {str(path)!r}")
        if ax is None:
            from matplotlib.figure import Figure

            figure = Figure(figsize=(8, 5), layout="constrained")
            ax = figure.add_subplot()
        else:
            figure = ax.figure  # type: ignore[assignment]
        ax.set_xlabel("learning rate")
        ax.set_ylabel("loss")
        ax.set_title(f"LR range test: {self.reason}", loc="left", fontsize=9)
        if self.lrs:
            lrs, smoothed = np.asarray(self.lrs), np.asarray(self.smoothed)
            ax.plot(lrs, self.losses, color="#1f77b4", alpha=0.3, lw=1.0, label="loss")
            ax.plot(lrs, smoothed, color="#1f77b4", lw=1.8, label="smoothed loss")
            ax.set_xscale("log")
            for name, chosen in self.suggestions.items():
                if chosen.lr is None:
                    continue
                y = np.interp(np.log10(chosen.lr), np.log10(lrs), smoothed)
                ax.plot(
                    [chosen.lr],
                    [y],
                    "o",
                    ms=7,
                    color=_COLORS.get(name, "black"),
                    label=f"{name}: {chosen.lr:.3g}",
                    zorder=3,
                )
            low, high = float(smoothed.min()), float(smoothed[0])
            if high > low:  # keep the diverging tail from squashing the curve
                ax.set_ylim(low - 0.1 * (high - low), high + 0.5 * (high - low))
            ax.legend(frameon=False, fontsize=9)
        else:
            ax.text(0.5, 0.5, "no finite loss", ha="center", va="center", transform=ax.transAxes)
        ax.grid(True, which="major", linestyle=":", linewidth=0.8, alpha=0.7)
        if path is not None:
            figure.savefig(path, format=suffix)
        return figure


def lr_sequence(start: float, end: float, steps: int, mode: str = "exp") -> list[float]:
    """The lrs of the test's steps: ``start * (end / start) ** (i / (steps - 1))`` ("exp")
    or ``start + (end - start) * i / (steps - 1)`` ("linear").

    >>> [f"{lr:g}" for lr in lr_sequence(1e-3, 10.0, 5)]
    ['0.001', '0.01', '0.1', '1', '10']
    >>> lr_sequence(0.0, 1.0, 3, "linear")
    [0.0, 0.5, 1.0]
    """
    last = steps - 1
    if mode == "exp":
        ratio = end / start
        return [start * ratio ** (i / last) for i in range(steps)]
    return [start + (end - start) * i / last for i in range(steps)]


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
    *,
    start: float = 1e-7,
    end: float = 10.0,
    steps: int = 100,
    mode: Literal["exp", "linear"] = "exp",
    smooth: float = 0.98,
    diverge: float = 4.0,
    accumulation: int = 1,
) -> FindLRResult:
    """Run the LR range test on ``model`` and put everything back exactly afterwards.

    ``loader``: any re-iterable of ``(inputs, targets)`` batches (a DataLoader, a list);
    when it has fewer than ``steps * accumulation`` batches it is started over, and
    ``notes`` says so. ``loss_fn(model(inputs), targets)`` must give a scalar tensor.
    Step ``i`` sets the lr of every param group to ``lr_sequence(start, end, steps,
    mode)[i]``, sums the gradients of ``accumulation`` batches (each loss divided by
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
    settings = _check(
        model,
        optimizer=optimizer,
        loss_fn=loss_fn,
        loader=loader,
        start=start,
        end=end,
        steps=steps,
        mode=mode,
        smooth=smooth,
        diverge=diverge,
        accumulation=accumulation,
    )
    schedule = lr_sequence(settings["start"], settings["end"], settings["steps"], settings["mode"])
    snapshot = _Snapshot(model, optimizer)
    cycle = _Cycle(loader)
    try:
        curve = _run(
            model,
            optimizer=optimizer,
            loss_fn=loss_fn,
            cycle=cycle,
            schedule=schedule,
            smooth=settings["smooth"],
            diverge=settings["diverge"],
            accumulation=accumulation,
        )
    finally:
        snapshot.restore()
    notes = []
    if cycle.passes > 1:
        each = f" of {accumulation} batches" if accumulation > 1 else ""
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
        settings=settings,
    )


def _check(
    model: object,
    *,
    optimizer: object,
    loss_fn: object,
    loader: object,
    start: object,
    end: object,
    steps: object,
    mode: object,
    smooth: object,
    diverge: object,
    accumulation: object,
) -> dict[str, Any]:
    """`find_lr`'s arguments, validated; the numbers as a settings dict."""
    name = "find_lr"
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"{name}: model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(
            f"{name}: optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}"
        )
    if not callable(loss_fn):
        raise TypeError(f"{name}: loss_fn must be callable, got {type(loss_fn).__name__}")
    low = check_float(name, "start", start, minimum=0.0, strict_min=True)
    high = check_float(name, "end", end, minimum=0.0, strict_min=True)
    if high <= low:
        raise ValueError(f"{name}: end must be greater than start ({start!r}), got {end!r}")
    settings = {
        "start": low,
        "end": high,
        "steps": check_int(name, "steps", steps, minimum=10, maximum=MAX_STEPS),
        "mode": check_choice(name, "mode", mode, MODES),
        "smooth": check_float(name, "smooth", smooth, minimum=0.0, maximum=1.0, strict_max=True),
        "diverge": check_float(name, "diverge", diverge, minimum=1.0, strict_min=True),
        "accumulation": check_int(name, "accumulation", accumulation, maximum=1_000_000),
    }
    if _length(loader) == 0:
        raise ValueError(f"{name}: loader must yield at least one batch, got an empty loader")
    return settings


def suggest(lrs: npt.ArrayLike, smoothed: npt.ArrayLike) -> dict[str, Suggestion]:
    """Each method's `Suggestion` for a (smoothed) loss curve over increasing lrs.

    - "steepest": the lr where the loss falls fastest against log10(lr), measured over
      a window of 2 * (n // 25) points around each point (at least 2), leaving out the
      first tenth and the last twentieth of the points (the noisy start and the
      diverging end).
    - "minimum/10": a tenth of the lr with the lowest loss.
    - "valley": the longest descent of the loss (the longest run of points, each lower
      than the one before it in the run; points that go up in between are stepped
      over), and the point two thirds of the way down it.

    >>> lrs = [10 ** (k / 4 - 5) for k in range(21)]           # 1e-5 .. 1
    >>> loss = [2.0] * 6 + [1.8, 1.4, 1.0, 0.7, 0.5, 0.4, 0.35, 0.5, 1.2] + [3.0] * 6
    >>> {m: round(s.lr, 6) for m, s in suggest(lrs, loss).items()}
    {'steepest': 0.000562, 'minimum/10': 0.001, 'valley': 0.003162}
    """
    x = np.asarray(lrs, dtype=np.float64)
    y = np.asarray(smoothed, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(
            f"suggest: lrs and smoothed must be 1-d and of one length, got shapes "
            f"{x.shape} and {y.shape}"
        )
    n = x.size
    if n < MIN_POINTS:
        why = f"too few points ({n}) to suggest an lr; at least {MIN_POINTS} are needed"
        return {m: Suggestion(method=m, lr=None, index=None, reason=why) for m in METHODS}
    if not (np.all(np.isfinite(x)) and np.all(x > 0) and np.all(np.isfinite(y))):
        raise ValueError("suggest: lrs must be finite and > 0 and smoothed finite")
    return {"steepest": _steepest(x, y), "minimum/10": _minimum(x, y), "valley": _valley(x, y)}


def _steepest(x: np.ndarray, y: np.ndarray) -> Suggestion:
    method = "steepest"
    n = x.size
    w = max(1, n // 25)  # slopes over +-w points: one batch's noise does not decide
    skip_start, skip_end = max(w, n // 10), max(w, n // 20)
    log_lr = np.log10(x)
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = (y[2 * w :] - y[: -2 * w]) / (log_lr[2 * w :] - log_lr[: -2 * w])
    inner = slope[skip_start - w : n - skip_end - w]  # slope[j] is centred on j + w
    inner = np.where(np.isfinite(inner), inner, np.inf)
    if inner.size == 0 or not inner.min() < 0:
        return Suggestion(
            method=method,
            lr=None,
            index=None,
            reason="the smoothed loss never falls (away from the edges of the curve)",
        )
    k = int(np.argmin(inner))
    index = skip_start + k
    return Suggestion(
        method=method,
        lr=float(x[index]),
        index=index,
        reason=(
            f"the smoothed loss falls fastest ({float(inner[k]):.3g} per decade of lr) "
            f"at lr {x[index]:.3g}"
        ),
    )


def _minimum(x: np.ndarray, y: np.ndarray) -> Suggestion:
    method = "minimum/10"
    index = int(np.argmin(y))
    if index == 0:
        return Suggestion(
            method=method,
            lr=None,
            index=None,
            reason=(
                f"the smoothed loss is lowest at the first lr ({x[0]:.3g}): it never "
                "fell; start lower"
            ),
        )
    return Suggestion(
        method=method,
        lr=float(x[index]) / 10,
        index=index,
        reason=f"the smoothed loss is lowest ({y[index]:.4g}) at lr {x[index]:.3g}; a tenth of it",
    )


def _longest_descent(y: np.ndarray) -> list[int]:
    """The indices of a longest strictly decreasing subsequence of ``y`` (O(n log n)).

    ``ends[k]`` is the index where the best descent of ``k + 1`` points found so far
    ends; "best" is the one ending highest, which leaves the most room to go on down.
    """
    ends: list[int] = []
    keys: list[float] = []  # -y[ends[k]], increasing in k
    before = [-1] * y.size
    for i, value in enumerate(y.tolist()):
        k = bisect.bisect_left(keys, -value)
        if k == len(ends):
            ends.append(i)
            keys.append(-value)
        else:
            ends[k] = i
            keys[k] = -value
        before[i] = ends[k - 1] if k > 0 else -1
    path = []
    i = ends[-1] if ends else -1
    while i >= 0:
        path.append(i)
        i = before[i]
    return path[::-1]


def _valley(x: np.ndarray, y: np.ndarray) -> Suggestion:
    method = "valley"
    path = _longest_descent(y)
    first, last = path[0], path[-1]
    if len(path) < 3 or last - first < 2:
        return Suggestion(
            method=method, lr=None, index=None, reason="the smoothed loss has no descent"
        )
    index = first + round((last - first) * 2 / 3)
    return Suggestion(
        method=method,
        lr=float(x[index]),
        index=index,
        reason=(
            f"the longest descent runs from lr {x[first]:.3g} to {x[last]:.3g} "
            f"({len(path)} falling points); two thirds of the way down is lr {x[index]:.3g}"
        ),
    )


class _Minibatches:
    """Shuffled minibatches of tensors, a new order each pass, as `train` draws them."""

    def __init__(
        self, x: torch.Tensor, y: torch.Tensor, batch_size: int, generator: torch.Generator
    ) -> None:
        self.x, self.y, self.batch_size, self.generator = x, y, batch_size, generator

    def __len__(self) -> int:
        return math.ceil(len(self.y) / self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        order = torch.randperm(len(self.y), generator=self.generator)
        for b in range(len(self)):
            index = order[b * self.batch_size : (b + 1) * self.batch_size]
            yield self.x[index], self.y[index]


def find_lr_for(
    config: TrainConfig,
    *,
    start: float = 1e-7,
    end: float = 10.0,
    steps: int = 100,
    mode: Literal["exp", "linear"] = "exp",
    smooth: float = 0.98,
    diverge: float = 4.0,
    accumulation: int = 1,
    data: Dataset | None = None,
) -> FindLRResult:
    """`find_lr` for a lab config: its data, model, optimizer, batch size and seed.

    Builds exactly what `lrlab.lab.train.train` builds for ``config`` (``config.lr`` is
    replaced by the test's lrs), shuffles the training split into ``config.batch_size``
    minibatches (a new order each pass, seeded by ``config.seed``) and uses
    cross-entropy. The same config gives the same result; torch's global random state is
    left as it was.

    >>> from lrlab.lab.train import TrainConfig
    >>> result = find_lr_for(TrainConfig(dataset="digits", model="mlp-bn"), steps=30)
    >>> len(result.lrs) > 10, result.suggestion is not None
    (True, True)
    """
    from lrlab.lab.data import load
    from lrlab.lab.models import build_for
    from lrlab.lab.train import optimizer_for

    saved_rng = torch.get_rng_state()
    threads = torch.get_num_threads()
    torch.set_num_threads(config.threads)  # as `train` does: the same numbers everywhere
    try:
        data = data if data is not None else load(config.dataset, seed=config.seed)
        torch.manual_seed(config.seed)
        model = build_for(config.model, data)
        optimizer = optimizer_for(config, model)
        loader = _Minibatches(
            torch.from_numpy(data.x_train),
            torch.from_numpy(data.y_train),
            config.batch_size,
            torch.Generator().manual_seed(config.seed),
        )
        return find_lr(
            model,
            optimizer,
            torch.nn.functional.cross_entropy,
            loader,
            start=start,
            end=end,
            steps=steps,
            mode=mode,
            smooth=smooth,
            diverge=diverge,
            accumulation=accumulation,
        )
    finally:
        torch.set_rng_state(saved_rng)
        torch.set_num_threads(threads)
