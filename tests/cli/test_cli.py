"""The `lrlab` command line, run in-process with exact expected output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import lrlab
from tests.cli import modules_after, run


def test_show_exact_output(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        capsys, "show", "StepLR(lr=0.1, step_size=30, gamma=0.5)", "--steps", "100"
    )
    assert (code, err) == (0, "")
    assert out == (
        "spec   step(init=0.1, period=30, gamma=0.5)\n"
        "steps  100 (t = 0 .. 99)\n"
        "first  0.1\n"
        "last   0.0125\n"
        "min    0.0125 at t = 90\n"
        "max    0.1 at t = 0\n"
        "mean   0.05375\n"
        "marks  30, 60, 90\n"
    )


def test_show_uses_the_schedules_own_length(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "show", "warmup(cosine(init=0.1, steps=900), steps=100)")
    assert code == 0
    assert "steps  1000 (t = 0 .. 999)" in out
    assert "marks  100\n" in out


def test_list_names_every_family_and_torch_name(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "list")
    assert code == 0
    for name in lrlab.families():
        assert f"\n  {name}(" in out
    assert "\n  cosine(init, steps, end=0.0, periodic=False)\n" in out
    assert "\n  StepLR(lr, step_size, gamma=0.1)\n" in out
    assert "\n      Half a cosine from init down to end over steps, then end.\n" in out


def test_values_csv_json_npy_equal_the_library(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    spec = "cosine_restarts(init=0.1, period=7, mult=2, end=0.001)"
    s = lrlab.parse(spec)
    code, out, _ = run(capsys, "values", spec, "--steps", "50", "--every", "3")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "step,lr"
    steps = [int(line.split(",")[0]) for line in lines[1:]]
    lrs = [float(line.split(",")[1]) for line in lines[1:]]
    assert steps == list(range(0, 50, 3))
    assert lrs == s(np.array(steps, dtype=float)).tolist()

    code, out, _ = run(capsys, "values", spec, "--steps", "50", "--format", "json")
    data = json.loads(out)
    assert data["spec"] == repr(s)
    assert data["step"] == list(range(50))
    assert data["lr"] == s.values(50).tolist()

    target = tmp_path / "lr.npy"
    code, out, _ = run(capsys, "values", spec, "--steps", "50", "-o", str(target))
    assert code == 0
    np.testing.assert_array_equal(np.load(target), s.values(50))


def test_values_streams_in_chunks(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lrlab.cli import commands

    monkeypatch.setattr(commands, "CHUNK", 7)
    s = lrlab.parse("cyclic(init=0.01, peak=0.1, up_steps=5)")
    for fmt in ("csv", "json", "npy"):
        target = tmp_path / f"out.{fmt}"
        assert (
            run(capsys, "values", repr(s), "--steps", "100", "--every", "2", "-o", str(target))[0]
            == 0
        )
        if fmt == "npy":
            got = np.load(target)
        elif fmt == "json":
            got = np.array(json.loads(target.read_text())["lr"])
        else:
            got = np.loadtxt(target, delimiter=",", skiprows=1)[:, 1]
        np.testing.assert_array_equal(got, s(np.arange(0, 100, 2.0)))


def test_plot_to_png_svg_pdf(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    import xml.etree.ElementTree as ET

    from PIL import Image

    specs = ["StepLR(lr=0.1, step_size=30, gamma=0.5)", "cosine(init=0.1, steps=200, end=1e-5)"]
    png = tmp_path / "lr.png"
    code, out, err = run(capsys, "plot", *specs, "--steps", "200", "-o", str(png))
    assert (code, out, err) == (0, f"wrote {png}\n", "")
    pixels = np.asarray(Image.open(png).convert("L"), dtype=float)
    assert pixels.shape[0] > 100
    assert pixels.var() > 50  # not blank
    svg = tmp_path / "lr.svg"
    assert run(capsys, "plot", *specs, "--steps", "200", "--log", "-o", str(svg))[0] == 0
    assert ET.parse(svg).getroot().tag.endswith("svg")
    pdf = tmp_path / "lr.pdf"
    assert (
        run(capsys, "plot", *specs, "--steps", "200", "--steps-per-epoch", "10", "-o", str(pdf))[0]
        == 0
    )
    assert pdf.read_bytes().startswith(b"%PDF")


def test_plot_in_the_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "plot", "linear(init=1.0, end=0.0, steps=10)", "--steps", "11")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("         1 ")
    assert lines[-1] == "[1] linear(init=1.0, end=0.0, steps=10)"
    assert len(lines) == 16 + 2


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["bogus"],
            "lrlab: error: argument COMMAND: invalid choice: 'bogus' (choose from * (see 'lrlab --help')",
        ),
        (
            ["plot", "cosine(init=0.1, steps=10)"],
            "lrlab: error: the following arguments are required: --steps (see 'lrlab plot --help')",
        ),
        (
            ["values", "cosine(init=0.1, steps=10)", "--steps", "0"],
            "lrlab: error: argument --steps: expected a positive int, got '0' (see 'lrlab values --help')",
        ),
        (
            ["values", "cosine(init=0.1, steps=10)", "--steps", "3", "--format", "xml"],
            "lrlab: error: argument --format: invalid choice: 'xml' (choose from * (see 'lrlab values --help')",
        ),
        (
            [
                "values",
                "cosine(init=0.1, steps=10)",
                "--steps",
                "3",
                "-o",
                "/nonexistent-dir/x.csv",
            ],
            "lrlab: error: -o: cannot write '/nonexistent-dir/x.csv': no such directory '/nonexistent-dir'",
        ),
        (
            ["values", "cosine(init=0.1, steps=10)", "--steps", "3", "-o", "x.txt"],
            "lrlab: error: cannot tell the format of 'x.txt': give --format csv|json|npy",
        ),
        (
            ["plot", "cosine(init=0.1, steps=10)", "--steps", "3", "-o", "x.gif"],
            "lrlab: error: -o: cannot tell the format of 'x.gif': use .png, .svg or .pdf",
        ),
        (
            ["plot", "cosine(init=0.1, steps=10)", "--steps", "3", "-o", "/nonexistent-dir/x.png"],
            "lrlab: error: -o: cannot write '/nonexistent-dir/x.png': no such directory '/nonexistent-dir'",
        ),
        (
            ["show", "cosin(init=0.1, steps=10)"],
            "lrlab: error: column 1: unknown schedule 'cosin'; did you mean 'cosine'? in 'cosin(init=0.1, steps=10)'",
        ),
        (
            ["show", "cosine(init=0.1, steps=0)"],
            "lrlab: error: column 24: cosine: steps must be a positive int, got 0 in 'cosine(init=0.1, steps=0)'",
        ),
        (
            ["show", "plateau(init=0.1)"],
            "lrlab: error: 'plateau(init=0.1)' has a metric-driven plateau phase: its values depend on the metric, so there is no curve to compute without one",
        ),
    ],
)
def test_bad_usage_exits_2_with_one_line(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, out, err = run(capsys, *argv)
    assert (code, out) == (2, "")
    # argparse quotes the choices on some Python versions and not on others
    head, _, tail = message.partition("*")
    assert err.startswith(head)
    assert err.endswith(tail + "\n")
    assert err.count("\n") == 1


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--help")
    assert code == 0
    assert out.startswith("usage: lrlab [-h] [--version] COMMAND ...")


@pytest.mark.slow
def test_cli_never_imports_torch(tmp_path: Path) -> None:
    assert modules_after(["--help"], tmp_path) == set()
    plotted = modules_after(
        ["plot", "cosine(init=0.1, steps=10)", "--steps", "10", "-o", "x.png"], tmp_path
    )
    assert "torch" not in plotted
    assert "matplotlib" in plotted
    assert "torch" not in modules_after(
        ["values", "cosine(init=0.1, steps=10)", "--steps", "10"], tmp_path
    )


@pytest.mark.slow
def test_console_script_and_python_m_work() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "lrlab", "show", "constant(value=0.5)", "--steps", "3"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.splitlines()[0] == "spec   constant(value=0.5)"
    bad = subprocess.run(
        [sys.executable, "-m", "lrlab", "show", "nope("],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 2
    assert len(bad.stderr.splitlines()) == 1
    assert "Traceback" not in bad.stderr
    script = Path(sys.executable).parent / "lrlab"
    assert subprocess.run([str(script), "--help"], capture_output=True, check=False).returncode == 0


def test_more_usage_errors_and_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "values", "constant(value=1.0)", "--steps", str(10**20))
    assert (code, out) == (2, "")
    assert (
        err
        == f"lrlab: error: argument --steps: expected at most 2**52 steps, got '{10**20}' (see 'lrlab values --help')\n"
    )
    code, out, _ = run(capsys, "--version")
    assert (code, out) == (0, f"lrlab {lrlab.__version__}\n")


def test_show_of_an_open_ended_schedule_uses_1000_steps(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "show", "warmup(exponential(init=0.1, gamma=0.99), steps=10)")
    assert code == 0
    assert "steps  1000 (t = 0 .. 999)\n" in out
    assert "max    0.1 at t = 10\n" in out


def test_log_plot_of_a_curve_that_reaches_zero(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, _ = run(
        capsys, "plot", "linear(init=0.1, end=0.0, steps=10)", "--steps", "12", "--log"
    )
    assert code == 0
    assert "1e-300" not in out
    assert (
        run(
            capsys,
            "plot",
            "linear(init=0.1, end=0.0, steps=10)",
            "--steps",
            "12",
            "--log",
            "-o",
            str(tmp_path / "x.png"),
        )[0]
        == 0
    )


@pytest.mark.slow
def test_a_closed_pipe_is_not_an_error() -> None:
    pipe = subprocess.run(
        f"'{sys.executable}' -m lrlab values 'constant(value=1.0)' --steps 3000000 | head -1",
        shell=True,
        capture_output=True,
        text=True,
        check=False,
    )
    assert pipe.stdout == "step,lr\n"
    assert pipe.stderr == ""
