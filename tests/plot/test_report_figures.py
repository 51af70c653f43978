"""The report's figures in `lrlab.plot`: SVG small multiples, every schedule against the leader."""

from __future__ import annotations

import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from lrlab import _svg, plot
from lrlab.plot import LEADER_COLOR, Trace, color, lr_grid, versus_leader

EPOCHS = 12
SVG = "{http://www.w3.org/2000/svg}"
NUMBER = re.compile(r"-?\d+(?:\.\d{1,2})?")


def trace(i: int, seeds: int = 3) -> Trace:
    rng = np.random.default_rng(i)
    x = np.arange(1, EPOCHS + 1)
    acc = 0.98 - 0.4 * np.exp(-x / (2 + i / 4)) + rng.normal(0, 0.003, (seeds, EPOCHS))
    loss = 0.05 + 2 * np.exp(-x / (2 + i / 4)) * rng.uniform(0.9, 1.1, (seeds, 1))
    steps = np.arange(0, EPOCHS * 10, 2) / 10
    return Trace(
        f"schedule {i}",
        steps,
        0.1 * np.cos(0.5 * np.pi * steps / EPOCHS) ** (i % 3),
        {"train_loss": 0.8 * loss, "val_loss": loss, "val_accuracy": acc},
    )


def parse(svg: str) -> ET.Element:
    """The figure as XML, after checking every coordinate is a short finite number."""
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    assert root.get("viewBox") == f"0 0 {root.get('width')} {root.get('height')}"
    for element in root.iter():
        for key in ("points", "d", "transform", "x", "y", "width", "height"):
            value = element.get(key)
            if value is None or (key == "transform" and value.startswith("rotate")):
                continue
            numbers = re.findall(r"[-\d.a-z]+", re.sub(r"[MVHvh(),]|translate", " ", value))
            assert numbers, (key, value)
            assert all(NUMBER.fullmatch(n) for n in numbers), (key, value)
    return root


def panels(root: ET.Element) -> list[ET.Element]:
    return [g for g in root.iter(f"{SVG}g") if g.get("class") == "panel"]


def lines(panel: ET.Element, **attributes: str) -> list[ET.Element]:
    found = panel.iter(f"{SVG}polyline")
    return [e for e in found if all(e.get(k) == v for k, v in attributes.items())]


def points(element: ET.Element) -> np.ndarray:
    return np.array([[float(v) for v in p.split(",")] for p in element.get("points", "").split()])


def texts(element: ET.Element) -> list[str]:
    return [t.text or "" for t in element.iter(f"{SVG}text")]


def title(panel: ET.Element) -> str:
    """A panel's title: its last text (tick labels come first)."""
    return texts(panel)[-1]


def y_labels(panel: ET.Element) -> list[str]:
    groups = [g for g in panel.iter(f"{SVG}g") if g.get("text-anchor") == "end"]
    return texts(groups[0])


def test_ten_schedules_each_against_the_leader() -> None:
    traces = [trace(i) for i in range(10)]
    svg = versus_leader(traces, leader=6)
    root = parse(svg)
    grid = np.array(panels(root), dtype=object).reshape(10, 4)
    heads = ["learning rate", "train loss", "validation loss", "validation accuracy"]
    assert texts(root)[:4] == heads
    assert any(t.startswith("dashed grey: the leader, schedule 6;") for t in texts(root))
    for i, row in enumerate(grid):
        assert title(row[0]) == f"schedule {i}" + (" (leader)" if i == 6 else "")
        for panel in row:
            leader = lines(panel, **{"class": "leader", "stroke": LEADER_COLOR})
            assert len(leader) == 1
            assert leader[0].get("stroke-dasharray")
            assert len(lines(panel, stroke=color(i))) == 1
        assert [len(list(p.iter(f"{SVG}polygon"))) for p in row] == [0, 1, 1, 1]
        leader_lr = lines(row[0], **{"class": "leader"})[0].get("points")
        assert leader_lr == lines(grid[6, 0], stroke=color(6))[0].get("points")
    # each column shares its y axis: the same tick labels in every row; the losses on log axes
    assert all(y_labels(p) == y_labels(grid[0, 2]) for p in grid[:, 2])
    assert y_labels(grid[0, 1]) == ["0.1", "1"]
    assert y_labels(grid[0, 2]) == ["0.1", "1"]
    assert y_labels(grid[0, 3]) == ["0.85", "0.9", "0.95"]
    assert len(svg) < 100_000


