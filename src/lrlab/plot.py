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

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, TypeAlias

import numpy as np
import numpy.typing as npt

from lrlab import _svg
from lrlab.schedules import Schedule
from lrlab.schedules.checks import check_int
from lrlab.spec import parse

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

Curve: TypeAlias = "Schedule | str | npt.ArrayLike"
"""A schedule, a spec string, or recorded learning rates (one per step)."""

FORMATS = ("png", "svg", "pdf")
PALETTE = (
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#ff7f0e",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#bcbd22",
    "#393b79",
)
"""The one palette of every lrlab figure: curve ``i`` is drawn in ``PALETTE[i % 10]``."""
MAX_POINTS = 200_000
"""Most steps of one curve that are drawn (the rest are sampled)."""


def color(i: int) -> str:
    """The palette's colour for curve ``i`` (it repeats after ten).

    >>> color(0), color(10)
    ('#1f77b4', '#1f77b4')
    """
    return PALETTE[i % len(PALETTE)]


def check_figure_path(path: str | Path, *, owner: str = "plot") -> str:
    """The figure format of ``path`` (png, svg or pdf, from its extension), or ValueError.

    >>> check_figure_path("lr.SVG")
    'svg'
    >>> check_figure_path("lr.jpg")
    Traceback (most recent call last):
    ...
    ValueError: plot: cannot tell the format of 'lr.jpg': use .png, .svg or .pdf
    """
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        raise ValueError(
            f"{owner}: cannot tell the format of {str(path)!r}: use .png, .svg or .pdf"
        )
    return suffix


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
    suffix = None if save is None else check_figure_path(save, owner="plot_lr")
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
            shade = color(i)
            values = curve.values
            if log:  # a log axis cannot show 0: leave those steps out
                values = np.where(values > 0, values, np.nan)
            ax.plot(
                curve.steps * scale,
                values,
                color=shade,
                lw=1.8,
                label=curve.label,
                drawstyle="steps-post",  # the lr of step t holds for that whole step
            )
            if marks and curve.mark_steps.size:
                ax.plot(
                    curve.mark_steps * scale,
                    curve.mark_values,
                    "o",
                    color=shade,
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


def find_lr_figure(
    lrs: npt.ArrayLike,
    losses: npt.ArrayLike,
    smoothed: npt.ArrayLike,
    suggestions: Mapping[str, float | None],
    *,
    title: str,
    ax: Axes | None = None,
    save: str | Path | None = None,
) -> Figure:
    """Draw a range test: loss and smoothed loss against the lr (log x axis), and marks.

    ``suggestions`` maps a method's name to its lr (None: not drawn, but its colour is
    kept, so a method has the same colour in every figure). ``save``: also write the
    figure (PNG, SVG or PDF, by the file's extension). Without points the axes say so.

    >>> import lrlab.plot
    >>> lrs = [1e-4, 1e-3, 1e-2, 1e-1, 1.0]
    >>> fig = lrlab.plot.find_lr_figure(
    ...     lrs, [2.0, 1.5, 0.8, 0.6, 3.0], [2.0, 1.7, 1.2, 0.9, 1.8],
    ...     {"steepest": 1e-2, "valley": None}, title="LR range test",
    ... )
    >>> [line.get_label() for line in fig.axes[0].get_lines()]
    ['loss', 'smoothed loss', 'steepest: 0.01']
    """
    x = np.asarray(lrs, dtype=np.float64)
    raw = np.asarray(losses, dtype=np.float64)
    y = np.asarray(smoothed, dtype=np.float64)
    if not x.ndim == raw.ndim == y.ndim == 1 or not x.size == raw.size == y.size:
        raise ValueError(
            "find_lr_figure: lrs, losses and smoothed must be 1-d and of one length, got "
            f"shapes {x.shape}, {raw.shape} and {y.shape}"
        )
    suffix = None if save is None else check_figure_path(save, owner="find_lr_figure")
    if ax is None:
        from matplotlib.figure import Figure

        figure = Figure(figsize=(8, 5), layout="constrained")
        ax = figure.add_subplot()
    else:
        figure = ax.figure  # type: ignore[assignment]
    ax.set_xlabel("learning rate")
    ax.set_ylabel("loss")
    ax.set_title(title, loc="left", fontsize=9)
    if x.size:
        ax.plot(x, raw, color=color(0), alpha=0.3, lw=1.0, label="loss")
        ax.plot(x, y, color=color(0), lw=1.8, label="smoothed loss")
        ax.set_xscale("log")
        for i, (name, lr) in enumerate(suggestions.items()):
            if lr is None:
                continue
            at = np.interp(np.log10(lr), np.log10(x), y)
            ax.plot([lr], [at], "o", ms=7, color=color(i + 1), label=f"{name}: {lr:.3g}", zorder=3)
        low, high = float(y.min()), float(y[0])
        if high > low:  # keep the diverging tail from squashing the curve
            ax.set_ylim(low - 0.1 * (high - low), high + 0.5 * (high - low))
        ax.legend(frameon=False, fontsize=9)
    else:
        ax.text(0.5, 0.5, "no finite loss", ha="center", va="center", transform=ax.transAxes)
    ax.grid(True, which="major", linestyle=":", linewidth=0.8, alpha=0.7)
    if save is not None:
        figure.savefig(save, format=suffix)
    return figure


# --- the lab report's figures: SVG text, written by lrlab._svg (no matplotlib) ---------

LEADER_COLOR = "#8f8f8f"
"""The leader's colour in `versus_leader`: dashed grey under the schedule of every panel."""

_LEADER = {"stroke": LEADER_COLOR, "stroke_dasharray": "4 2"}

REPORT_METRICS = (
    ("train_loss", "train loss", True),
    ("val_loss", "validation loss", True),
    ("val_accuracy", "validation accuracy", False),
)
"""`versus_leader`'s metric columns: ``(metric, title, log scale)``."""

_GRID_PANEL = (170.0, 100.0)
"""`lr_grid`'s panel width and height, in figure units."""
_ROW_PANEL = (220.0, 90.0)
"""`versus_leader`'s panel width and height, in figure units."""
_TITLE = {"font_size": 11}


class Trace(NamedTuple):
    """One schedule's curves for `versus_leader`: its lr by epoch, its metrics by seed."""

    name: str
    lr_epochs: npt.ArrayLike
    lr_values: npt.ArrayLike
    metrics: Mapping[str, npt.ArrayLike]
    """Per metric, an array (seeds x epochs: epoch ``k`` ends at x = ``k + 1``)."""


def _xy(owner: str, name: str, x: npt.ArrayLike, y: npt.ArrayLike) -> tuple[Any, Any]:
    xs = np.asarray(x, dtype=np.float64)
    ys = np.asarray(y, dtype=np.float64)
    if xs.ndim != 1 or xs.shape != ys.shape:
        raise ValueError(
            f"{owner}: the epochs and values of {name!r} must be 1-d and of one length, "
            f"got shapes {xs.shape} and {ys.shape}"
        )
    return xs, ys


def lr_grid(curves: Sequence[tuple[str, npt.ArrayLike, npt.ArrayLike]], *, columns: int = 5) -> str:
    """Small multiples as SVG text: each ``(name, epochs, lrs)`` curve in a panel, in order.

    Curve ``i`` is drawn in `color` ``(i)`` as steps (each lr holds until the next
    epoch), ``columns`` panels a row at most; the panels share the epoch axis, and each
    starts its lr axis at 0.

    >>> svg = lr_grid([("flat", [0, 1, 2], [0.1, 0.1, 0.1]), ("a<b", [0, 1, 2], [0.1, 0.1, 0.01])])
    >>> svg[:4], svg.count('class="panel"'), ">a&lt;b</text>" in svg
    ('<svg', 2, True)
    """
    if not curves:
        raise ValueError("lr_grid: nothing to draw, got no curves")
    columns = min(check_int("lr_grid", "columns", columns), len(curves))
    data = [(name, *_xy("lr_grid", name, x, y)) for name, x, y in curves]
    width, height = _GRID_PANEL
    left, top, across, down = 62.0, 24.0, width + 52, height + 44
    epochs = _finite(np.concatenate([x for _, x, _ in data]))
    low = math.floor(epochs.min()) if epochs.size else 0
    high = math.ceil(epochs.max()) if epochs.size else 1
    x = _svg.Scale(low, max(high, low + 1), width, integer=True)
    clip_id = f"lrlab-clip-{width:g}x{height:g}"
    body = []
    for i, (name, epoch, lr) in enumerate(data):
        y = _svg.Scale(0, _top(lr), height, flip=True)
        drawn = _svg.line(x.map(epoch), y.map(lr), steps=True, stroke=color(i), stroke_width=1.2)
        title = _svg.text(width / 2, -7, name, text_anchor="middle", **_TITLE)
        row, column = divmod(i, columns)
        at = (left + column * across, top + row * down)
        body.append(_svg.panel(*at, _svg.axes(x, y), drawn, clip_id=clip_id, title=title))
    size = (left + columns * across - 40, top + -(-len(data) // columns) * down + 8)
    body.append(_svg.text(size[0] / 2, size[1] - 8, "epoch", text_anchor="middle", **_TITLE))
    caption = {"text_anchor": "middle", "transform": "rotate(-90)", **_TITLE}
    body.append(_svg.text(-size[1] / 2, 14, "learning rate", **caption))
    return _svg.document(*size, "".join(body), defs=_svg.clip(clip_id, width, height))


def versus_leader(
    traces: Sequence[Trace],
    leader: int | None,
    *,
    metrics: Sequence[tuple[str, str, bool]] = REPORT_METRICS,
) -> str:
    """One row per schedule, each against the leader, as SVG text: its lr, then each metric.

    Schedule ``i`` is drawn in `color` ``(i)``: the lr (as steps), and per metric the mean
    over seeds by epoch with a min-max band (two seeds or more). Every panel also draws the
    leader (``traces[leader]``, mean only) dashed in `LEADER_COLOR` underneath. Each
    column shares its y axis, so the rows compare at a glance; a loss column is drawn on a
    log axis (non-positive values are left out), an accuracy column zooms past the first
    quarter of the epochs. Readable with ten schedules and more: nothing overlaps but a
    schedule and the leader.

    >>> a = Trace("a", [0, 2], [0.1, 0.1], {"val_loss": [[0.5, 0.3], [0.6, 0.2]]})
    >>> b = Trace("b", [0, 2], [0.2, 0.2], {"val_loss": [[0.4, 0.25], [0.5, 0.3]]})
    >>> svg = versus_leader([a, b], leader=1, metrics=[("val_loss", "validation loss", True)])
    >>> svg.count('class="panel"'), svg.count('class="leader"'), svg.count('class="band"')
    (4, 4, 2)
    >>> ">b (leader)</text>" in svg
    True
    """
    if not traces:
        raise ValueError("versus_leader: nothing to draw, got no traces")
    if leader is not None:
        leader = check_int("versus_leader", "leader", leader, minimum=0, maximum=len(traces) - 1)
    lrs = [_xy("versus_leader", t.name, t.lr_epochs, t.lr_values) for t in traces]
    columns = [_metric_arrays(t, metrics) for t in traces]
    width, height = _ROW_PANEL
    left, top, across, down = 50.0, 48.0, width + 58, height + 34
    x, ys = _scales(lrs, columns, metrics)
    clip_id = f"lrlab-clip-{width:g}x{height:g}"
    lead = [""] * len(ys)
    if leader is not None:
        lead = _lines(x, ys, lrs[leader], columns[leader], metrics, class_="leader", **_LEADER)
    heads = ["learning rate", *(name for _, name, _ in metrics)]
    head = {"text_anchor": "middle", "font_weight": "bold", **_TITLE}
    body = [
        _svg.text(left + j * across + width / 2, top - 10, h, **head) for j, h in enumerate(heads)
    ]
    frames = [_svg.axes(x, y, x_labels=False) for y in ys]
    for i, trace in enumerate(traces):
        if i == len(traces) - 1:
            frames = [_svg.axes(x, y) for y in ys]
        mine = _lines(x, ys, lrs[i], columns[i], metrics, shade=color(i), stroke=color(i))
        name = trace.name + (" (leader)" if i == leader else "")
        title = _svg.text(0, -7, name, fill=color(i), font_weight="bold", **_TITLE)
        for j, (frame, drawn) in enumerate(zip(frames, mine, strict=True)):
            at = (left + j * across, top + 18 + i * down)
            body.append(
                _svg.panel(*at, frame, lead[j] + drawn, clip_id=clip_id, title="" if j else title)
            )
    note = (
        "no leader: no schedule finished on every seed"
        if leader is None
        else f"dashed grey: the leader, {traces[leader].name}"
    )
    note += "; lines: mean over seeds; bands: min to max over seeds"
    size = (left + len(heads) * across - 48, top + 18 + len(traces) * down + 10)
    body.append(_svg.text(left, 16, note, **_TITLE))
    body.append(_svg.text(size[0] / 2, size[1] - 6, "epoch", text_anchor="middle", **_TITLE))
    return _svg.document(*size, "".join(body), defs=_svg.clip(clip_id, width, height))


def _lines(
    x: _svg.Scale,
    ys: list[_svg.Scale],
    lr: tuple[Any, Any],
    data: dict[str, Any],
    metrics: Sequence[tuple[str, str, bool]],
    *,
    shade: str | None = None,
    **style: object,
) -> list[str]:
    """One schedule's lines, a panel each: its lr as steps, then per metric the mean over
    seeds, over the min-max band in ``shade`` (if given, and with two seeds or more)."""
    out = [_svg.line(x.map(lr[0]), ys[0].map(lr[1]), steps=True, stroke_width=1.3, **style)]
    for (key, _, _), y in zip(metrics, ys[1:], strict=True):
        if key not in data:
            out.append("")
            continue
        seeds = data[key]
        epoch = x.map(_epochs(seeds))
        mean = _svg.line(epoch, y.map(seeds.mean(axis=0)), steps=False, stroke_width=1.3, **style)
        if shade is None or seeds.shape[0] < 2:
            out.append(mean)
            continue
        low, high = y.map(seeds.min(axis=0)), y.map(seeds.max(axis=0))
        band = _svg.band(epoch, low, high, fill=shade, fill_opacity=0.18, class_="band")
        out.append(band + mean)
    return out


def _scales(
    lrs: list[tuple[Any, Any]],
    columns: list[dict[str, Any]],
    metrics: Sequence[tuple[str, str, bool]],
) -> tuple[_svg.Scale, list[_svg.Scale]]:
    """The shared epoch axis and each column's y axis.

    The lr from 0; a loss on a log axis where it has positive values; an accuracy
    zoomed past the first quarter of the epochs.
    """
    width, height = _ROW_PANEL
    epochs = [d.shape[1] for c in columns for d in c.values()]
    ends = [float(v.max()) for v in (_finite(x) for x, _ in lrs) if v.size]
    x = _svg.Scale(0, math.ceil(max([*epochs, *ends], default=1)) or 1, width, integer=True)
    ys = [_svg.Scale(0, _top(np.concatenate([y for _, y in lrs])), height, flip=True)]
    for key, _, log in metrics:
        shown = [c[key] for c in columns if key in c]
        values = _finite(np.concatenate([d.ravel() for d in shown] or [np.zeros(0)]))
        positive = values[values > 0]
        if log and positive.size:
            low, high = float(positive.min()) / 1.25, float(positive.max()) * 1.25
            ys.append(_svg.Scale(low, high, height, log=True, flip=True))
            continue
        if not log:
            late = [d[:, d.shape[1] // 4 :].ravel() for d in shown]
            values = _finite(np.concatenate(late or [np.zeros(0)]))
        low, high = (float(values.min()), float(values.max())) if values.size else (0.0, 1.0)
        pad = 0.08 * (high - low) or 0.05 * abs(high) or 0.05
        ys.append(_svg.Scale(low - pad, high + pad, height, flip=True))
    return x, ys


def _top(lrs: Any) -> float:
    """The top of an lr axis from 0: a little over the largest finite lr (1 without one)."""
    values = _finite(lrs)
    return 1.05 * float(values.max()) if values.size and values.max() > 0 else 1.0


def _finite(values: Any) -> Any:
    return values[np.isfinite(values)]


def _metric_arrays(trace: Trace, metrics: Sequence[tuple[str, str, bool]]) -> dict[str, Any]:
    out = {}
    for key, _, _ in metrics:
        if key not in trace.metrics:
            continue
        data = np.asarray(trace.metrics[key], dtype=np.float64)
        if data.ndim != 2 or 0 in data.shape:
            raise ValueError(
                f"versus_leader: {key} of {trace.name!r} must be a non-empty array of "
                f"seeds x epochs, got shape {data.shape}"
            )
        out[key] = data
    return out


def _epochs(data: Any) -> Any:
    return np.arange(1, data.shape[1] + 1, dtype=np.float64)


def search_history(
    numbers: Sequence[int], values: Sequence[float], pruned: Sequence[bool], *, mode: str
) -> str:
    """A search's history as SVG text: each trial's value (a dot; hollow where the trial
    was pruned, at its last reported value) and the best so far (a step line).

    >>> svg = search_history([0, 1, 2], [0.5, 0.7, 0.6], [False, False, True], mode="max")
    >>> svg.count("<circle"), 'fill="none"' in svg
    (3, True)
    """
    width, height = 420.0, 180.0
    left, top = 56.0, 14.0
    xs = np.asarray(numbers, dtype=np.float64)
    ys = np.asarray(values, dtype=np.float64)
    shown = _finite(ys)
    low, high = (float(shown.min()), float(shown.max())) if shown.size else (0.0, 1.0)
    pad = (high - low) * 0.05 or 0.05
    x = _svg.Scale(0, max(1.0, float(xs.max()) if xs.size else 1.0), width, integer=True)
    y = _svg.Scale(low - pad, high + pad, height, flip=True)
    done = np.where(np.asarray(pruned, dtype=bool), np.nan, ys)
    pick = np.fmax if mode == "max" else np.fmin
    best = pick.accumulate(np.where(np.isfinite(done), done, np.nan)) if done.size else done
    body = [_svg.line(x.map(xs), y.map(best), steps=True, stroke=color(0), stroke_width=1.5)]
    for px, py, cut in zip(x.map(xs), y.map(ys), pruned, strict=True):
        if math.isfinite(px) and math.isfinite(py):
            fill = "none" if cut else color(0)
            body.append(
                f'<circle cx="{_svg.number(px)}" cy="{_svg.number(py)}" r="3"'
                f"{_svg.attributes(fill=fill, stroke=color(0))}/>"
            )
    clip_id = "lrlab-clip-history"
    frame = _svg.panel(left, top, _svg.axes(x, y), "".join(body), clip_id=clip_id)
    caption = _svg.text(left + width / 2, top + height + 30, "trial", text_anchor="middle")
    size = (left + width + 12, top + height + 38)
    return _svg.document(*size, frame + caption, defs=_svg.clip(clip_id, width + 4, height))


def search_slices(
    params: Sequence[tuple[str, Sequence[float], bool]], values: Sequence[float]
) -> str:
    """Each parameter against the trial values as SVG text: one panel per ``(name,
    parameter values, log axis)``, a dot per finished trial.

    >>> svg = search_slices([("a", [1, 2], False), ("b", [0.1, 0.01], True)], [0.5, 0.7])
    >>> svg.count('class="panel"'), svg.count("<circle")
    (2, 4)
    """
    width, height = 170.0, 110.0
    left, top, across = 56.0, 24.0, width + 60
    ys = np.asarray(values, dtype=np.float64)
    shown = _finite(ys)
    low, high = (float(shown.min()), float(shown.max())) if shown.size else (0.0, 1.0)
    pad = (high - low) * 0.05 or 0.05
    y = _svg.Scale(low - pad, high + pad, height, flip=True)
    clip_id = "lrlab-clip-slice"
    body = []
    for i, (name, raw, log) in enumerate(params):
        xs = np.asarray(raw, dtype=np.float64)
        seen = _finite(xs)
        lo, hi = (float(seen.min()), float(seen.max())) if seen.size else (0.0, 1.0)
        if hi <= lo:
            lo, hi = (lo / 2, hi * 2) if log and lo > 0 else (lo - 1, hi + 1)
        x = _svg.Scale(lo, hi, width, log=log and lo > 0)
        dots = "".join(
            f'<circle cx="{_svg.number(px)}" cy="{_svg.number(py)}" r="2.5" fill="{color(i)}"/>'
            for px, py in zip(x.map(xs), y.map(ys), strict=True)
            if math.isfinite(px) and math.isfinite(py)
        )
        title = _svg.text(width / 2, -8, name, text_anchor="middle", **_TITLE)
        body.append(
            _svg.panel(left + i * across, top, _svg.axes(x, y), dots, clip_id=clip_id, title=title)
        )
    size = (left + max(1, len(params)) * across - 40, top + height + 24)
    return _svg.document(*size, "".join(body), defs=_svg.clip(clip_id, width + 4, height))
