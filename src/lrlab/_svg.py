"""A small SVG writer for the lab report's figures: scales, nice ticks, escaped text, panels.

Plain Python and numpy, no plotting library: a figure is a few hundred elements written
as text. Coordinates are in the figure's own units (one per CSS pixel at full size), at
most two decimals, and never NaN or infinite: what cannot be drawn (non-finite, or not
positive on a log axis) is left out, and a line breaks there.

>>> x = Scale(0, 10, 100, integer=True)
>>> y = Scale(0, 1, 50, flip=True)
>>> body = axes(x, y) + line(x.map([0, 5, 10]), y.map([0, 1, 0.5]), stroke="#1f77b4")
>>> svg = document(120, 70, body)
>>> svg.startswith("<svg") and 'points="0,50 50,0 100,25"' in svg
True
"""

from __future__ import annotations

import math
import re

import numpy as np
import numpy.typing as npt

FRAME = "#777"
"""The colour of panel frames and tick marks."""
GRID = "#e6e6e6"
"""The colour of the grid lines at the ticks."""
INK = "#444"
"""The colour of tick labels and captions."""
TOLERANCE = 0.2
"""How far (in figure units) a simplified line may stray from the one it stands for."""

_STEPS = (1.0, 2.0, 2.5, 5.0, 10.0)
_INTEGER_STEPS = (1.0, 2.0, 5.0, 10.0)
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def escape(text: str) -> str:
    """``text`` as XML character data or attribute value: shown verbatim, never markup.

    Characters XML cannot hold (control characters) become U+FFFD.

    >>> escape('<script>&"$x$"')
    '&lt;script&gt;&amp;&quot;$x$&quot;'
    """
    text = _NOT_XML.sub("\ufffd", text)
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&#39;")
    )


def number(value: float) -> str:
    """A coordinate as written: rounded to two decimals, no trailing zeros.

    >>> number(12.3456), number(3.0), number(-0.001)
    ('12.35', '3', '0')
    """
    return f"{round(value, 2) + 0.0:g}"


def ticks(low: float, high: float, *, count: int = 5, integer: bool = False) -> list[float]:
    """Nice linear ticks in ``[low, high]``: multiples of 1, 2, 2.5 or 5 times a power of ten.

    The step is the smallest nice one that gives at most ``count`` intervals over the
    range; ``integer`` keeps to whole steps (1, 2, 5, 10, ...).

    >>> ticks(0, 1)
    [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    >>> ticks(0, 0.105)
    [0.0, 0.025, 0.05, 0.075, 0.1]
    >>> ticks(0, 30, integer=True), ticks(0, 3, integer=True)
    ([0.0, 10.0, 20.0, 30.0], [0.0, 1.0, 2.0, 3.0])
    """
    if not (math.isfinite(low) and math.isfinite(high)) or high <= low:
        return [low] if math.isfinite(low) else []
    raw = (high - low) / count
    power = 10.0 ** math.floor(math.log10(raw))
    steps = _INTEGER_STEPS if integer else _STEPS
    step = next(s * power for s in steps if s * power >= raw * (1 - 1e-9))
    if integer:
        step = max(step, 1.0)
    first, last = math.ceil(low / step - 1e-9), math.floor(high / step + 1e-9)
    return [_clean(k * step) for k in range(first, last + 1)]