def test_mean_line_and_band_are_the_seeds() -> None:
    a = Trace("a", [0.0, 1.0], [0.1, 0.1], {"val_accuracy": [[0.5, 0.7], [0.7, 0.9]]})
    metrics = [("val_accuracy", "validation accuracy", False)]
    root = parse(versus_leader([a], leader=0, metrics=metrics))
    panel = panels(root)[1]
    y = _svg.Scale(0.5 - 0.032, 0.9 + 0.032, 90, flip=True)
    x = _svg.Scale(0, 2, 220, integer=True)
    mean = points(lines(panel, stroke=color(0))[0])
    assert np.allclose(mean, np.c_[x.map([1, 2]), y.map([0.6, 0.8])], atol=0.01)
    band = points(next(panel.iter(f"{SVG}polygon")))
    assert np.allclose(band[:, 1], y.map([0.7, 0.9, 0.7, 0.5]), atol=0.01)
    assert np.array_equal(points(lines(panel, **{"class": "leader"})[0]), mean)


def test_log_columns_leave_out_what_they_cannot_show() -> None:
    bad = trace(1)
    loss = np.array(bad.metrics["val_loss"])
    loss[:, 3] = 0.0
    loss[0, 4] = -1.0
    loss[1, 5] = np.nan
    bad = bad._replace(metrics={**bad.metrics, "val_loss": loss})
    root = parse(versus_leader([trace(0), bad], leader=0))
    grid = np.array(panels(root), dtype=object).reshape(2, 4)
    assert y_labels(grid[0, 2]) == ["0.1", "1"]
    parts = lines(grid[1, 2], stroke=color(1))
    x = _svg.Scale(0, EPOCHS, 220, integer=True)
    ends = [points(p)[[0, -1], 0] for p in parts]  # epochs 4 to 6 left out
    assert np.allclose(ends, [x.map([1, 3]), x.map([7, EPOCHS])], atol=0.01)
    assert len(list(grid[1, 2].iter(f"{SVG}polygon"))) == 2  # the band breaks there too
    zero = {"train_loss": np.zeros((2, EPOCHS)), "val_accuracy": np.ones((2, EPOCHS))}
    root = parse(versus_leader([trace(2)._replace(metrics=zero), trace(3, seeds=2)], leader=0))
    grid = np.array(panels(root), dtype=object).reshape(2, 4)
    assert y_labels(grid[0, 1]) == ["0.1", "1"]  # trace 3 has positive train losses
    assert lines(grid[0, 1], stroke=color(0)) == []  # and trace 2's zeros are left out
    root = parse(versus_leader([trace(2)._replace(metrics=zero)], leader=0))
    first = panels(root)
    assert y_labels(first[1]) == ["-0.04", "-0.02", "0", "0.02", "0.04"]  # linear, around 0
    assert lines(first[2]) == []  # no validation loss at all


def test_without_a_leader_or_with_missing_curves() -> None:
    empty = Trace("diverged", [], [], {})
    svg = versus_leader([trace(3, seeds=1), empty], leader=None)
    root = parse(svg)
    assert 'class="leader"' not in svg
    assert any(t.startswith("no leader: no schedule finished on every seed;") for t in texts(root))
    assert "<polygon" not in svg  # one seed: no band
    assert [len(lines(p)) for p in panels(root)] == [1, 1, 1, 1, 0, 0, 0, 0]


@pytest.mark.parametrize(
    "name", ["<script>alert(1)</script>", "$x$", "_hidden", "a & b \"q\" 'q'", "tab\x01bell"]
)
def test_names_are_shown_verbatim_and_safely(name: str) -> None:
    shown = name.replace("\x01", "\ufffd")
    svg = lr_grid([(name, [0, 1], [0.1, 0.1])])
    assert "<script" not in svg
    assert title(panels(parse(svg))[0]) == shown
    root = parse(versus_leader([Trace(name, [0, 1], [0.1, 0.1], {})], leader=0))
    assert title(panels(root)[0]) == f"{shown} (leader)"
    assert any(t.startswith(f"dashed grey: the leader, {shown};") for t in texts(root))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: versus_leader([], leader=None), "versus_leader: nothing to draw, got no traces"),
        (
            lambda: versus_leader([trace(0)], leader=1),
            "versus_leader: leader must be at most 0, got 1",
        ),
        (
            lambda: versus_leader([Trace("x", [0, 1], [0.1], {})], leader=None),
            "versus_leader: the epochs and values of 'x' must be 1-d and of one length, "
            "got shapes (2,) and (1,)",
        ),
        (
            lambda: versus_leader([Trace("x", [], [], {"val_loss": [0.1, 0.2]})], leader=None),
            "versus_leader: val_loss of 'x' must be a non-empty array of seeds x epochs, "
            "got shape (2,)",
        ),
        (lambda: lr_grid([]), "lr_grid: nothing to draw, got no curves"),
        (lambda: lr_grid([("a", [0], [1.0])], columns=0), "lr_grid: columns must be a positive"),
    ],
)
def test_bad_input_names_the_function(call: object, message: str) -> None:
    with pytest.raises((ValueError, TypeError)) as error:
        call()  # type: ignore[operator]
    assert str(error.value).startswith(message)


