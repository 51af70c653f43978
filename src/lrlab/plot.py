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
    "#7f7f7f",
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


# --- the lab report's figures ------------------------------------------------------------

LEADER_COLOR = "#8f8f8f"
"""The leader's colour in `versus_leader`: dashed grey under the schedule of every panel."""

_LEADER: dict[str, Any] = {"color": LEADER_COLOR, "lw": 1.1, "ls": (0, (3, 1.5))}

REPORT_METRICS = (
    ("train_loss", "train loss", True),
    ("val_loss", "validation loss", True),
    ("val_accuracy", "validation accuracy", False),
)
"""`versus_leader`'s metric columns: ``(metric, title, log scale)``."""


class Trace(NamedTuple):
    """One schedule's curves for `versus_leader`: its lr by epoch, its metrics by seed."""

    name: str
    lr_epochs: npt.ArrayLike
    lr_values: npt.ArrayLike
    metrics: Mapping[str, npt.ArrayLike]
    """Per metric, an array (seeds x epochs: epoch ``k`` ends at x = ``k + 1``)."""


def svg_text(figure: Figure) -> str:
    """The figure as SVG markup to inline in HTML (its text stays text: smaller, faster).

    >>> from matplotlib.figure import Figure
    >>> svg_text(Figure(figsize=(1, 1))).startswith("<svg")
    True
    """
    import io

    from matplotlib import rc_context

    buffer = io.StringIO()
    with rc_context({"svg.fonttype": "none"}):
        figure.savefig(buffer, format="svg")
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def _text(name: str) -> str:
    """A name as matplotlib shows it verbatim (a ``$`` starts no math text)."""
    return name.replace("$", r"\$")


def _xy(owner: str, name: str, x: npt.ArrayLike, y: npt.ArrayLike) -> tuple[Any, Any]:
    xs = np.asarray(x, dtype=np.float64)
    ys = np.asarray(y, dtype=np.float64)
    if xs.ndim != 1 or xs.shape != ys.shape:
        raise ValueError(
            f"{owner}: the epochs and values of {name!r} must be 1-d and of one length, "
            f"got shapes {xs.shape} and {ys.shape}"
        )
    return xs, ys


def lr_grid(
    curves: Sequence[tuple[str, npt.ArrayLike, npt.ArrayLike]], *, columns: int = 5
) -> Figure:
    """Small multiples: each ``(name, epochs, lrs)`` curve in a panel of its own, in order.

    Curve ``i`` is drawn in `color` ``(i)``; ``columns`` panels a row at most.

    >>> fig = lr_grid([("flat", [0, 1, 2], [0.1, 0.1, 0.1]), ("step", [0, 1, 2], [0.1, 0.1, 0.01])])
    >>> [ax.get_title() for ax in fig.axes if ax.get_visible()]
    ['flat', 'step']
    """
    if not curves:
        raise ValueError("lr_grid: nothing to draw, got no curves")
    columns = min(check_int("lr_grid", "columns", columns), len(curves))
    data = [(name, *_xy("lr_grid", name, x, y)) for name, x, y in curves]
    from matplotlib.figure import Figure

    lines = -(-len(data) // columns)
    figure = Figure(figsize=(2.6 * columns, 0.5 + 1.7 * lines))
    figure.subplots_adjust(
        left=0.06,
        right=0.99,
        bottom=0.3 / (0.5 + 1.7 * lines),
        top=1 - 0.25 / (0.5 + 1.7 * lines),
        wspace=0.3,
        hspace=0.45,
    )
    axes = figure.subplots(lines, columns, squeeze=False, sharex=True)
    for i, (ax, (name, x, y)) in enumerate(zip(axes.flat, data, strict=False)):
        ax.plot(x, y, color=color(i), linewidth=1.2, drawstyle="steps-post")
        ax.set_title(_text(name), fontsize=9)
        ax.tick_params(labelsize=7)
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(data) :]:
        ax.set_visible(False)
    figure.supxlabel("epoch", fontsize=9)
    figure.supylabel("learning rate", fontsize=9)
    return figure