def log_ticks(low: float, high: float, *, count: int = 6) -> list[float]:
    """Nice ticks in ``[low, high]`` (both positive) for a log axis.

    Powers of ten (every second, third, ... one when there are more than ``count``); with
    fewer than two in the range, the 1-2-5 series; with fewer than two of those, linear
    `ticks`.

    >>> log_ticks(0.004, 3.0)
    [0.01, 0.1, 1.0]
    >>> log_ticks(1e-9, 10)
    [1e-09, 1e-07, 1e-05, 0.001, 0.1, 10.0]
    >>> log_ticks(0.03, 0.4)
    [0.05, 0.1, 0.2]
    >>> log_ticks(0.3, 0.45)
    [0.3, 0.35, 0.4, 0.45]
    """
    if not (0 < low < high < math.inf):
        return [low] if 0 < low < math.inf else []
    first = math.ceil(math.log10(low) - 1e-9)
    last = math.floor(math.log10(high) + 1e-9)
    decades = list(range(first, last + 1))
    if len(decades) >= 2:
        every = -(-len(decades) // count)
        return [_clean(10.0**k) for k in decades[::every]]
    series = [
        _clean(m * 10.0**k)
        for k in range(first - 1, last + 1)
        for m in (1, 2, 5)
        if low * (1 - 1e-9) <= m * 10.0**k <= high * (1 + 1e-9)
    ]
    return series if len(series) >= 2 else ticks(low, high, count=4)


def label(value: float) -> str:
    """A tick's label: its shortest decimal form, with a short exponent for tiny or huge.

    >>> [label(v) for v in (0.0, 0.025, 20.0, 1e-05, 3e6)]
    ['0', '0.025', '20', '1e-5', '3e6']
    """
    shown = f"{value:g}"
    return re.sub(r"e([+-])0*(\d)", lambda m: "e" + m[1].replace("+", "") + m[2], shown)


class Scale:
    """Data to figure units along one axis: linear or log10, over ``[low, high]``.

    ``size`` units long; ``flip`` for a y axis (larger values higher up, at smaller y).
    On a log axis, values that are not positive map to NaN (they are left out).

    >>> Scale(0, 2, 100).map([0, 1, 2]).tolist()
    [0.0, 50.0, 100.0]
    >>> Scale(0.01, 1, 100, log=True, flip=True).map([0.1, -1]).tolist()
    [50.0, nan]
    """

    def __init__(
        self,
        low: float,
        high: float,
        size: float,
        *,
        log: bool = False,
        flip: bool = False,
        integer: bool = False,
    ) -> None:
        self.low, self.high, self.size = low, high, size
        self.log, self.flip, self.integer = log, flip, integer
        self._start, self._end = (math.log10(low), math.log10(high)) if log else (low, high)

    def map(self, values: npt.ArrayLike) -> np.ndarray:
        """Positions of ``values`` along the axis (NaN where there is none)."""
        data = np.asarray(values, dtype=np.float64)
        if self.log:
            with np.errstate(divide="ignore", invalid="ignore"):
                data = np.where(data > 0, np.log10(np.where(data > 0, data, 1.0)), np.nan)
        span = self._end - self._start
        position = (data - self._start) / span * self.size if span else data * 0.0
        return self.size - position if self.flip else position

    def ticks(self) -> list[float]:
        """The axis's tick values (`ticks` or `log_ticks`)."""
        if self.log:
            return log_ticks(self.low, self.high)
        return ticks(self.low, self.high, integer=self.integer)


def attributes(**values: object) -> str:
    """Keyword arguments as SVG attributes (``_`` becomes ``-``, a trailing one goes;
    None is left out).

    >>> attributes(class_="leader", stroke_width=1.5, fill=None)
    ' class="leader" stroke-width="1.5"'
    """
    return "".join(
        f' {key.rstrip("_").replace("_", "-")}="{escape(str(value))}"'
        for key, value in values.items()
        if value is not None
    )


def text(x: float, y: float, content: str, **style: object) -> str:
    """A text element at ``(x, y)``; ``content`` is escaped.

    >>> text(1, 2, "a<b", font_size=9)
    '<text x="1" y="2" font-size="9">a&lt;b</text>'
    """
    return f'<text x="{number(x)}" y="{number(y)}"{attributes(**style)}>{escape(content)}</text>'


def line(x: npt.ArrayLike, y: npt.ArrayLike, *, steps: bool = False, **style: object) -> str:
    """Polylines through the points (figure units), broken where a point is not finite.

    ``steps`` draws steps-post (each value holds until the next x). Lines are simplified
    to within `TOLERANCE`; a lone point is drawn as a dot.

    >>> line([0, 1, 2, 3], [0, np.nan, 1, 1], stroke="red")
    '<polyline points="0,0 0,0" stroke="red"/><polyline points="2,1 3,1" stroke="red"/>'
    >>> line([0, 2, 4], [5, 3, 3], steps=True)
    '<polyline points="0,5 2,5 2,3 4,3"/>'
    """
    xs = np.asarray(x, dtype=np.float64)
    ys = np.asarray(y, dtype=np.float64)
    if steps and xs.size:
        xs, ys = np.repeat(xs, 2)[1:], np.repeat(ys, 2)[:-1]
    out = []
    for start, stop in _runs(np.isfinite(xs) & np.isfinite(ys)):
        px, py = _simplify(xs[start:stop], ys[start:stop])
        if px.size == 1:
            px, py = np.repeat(px, 2), np.repeat(py, 2)
        out.append(f'<polyline points="{_points(px, py)}"{attributes(**style)}/>')
    return "".join(out)


def band(x: npt.ArrayLike, low: npt.ArrayLike, high: npt.ArrayLike, **style: object) -> str:
    """Polygons between two lines over ``x`` (figure units), broken where one is not finite.

    >>> band([0, 1, 2], [0, 0, 0], [1, 2, 1], fill="blue")
    '<polygon points="0,1 1,2 2,1 2,0 1,0 0,0" fill="blue"/>'
    """
    xs = np.asarray(x, dtype=np.float64)
    lows = np.asarray(low, dtype=np.float64)
    highs = np.asarray(high, dtype=np.float64)
    out = []
    for start, stop in _runs(np.isfinite(xs) & np.isfinite(lows) & np.isfinite(highs)):
        if stop - start < 2:
            continue
        part = slice(start, stop)
        px = np.concatenate([xs[part], xs[part][::-1]])
        py = np.concatenate([highs[part], lows[part][::-1]])
        out.append(f'<polygon points="{_points(px, py)}"{attributes(**style)}/>')
    return "".join(out)


def clip(name: str, width: float, height: float) -> str:
    """A clip path ``name``: the rectangle from (0, 0) of the element that uses it.

    >>> clip("c", 10, 5)
    '<clipPath id="c"><rect width="10" height="5"/></clipPath>'
    """
    rect = f'<rect width="{number(width)}" height="{number(height)}"/>'
    return f'<clipPath id="{escape(name)}">{rect}</clipPath>'


def axes(x: Scale, y: Scale, *, x_labels: bool = True, y_labels: bool = True) -> str:
    """A panel's grid, frame, ticks and tick labels, with (0, 0) its top left corner.

    >>> svg = axes(Scale(0, 4, 100, integer=True), Scale(0, 1, 50, flip=True))
    >>> svg.count("<text"), 'width="100" height="50"' in svg
    (11, True)
    """
    xt = [v for v in x.ticks() if x.low <= v <= x.high]
    yt = [v for v in y.ticks() if y.low <= v <= y.high]
    xp, yp = x.map(xt), y.map(yt)
    grid = "".join(f"M{number(p)} 0V{number(y.size)}" for p in xp)
    grid += "".join(f"M0 {number(p)}H{number(x.size)}" for p in yp)
    marks = "".join(f"M{number(p)} {number(y.size)}v3" for p in xp)
    marks += "".join(f"M0 {number(p)}h-3" for p in yp)
    out = [
        f'<path d="{grid}" stroke="{GRID}" fill="none"/>' if grid else "",
        f'<rect width="{number(x.size)}" height="{number(y.size)}" fill="none" stroke="{FRAME}"/>',
        f'<path d="{marks}" stroke="{FRAME}" fill="none"/>' if marks else "",
    ]
    if x_labels and xt:
        below = y.size + 13
        out.append(f'<g text-anchor="middle" fill="{INK}">')
        out += [text(p, below, s) for p, s in zip(xp, map(label, xt), strict=True)]
        out.append("</g>")
    if y_labels and yt:
        out.append(f'<g text-anchor="end" fill="{INK}">')
        out += [text(-5, p + 3, s) for p, s in zip(yp, map(label, yt), strict=True)]
        out.append("</g>")
    return "".join(out)


def panel(x: float, y: float, frame: str, content: str, *, clip_id: str, title: str = "") -> str:
    """A panel at ``(x, y)``: its `axes` ``frame``, the ``content`` clipped to the clip path
    ``clip_id`` (lines get no fill and round ends), and a ``title`` (markup) over it all.

    >>> svg = panel(5, 8, "", "<polyline/>", clip_id="c")
    >>> svg.startswith('<g class="panel" transform="translate(5 8)"><g clip-path="url(#c)"')
    True
    """
    inner = (
        f'<g clip-path="url(#{escape(clip_id)})" fill="none" stroke-linecap="round"'
        f' stroke-linejoin="round">{content}</g>'
    )
    return (
        f'<g class="panel" transform="translate({number(x)} {number(y)})">{frame}{inner}{title}</g>'
    )


def document(width: float, height: float, body: str, *, defs: str = "") -> str:
    """The ``<svg>`` element: ``width`` x ``height`` units, scaling with its ``viewBox``.

    >>> document(10, 5, "")[:80]
    '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="5" viewBox="0 0 10 5"'
    """
    size = f'width="{number(width)}" height="{number(height)}"'
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" {size} '
        f'viewBox="0 0 {number(width)} {number(height)}" font-family="sans-serif" font-size="9">'
    )
    return head + (f"<defs>{defs}</defs>" if defs else "") + body + "</svg>"