def test_lr_grid_is_small_multiples_of_steps_in_order() -> None:
    curves = [(f"s{i}", [0, 1, 2], [0.1, 0.05, 0.0]) for i in range(7)]
    curves[3] = ("s3", [0, 1, 2], [0.1, np.inf, np.nan])
    root = parse(lr_grid(curves))
    shown = panels(root)
    assert [title(p) for p in shown] == [f"s{i}" for i in range(7)]
    assert [lines(p)[0].get("stroke") for p in shown] == [color(i) for i in range(7)]
    x = _svg.Scale(0, 2, 170, integer=True)
    y = _svg.Scale(0, 0.105, 100, flip=True)
    steps = np.c_[x.map([0, 1, 1, 2, 2]), y.map([0.1, 0.1, 0.05, 0.05, 0])]
    assert np.allclose(points(lines(shown[0])[0]), steps, atol=0.01)  # steps-post
    assert len(points(lines(shown[3])[0])) == 2  # the finite first step only
    assert {"epoch", "learning rate"} <= set(texts(root))
    origins = [p.get("transform") for p in shown]
    assert origins[0] == "translate(62 24)"
    assert origins[1].startswith("translate(284 ")  # five panels a row, one beside the other
    assert origins[5].startswith("translate(62 ")
    assert origins[5] != origins[0]


def test_simplified_lines_stay_close_and_small() -> None:
    x = np.linspace(0, 200, 2000)
    y = 50 + 40 * np.cos(x / 30)
    drawn = points(ET.fromstring(f'<g xmlns="{SVG[1:-1]}">{_svg.line(x, y)}</g>')[0])
    assert len(drawn) < 60
    start, end = drawn[:-1], drawn[1:]
    step = end - start
    point = np.c_[x, y][:, None, :]
    at = np.clip(((point - start) * step).sum(axis=2) / (step**2).sum(axis=1), 0, 1)
    away = np.hypot(*np.moveaxis(point - (start + at[..., None] * step), 2, 0)).min(axis=1)
    assert away.max() <= _svg.TOLERANCE + 0.01
    plateau = _svg.line(np.arange(1000.0), np.repeat([5.0, 7.0], 500), steps=True)
    assert plateau == '<polyline points="0,5 500,5 500,7 999,7"/>'


@pytest.mark.parametrize(
    ("low", "high", "integer", "expected"),
    [
        (0, 1, False, [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]),
        (0, 0.105, False, [0.0, 0.025, 0.05, 0.075, 0.1]),
        (0.93, 0.985, False, [0.94, 0.96, 0.98]),
        (-0.05, 0.05, False, [-0.04, -0.02, 0.0, 0.02, 0.04]),
        (0, 1e-4, False, [0.0, 2e-05, 4e-05, 6e-05, 8e-05, 0.0001]),
        (0, 12, True, [0.0, 5.0, 10.0]),
        (0, 3, True, [0.0, 1.0, 2.0, 3.0]),
        (0, 200, True, [0.0, 50.0, 100.0, 150.0, 200.0]),
        (2, 2, False, [2]),
    ],
)
def test_linear_ticks_are_nice(
    low: float, high: float, integer: bool, expected: list[float]
) -> None:
    assert _svg.ticks(low, high, integer=integer) == expected


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [
        (0.04, 1.6, [0.1, 1.0]),
        (1e-6, 10, [1e-06, 0.0001, 0.01, 1.0]),
        (0.03, 0.4, [0.05, 0.1, 0.2]),
        (0.3, 0.45, [0.3, 0.35, 0.4, 0.45]),
        (2.0, 80.0, [2.0, 5.0, 10.0, 20.0, 50.0]),
    ],
)
def test_log_ticks_are_decades_or_the_1_2_5_series(
    low: float, high: float, expected: list[float]
) -> None:
    assert _svg.log_ticks(low, high) == expected
    assert [_svg.label(v) for v in [1e-06, 0.0001, 0.01, 1.0, 100.0]] == [
        "1e-6",
        "0.0001",
        "0.01",
        "1",
        "100",
    ]


def test_plot_does_not_import_the_lab_torch_or_matplotlib() -> None:
    code = (
        "import sys, lrlab.plot as p; "
        "p.lr_grid([('a', [0, 1], [0.1, 0.1])]); "
        "p.versus_leader([p.Trace('a', [0, 1], [0.1, 0.1], {'val_loss': [[0.5]]})], 0); "
        "print(sorted(m for m in sys.modules if m in ('torch', 'matplotlib') "
        "or m.startswith('lrlab.lab')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
    assert plot.PALETTE[0] == color(0)