def versus_leader(
    traces: Sequence[Trace],
    leader: int | None,
    *,
    metrics: Sequence[tuple[str, str, bool]] = REPORT_METRICS,
) -> Figure:
    """One row per schedule, each against the leader: its lr, then each metric by epoch.

    Schedule ``i`` is drawn in `color` ``(i)``: the lr, and per metric the mean over
    seeds with a min-max band. Every panel also draws the leader (``traces[leader]``,
    mean only) in `LEADER_COLOR` underneath. Each column shares its y axis, so the rows
    compare at a glance; a loss column is drawn on a log axis (non-positive values are
    left out). Readable with ten schedules and more: nothing overlaps but a schedule and
    the leader.

    >>> a = Trace("a", [0, 2], [0.1, 0.1], {"val_loss": [[0.5, 0.3], [0.6, 0.2]]})
    >>> b = Trace("b", [0, 2], [0.2, 0.2], {"val_loss": [[0.4, 0.25], [0.5, 0.3]]})
    >>> fig = versus_leader([a, b], leader=1, metrics=[("val_loss", "validation loss", True)])
    >>> [ax.get_title(loc="left") for ax in fig.axes[::2]]
    ['a', 'b (leader)']
    """
    if not traces:
        raise ValueError("versus_leader: nothing to draw, got no traces")
    if leader is not None:
        leader = check_int("versus_leader", "leader", leader, minimum=0, maximum=len(traces) - 1)
    lrs = [_xy("versus_leader", t.name, t.lr_epochs, t.lr_values) for t in traces]
    columns = [_metric_arrays(t, metrics) for t in traces]
    import matplotlib as mpl
    from matplotlib.figure import Figure

    height = 0.75 + 1.45 * len(traces)
    style: dict[Any, Any] = {
        "xtick.labelsize": 7,
        "ytick.labelsize": 7,
        "axes.titley": 1.0,  # a fixed title place: no costly layout pass per panel
        "axes.titlepad": 3,
        "axes.grid": True,
        "grid.alpha": 0.3,
    }
    with mpl.rc_context(style):
        figure = Figure(figsize=(2.7 * (1 + len(metrics)), height))
        figure.subplots_adjust(
            left=0.05, right=0.99, bottom=0.4 / height, top=1 - 0.6 / height, hspace=0.5
        )
        grid = figure.subplots(
            len(traces), 1 + len(metrics), squeeze=False, sharex=True, sharey="col"
        )
    _scale(grid, lrs, columns, metrics)
    for i, (trace, axes) in enumerate(zip(traces, grid, strict=True)):
        title = _text(trace.name) + (" (leader)" if i == leader else "")
        axes[0].set_title(title, loc="left", fontsize=9, color=color(i), fontweight="bold")
        if leader is not None:
            axes[0].plot(*lrs[leader], drawstyle="steps-post", label="_leader", **_LEADER)
        axes[0].plot(*lrs[i], color=color(i), lw=1.3, drawstyle="steps-post")
        for ax, (key, name, log) in zip(axes[1:], metrics, strict=True):
            ax.set_title(name, loc="right", fontsize=8, color="#555")
            if leader is not None and key in columns[leader]:
                lead = columns[leader][key]
                ax.plot(_epochs(lead), _shown(lead.mean(axis=0), log), label="_leader", **_LEADER)
            if key in columns[i]:
                _band(ax, columns[i][key], color(i), log)
    note = (
        "no leader: no schedule finished on every seed"
        if leader is None
        else f"dashed grey: the leader, {_text(traces[leader].name)}"
    )
    figure.suptitle(
        f"first column: learning rate; {note}; lines: mean over seeds, bands: min to max",
        x=0.05,
        y=1 - 0.15 / height,
        ha="left",
        fontsize=9,
    )
    figure.supxlabel("epoch", fontsize=9)
    return figure


def _band(ax: Axes, data: Any, shade: str, log: bool) -> None:
    """The mean over seeds as a line, and (two seeds or more) the min-max band."""
    x = _epochs(data)
    if data.shape[0] > 1:
        low, high = _shown(data.min(axis=0), log), _shown(data.max(axis=0), log)
        ax.fill_between(x, low, high, color=shade, alpha=0.18, lw=0)
    ax.plot(x, _shown(data.mean(axis=0), log), color=shade, lw=1.3)


def _scale(
    grid: Any,
    lrs: list[tuple[Any, Any]],
    columns: list[dict[str, Any]],
    metrics: Sequence[tuple[str, str, bool]],
) -> None:
    """Fixed limits per (shared) column, set before drawing (no autoscaling 40 panels).

    The lr from 0; a loss on a log axis where it has positive values; an accuracy
    zoomed past the first quarter of the epochs.
    """
    from matplotlib.ticker import MaxNLocator, NullLocator

    epochs = [d.shape[1] for c in columns for d in c.values()]
    ends = [float(x[-1]) for x, _ in lrs if x.size]
    grid[0, 0].set_xlim(0, max([*epochs, *ends], default=1) or 1)
    grid[0, 0].xaxis.set_major_locator(MaxNLocator(5, integer=True))
    top = _finite(np.concatenate([y for _, y in lrs]))
    grid[0, 0].set_ylim(0, 1.05 * float(top.max()) if top.size and top.max() > 0 else 1)
    for j, (key, _, log) in enumerate(metrics, start=1):
        shown = [c[key] for c in columns if key in c]
        if log:
            values = _finite(np.concatenate([d.ravel() for d in shown] or [np.zeros(0)]))
            values = values[values > 0]
            if values.size:
                grid[0, j].set_yscale("log")
                grid[0, j].yaxis.set_minor_locator(NullLocator())
                grid[0, j].set_ylim(float(values.min()) / 1.25, float(values.max()) * 1.25)
            continue
        late = np.concatenate([d[:, d.shape[1] // 4 :].ravel() for d in shown] or [np.zeros(0)])
        values = _finite(late)
        if values.size:
            low, high = float(values.min()), float(values.max())
            pad = 0.08 * (high - low) or 0.05 * abs(high) or 0.05
            grid[0, j].set_ylim(low - pad, high + pad)
    for ax in grid.flat:
        ax.set_autoscale_on(False)


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


def _shown(values: Any, log: bool) -> Any:
    """``values`` with what a log axis cannot show (non-positive) left out."""
    return np.where(values > 0, values, np.nan) if log else values