def _clean(value: float) -> float:
    """A tick value without float noise (0.30000000000000004 is 0.3)."""
    return float(f"{value:.12g}")


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """The ``(start, stop)`` of every run of True in ``mask``."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(
        zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist(), strict=True)
    )


def _simplify(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The points of a line within `TOLERANCE` of it (Ramer-Douglas-Peucker).

    Repeated points and the inner points of level or upright runs (a step line's
    plateaus) go first, exactly and at numpy speed.
    """
    if x.size < 3:
        return x, y
    moved = np.concatenate([[True], (np.diff(x) != 0) | (np.diff(y) != 0)])
    x, y = x[moved], y[moved]
    inner = ((x[1:-1] == x[:-2]) & (x[1:-1] == x[2:])) | ((y[1:-1] == y[:-2]) & (y[1:-1] == y[2:]))
    x, y = (
        x[np.concatenate([[False], inner, [False]]) == 0],
        y[np.concatenate([[False], inner, [False]]) == 0],
    )
    if x.size < 3:
        return x, y
    keep = np.zeros(x.size, dtype=bool)
    keep[[0, -1]] = True
    pending = [(0, x.size - 1)]
    while pending:
        a, b = pending.pop()
        if b - a < 2:
            continue
        dx, dy = x[b] - x[a], y[b] - y[a]
        px, py = x[a + 1 : b] - x[a], y[a + 1 : b] - y[a]
        length = math.hypot(dx, dy)
        far = np.abs(px * dy - py * dx) / length if length else np.hypot(px, py)
        k = int(np.argmax(far))
        if far[k] > TOLERANCE:
            k += a + 1
            keep[k] = True
            pending += [(a, k), (k, b)]
    return x[keep], y[keep]


def _points(x: np.ndarray, y: np.ndarray) -> str:
    """``x,y x,y ...`` with every `number` rounded at once."""
    xs, ys = (np.round(v, 2) + 0.0 for v in (x, y))
    return " ".join(f"{a:g},{b:g}" for a, b in zip(xs.tolist(), ys.tolist(), strict=True))
