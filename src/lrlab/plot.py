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
from typing import TYPE_CHECKING, Any, TypeAlias

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
_MAX_POINTS = 20_000


def curves(
    items: Curve | Sequence[Curve] | Mapping[str, Curve], steps: int | None
) -> list[tuple[str, np.ndarray, list[float]]]:
    """``(label, learning rates, marks)`` for each item; arrays keep their own length."""
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
            out.append((label or repr(schedule), schedule.values(n), schedule.marks(n)))
            continue
        values = np.asarray(schedule, dtype=np.float64)
        if values.ndim != 1 or values.size == 0:
            raise ValueError(
                f"plot_lr: recorded learning rates must be a non-empty 1-d array, "
                f"got shape {values.shape}"
            )
        out.append((label or f"recorded ({values.size} steps)", values, []))
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
        for i, (label, values, where) in enumerate(data):
            color = _COLORS[i % len(_COLORS)]
            x = np.arange(values.size, dtype=np.float64)
            stride = max(1, values.size // _MAX_POINTS)
            scale = 1.0 if per is None else 1.0 / per
            ax.plot(
                x[::stride] * scale,
                values[::stride],
                color=color,
                lw=1.8,
                label=label,
                drawstyle="steps-post",  # the lr of step t holds for that whole step
            )
            if marks and where:
                at = np.asarray(where)
                ax.plot(
                    at * scale,
                    values[at.astype(np.intp)],
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
    data: Sequence[tuple[str, np.ndarray, list[float]]],
    *,
    width: int = 72,
    height: int = 16,
    log: bool = False,
    color: bool = False,
) -> str:
    """A text plot in Braille dots (2x4 dots a character), with y labels and a legend.

    >>> import lrlab, lrlab.plot
    >>> s = lrlab.linear(init=1.0, end=0.0, steps=10)
    >>> print(lrlab.plot.terminal_plot([("linear", s.values(11), [])], width=8, height=3))
             1 ⠙⠲⣄⠀⠀⠀⠀⠀
               ⠀⠀⠈⠙⢦⣀⠀⠀
             0 ⠀⠀⠀⠀⠀⠈⠳⢤
               0     10
    [1] linear
    """
    width = check_int("terminal_plot", "width", width)
    height = check_int("terminal_plot", "height", height)
    cols, rows = width * 2, height * 4
    series = []
    for _, values, _ in data:
        y = np.log10(np.maximum(values, 1e-300)) if log else values
        if 1 < y.size < cols:  # fewer points than dot columns: sample between them
            y = np.interp(np.linspace(0, y.size - 1, cols), np.arange(y.size), y)
        series.append(y)
    low = min(float(np.min(y)) for y in series)
    high = max(float(np.max(y)) for y in series)
    span = high - low or 1.0
    longest = max(len(y) for y in series)
    last_step = max(len(values) for _, values, _ in data) - 1
    grid = np.zeros((len(series), rows, cols), dtype=bool)
    for k, y in enumerate(series):
        xs = np.arange(len(y)) * (cols - 1) / max(longest - 1, 1)
        column = np.round(xs).astype(int)
        row = np.round((high - y) / span * (rows - 1)).astype(int)
        previous = None
        for c in range(cols):  # every column's dots, joined vertically to the last column's
            picked = row[column == c]
            if not picked.size:
                continue
            top, bottom = int(picked.min()), int(picked.max())
            if previous is not None:
                top, bottom = min(top, previous), max(bottom, previous)
            grid[k, top : bottom + 1, c] = True
            previous = int(picked[-1])
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
    end = str(last_step)
    lines.append(f"{'':>10} 0{end:>{width - 1}}")
    for k, (name, _, _) in enumerate(data):
        lines.append(f"[{k + 1}] {name}")
    return "\n".join(lines)
