"""Drawing schedules: `plot_lr` (matplotlib, imported only when called).

>>> import lrlab.plot
>>> fig = lrlab.plot.plot_lr(
...     ["StepLR(lr=0.1, step_size=30, gamma=0.5)", "cosine(init=0.1, steps=200, end=1e-5)"],
...     steps=200,
... )
>>> [line.get_label() for line in fig.axes[0].get_lines() if not line.get_label().startswith("_")]
['step(init=0.1, period=30, gamma=0.5)', 'cosine(init=0.1, steps=200, end=1e-05)']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, TypeAlias

import numpy as np
import numpy.typing as npt

from lrlab.schedules import Schedule
from lrlab.schedules._base import check_int
from lrlab.spec import parse

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

Curve: TypeAlias = "Schedule | str | npt.ArrayLike"
"""A schedule, a spec string, or recorded learning rates (one per step)."""

FORMATS = ("png", "svg", "pdf")
_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")
MAX_POINTS = 200_000
"""Most steps of one curve that are drawn (the rest are sampled)."""


class Drawn(NamedTuple):
    """One curve ready to draw: where it is sampled, its values, and its marks."""

    label: str
    steps: np.ndarray
    values: np.ndarray
    mark_steps: np.ndarray
    mark_values: np.ndarray


def _sample(n: int, marks: npt.ArrayLike) -> np.ndarray:
    """All steps below ``n``, or about `MAX_POINTS` of them plus those around the marks."""
    if n <= MAX_POINTS:
        return np.arange(n, dtype=np.float64)
    grid = np.round(np.linspace(0.0, n - 1.0, MAX_POINTS))
    near = np.asarray(marks, dtype=np.float64)
    return np.unique(np.concatenate([grid, np.floor(near), np.floor(near) - 1]).clip(0, n - 1))


def curves(items: Curve | Sequence[Curve] | Mapping[str, Curve], steps: int | None) -> list[Drawn]:
    """Each item as a `Drawn` curve; schedules over ``steps`` steps, arrays as they are.

    Memory is bounded: a schedule over many steps is sampled at about `MAX_POINTS`
    steps (every mark included), which is far more than a figure can show.
    """
    pairs: list[tuple[str | None, Any]]
    if isinstance(items, Mapping):
        pairs = list(items.items())
    elif isinstance(items, str | Schedule) or _numbers(items):
        pairs = [(None, items)]
    else:
        pairs = [(None, item) for item in items]  # type: ignore[union-attr]
    out = []
    for label, item in pairs:
        schedule = parse(item) if isinstance(item, str) else item
        if isinstance(schedule, Schedule):
            if steps is None:
                raise ValueError(f"plot_lr: steps is needed to draw {schedule!r}, got None")
            n = check_int("plot_lr", "steps", steps)
            marks = np.asarray(schedule.marks(n), dtype=np.float64)
            t = _sample(n, marks)
            name = label or repr(schedule)
            out.append(Drawn(name, t, schedule(t), marks, schedule(marks)))
            continue
        values = np.asarray(schedule, dtype=np.float64)
        if values.ndim != 1 or values.size == 0:
            raise ValueError(
                f"plot_lr: recorded learning rates must be a non-empty 1-d array, "
                f"got shape {values.shape}"
            )
        t = _sample(values.size, [])
        none = np.empty(0)
        name = label or f"recorded ({values.size} steps)"
        out.append(Drawn(name, t, values[t.astype(np.intp)], none, none))
    if not out:
        raise ValueError("plot_lr: nothing to draw, got no curves")
    return out


def _numbers(items: object) -> bool:
    """Whether ``items`` is one recorded curve (numbers), not a list of curves."""
    first = next(iter(items), None)  # type: ignore[call-overload]
    return isinstance(first, int | float | np.number) and not isinstance(first, bool)


def plot_lr(
    items: Curve | Sequence[Curve] | Mapping[str, Curve],
    *,
    steps: int | None = None,
    steps_per_epoch: int | None = None,
    log: bool = False,
    title: str | None = None,
    marks: bool = True,
    ax: Axes | None = None,
    save: str | Path | None = None,
) -> Figure:
    """Draw learning-rate curves and return the matplotlib Figure.

    ``items``: one curve or several (a list, or a dict from label to curve), each a
    schedule, a spec string or recorded learning rates (e.g. from a torch loop).
    ``steps``: how many steps of each schedule to draw. ``steps_per_epoch``: draw the x
    axis in epochs (``t / steps_per_epoch``). ``log``: a log y axis. ``marks``: dots at
    milestones, restarts and phase ends. ``save``: also write the figure (PNG, SVG or
    PDF, by the file's extension).
    """
    data = curves(items, steps)
    per = (
        None
        if steps_per_epoch is None
        else check_int("plot_lr", "steps_per_epoch", steps_per_epoch)
    )
    suffix = None
    if save is not None:
        suffix = Path(save).suffix.lower().lstrip(".")
        if suffix not in FORMATS:
            raise ValueError(f"plot_lr: save must end in .png, .svg or .pdf, got {str(save)!r}")
    import matplotlib as mpl

    if ax is None:
        from matplotlib.figure import Figure

        figure = Figure(figsize=(10, 5), layout="constrained")
        ax = figure.add_subplot()
    else:
        figure = ax.figure  # type: ignore[assignment]
    with mpl.rc_context({"axes.spines.top": False, "axes.spines.right": False}):
        scale = 1.0 if per is None else 1.0 / per
        for i, curve in enumerate(data):
            color = _COLORS[i % len(_COLORS)]
            values = curve.values
            if log:  # a log axis cannot show 0: leave those steps out
                values = np.where(values > 0, values, np.nan)
            ax.plot(
                curve.steps * scale,
                values,
                color=color,
                lw=1.8,
                label=curve.label,
                drawstyle="steps-post",  # the lr of step t holds for that whole step
            )
            if marks and curve.mark_steps.size:
                ax.plot(
                    curve.mark_steps * scale,
                    curve.mark_values,
                    "o",
                    color=color,
                    ms=3.5,
                    label=f"_marks {i}",
                )
        ax.set_xlabel("epoch" if per is not None else "step")
        ax.set_ylabel("learning rate")
        if log:
            ax.set_yscale("log")
        ax.grid(True, which="major", linestyle=":", linewidth=0.8, alpha=0.7)
        ax.margins(x=0.01)
        if title:
            ax.set_title(title, loc="left")
        ax.legend(frameon=False, fontsize=9)
    if save is not None:
        figure.savefig(save, format=suffix)
    return figure


def terminal_plot(
    data: Sequence[Drawn],
    *,
    width: int = 72,
    height: int = 16,
    log: bool = False,
    color: bool = False,
) -> str:
    """A text plot in Braille dots (2x4 dots a character), with y labels and a legend.

    >>> import lrlab, lrlab.plot
    >>> drawn = lrlab.plot.curves("linear(init=1.0, end=0.0, steps=10)", 11)
    >>> print(lrlab.plot.terminal_plot(drawn, width=8, height=3))
             1 ⠙⠲⣄⠀⠀⠀⠀⠀
               ⠀⠀⠈⠙⢦⣀⠀⠀
             0 ⠀⠀⠀⠀⠀⠈⠳⢤
               0     10
    [1] linear(init=1.0, end=0.0, steps=10)
    """
    width = check_int("terminal_plot", "width", width)
    height = check_int("terminal_plot", "height", height)
    cols, rows = width * 2, height * 4
    last_step = max(float(curve.steps[-1]) for curve in data)
    floor = min(
        (float(c.values[c.values > 0].min()) for c in data if (c.values > 0).any()), default=1.0
    )
    series = []
    for curve in data:
        y = np.log10(np.maximum(curve.values, floor)) if log else curve.values
        x = curve.steps
        if 1 < y.size < cols:  # fewer points than dot columns: sample between them
            x = np.linspace(x[0], x[-1], cols)
            y = np.interp(x, curve.steps, y)
        series.append((x, y))
    low = min(float(np.min(y)) for _, y in series)
    high = max(float(np.max(y)) for _, y in series)
    span = high - low or 1.0
    grid = np.zeros((len(series), rows, cols), dtype=bool)
    for k, (x, y) in enumerate(series):
        column = np.round(x * (cols - 1) / max(last_step, 1.0)).astype(np.intp)
        row = np.round((high - y) / span * (rows - 1)).astype(np.intp)
        # x is sorted, so each column's points are one run: its min, max and last row
        starts = np.flatnonzero(np.r_[True, column[1:] != column[:-1]])
        tops = np.minimum.reduceat(row, starts)
        bottoms = np.maximum.reduceat(row, starts)
        lasts = row[np.r_[starts[1:] - 1, row.size - 1]]
        previous = np.r_[tops[:1], lasts[:-1]]  # join each column to the last one's dots
        tops, bottoms = np.minimum(tops, previous), np.maximum(bottoms, previous)
        for c, top, bottom in zip(column[starts], tops, bottoms, strict=True):
            grid[k, top : bottom + 1, c] = True
    bits = (
        (0, 0, 0x01),
        (1, 0, 0x02),
        (2, 0, 0x04),
        (0, 1, 0x08),
        (1, 1, 0x10),
        (2, 1, 0x20),
        (3, 0, 0x40),
        (3, 1, 0x80),
    )

    def fmt(value: float) -> str:
        return f"1e{value:.1f}" if log else f"{value:.3g}"

    lines = []
    for r in range(height):
        label = fmt(high) if r == 0 else fmt(low) if r == height - 1 else ""
        chars = []
        for c in range(width):
            char, owner = 0x2800, -1
            for k in range(len(series)):
                for dr, dc, bit in bits:
                    if grid[k, r * 4 + dr, c * 2 + dc]:
                        char |= bit
                        owner = k
            text = chr(char)
            if color and owner >= 0:
                text = f"\x1b[{31 + owner % 6}m{text}\x1b[0m"
            chars.append(text)
        lines.append(f"{label:>10} {''.join(chars)}")
    end = f"{last_step:g}"
    lines.append(f"{'':>10} 0{end:>{width - 1}}")
    for k, curve in enumerate(data):
        lines.append(f"[{k + 1}] {curve.label}")
    return "\n".join(lines)
