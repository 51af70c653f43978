"""The report's figures in `lrlab.plot`: small multiples, every schedule against the leader."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from lrlab import plot
from lrlab.plot import LEADER_COLOR, Trace, color, lr_grid, svg_text, versus_leader

EPOCHS = 12


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


def leader_lines(ax: object) -> list[object]:
    return [
        line
        for line in ax.get_lines()  # type: ignore[attr-defined]
        if line.get_label() == "_leader" and line.get_color() == LEADER_COLOR
    ]


def drawn(figure: object) -> str:
    """Draw the figure to SVG with every warning an error (matplotlib warns while drawing)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return svg_text(figure)  # type: ignore[arg-type]


def test_ten_schedules_each_against_the_leader() -> None:
    traces = [trace(i) for i in range(10)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        figure = versus_leader(traces, leader=6)
    svg = drawn(figure)
    grid = np.array(figure.axes).reshape(10, 4)
    for i, axes in enumerate(grid):
        title = f"schedule {i}" + (" (leader)" if i == 6 else "")
        assert axes[0].get_title(loc="left") == title
        assert [ax.get_title(loc="right") for ax in axes[1:]] == [
            "train loss",
            "validation loss",
            "validation accuracy",
        ]
        for ax in axes:
            assert len(leader_lines(ax)) == 1, (i, ax.get_title(loc="right"))
            own = [line for line in ax.get_lines() if line.get_color() == color(i)]
            assert len(own) == 1
        lr = leader_lines(axes[0])[0]
        assert np.array_equal(lr.get_xdata(), traces[6].lr_epochs)  # type: ignore[attr-defined]
        loss = leader_lines(axes[2])[0]
        expected = np.asarray(traces[6].metrics["val_loss"]).mean(axis=0)
        assert np.allclose(loss.get_ydata(), expected)  # type: ignore[attr-defined]
        assert len(axes[2].collections) == 1  # the min-max band
    assert [ax.get_yscale() for ax in grid[0]] == ["linear", "log", "log", "linear"]
    assert "the leader, schedule 6" in figure.get_suptitle()
    assert len(svg) < 600_000  # forty panels, text kept as text


def test_log_columns_leave_out_what_they_cannot_show() -> None:
    bad = trace(1)
    loss = np.array(bad.metrics["val_loss"])
    loss[:, 3] = 0.0
    loss[0, 4] = -1.0
    loss[1, 5] = np.nan
    bad = bad._replace(metrics={**bad.metrics, "val_loss": loss})
    figure = versus_leader([trace(0), bad], leader=0)
    drawn(figure)
    grid = np.array(figure.axes).reshape(2, 4)
    assert grid[0, 2].get_yscale() == "log"
    shown = grid[1, 2].get_lines()[-1].get_ydata()
    assert np.isnan(shown[3])
    assert np.isfinite(shown[6])
    zero = {"train_loss": np.zeros((2, EPOCHS)), "val_accuracy": np.ones((2, EPOCHS))}
    figure = versus_leader([trace(2)._replace(metrics=zero), trace(3, seeds=2)], leader=0)
    drawn(figure)
    grid = np.array(figure.axes).reshape(2, 4)
    assert grid[0, 1].get_yscale() == "log"  # trace 3 has positive train losses
    figure = versus_leader([trace(2)._replace(metrics=zero)], leader=0)
    drawn(figure)
    assert [ax.get_yscale() for ax in figure.axes] == ["linear"] * 4  # nothing positive
    assert len(figure.axes[2].get_lines()) == 0  # no validation loss at all


def test_without_a_leader_or_with_missing_curves() -> None:
    empty = Trace("diverged", [], [], {})
    one = trace(3, seeds=1)
    figure = versus_leader([one, empty], leader=None)
    drawn(figure)
    assert all(not leader_lines(ax) for ax in figure.axes)
    assert figure.get_suptitle().startswith("first column: learning rate; no leader")
    assert all(len(ax.collections) == 0 for ax in figure.axes)  # one seed: no band
    assert [len(ax.get_lines()) for ax in figure.axes[4:]] == [1, 0, 0, 0]


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


def test_lr_grid_is_small_multiples_in_order() -> None:
    curves = [(f"$x{i}$" if i == 2 else f"s{i}", [0, 1, 2], [0.1, 0.05, 0.0]) for i in range(7)]
    figure = lr_grid(curves)
    svg = drawn(figure)
    shown = [ax for ax in figure.axes if ax.get_visible()]
    assert len(figure.axes) == 10
    assert len(shown) == 7
    assert [ax.get_title() for ax in shown] == ["s0", "s1", r"\$x2\$", "s3", "s4", "s5", "s6"]
    assert [ax.get_lines()[0].get_color() for ax in shown] == [color(i) for i in range(7)]
    assert ">$x2$<" in svg  # a dollar starts no math text: the name as written


def test_svg_text_keeps_text_as_escaped_text() -> None:
    figure = lr_grid([("<script>alert(1)</script>", [0, 1], [0.1, 0.1])])
    svg = drawn(figure)
    assert svg.startswith("<svg")
    assert "<script" not in svg
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in svg


def test_plot_does_not_import_the_lab_or_torch() -> None:
    import subprocess
    import sys

    code = (
        "import sys, lrlab.plot; "
        "print(sorted(m for m in sys.modules if m == 'torch' or m.startswith('lrlab.lab')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
    assert plot.PALETTE[0] == color(0)
