"""Hostile input to `lrlab show/plot/values`: exit 2 (or 1 for a full disk), one line."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import lrlab
from tests.cli import modules_after, run


def nested_warmups(depth: int) -> str:
    return "warmup(" * depth + "constant(value=0.1)" + ", steps=1)" * depth


def test_nested_warmup_takes_linear_time(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []
    leaf = lrlab.constant._eval

    def counted(self: lrlab.constant, t: object, driven: float | None) -> object:
        calls.append(1)
        return leaf(self, t, driven)  # type: ignore[arg-type]

    monkeypatch.setattr(lrlab.constant, "_eval", counted)
    code, out, err = run(capsys, "values", nested_warmups(22), "--steps", "3")
    assert (code, err) == (0, "")
    assert out == "step,lr\n0,0.0\n1,0.0\n2,0.0\n"
    assert len(calls) == 1  # one evaluation of the innermost schedule, not 2**22


def test_absurd_nesting_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "values", nested_warmups(40), "--steps", "3")
    assert (code, out) == (2, "")
    assert err.startswith("lrlab: error: column 225: schedules nested more than 32 deep in ")
    assert err.endswith("…'\n")
    assert err.count("\n") == 1


def test_show_of_a_huge_schedule_samples(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    evaluated = []
    inner = lrlab.cosine._eval

    def counted(self: lrlab.cosine, t: object, driven: float | None) -> object:
        evaluated.append(len(t))  # type: ignore[arg-type]
        return inner(self, t, driven)  # type: ignore[arg-type]

    monkeypatch.setattr(lrlab.cosine, "_eval", counted)
    code, out, err = run(capsys, "show", "cosine(init=0.1, steps=10**12)")
    assert (code, err) == (0, "")
    assert sum(evaluated) < 10**6
    assert out == (
        "spec   cosine(init=0.1, steps=1000000000000)\n"
        "steps  1000000000000 (t = 0 .. 999999999999)\n"
        "first  0.1\n"
        "last   0\n"
        "min    ≈ 0 at t = 999999996647\n"
        "max    ≈ 0.1 at t = 0\n"
        "mean   ≈ 0.05\n"
        "marks  none\n"
        "note   ≈: from sampled steps (both ends, the marks, evenly spread)\n"
    )
    code, out, _ = run(capsys, "show", "step(init=0.1, period=1, gamma=0.5)", "--steps", "2**52")
    assert code == 2  # argparse reads ints, not arithmetic
    code, out, _ = run(capsys, "show", "step(init=0.1, period=1, gamma=0.5)", "--steps", str(2**52))
    assert code == 0
    assert "marks  1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, ... (4503599627370495 in all)\n" in out


def test_show_says_how_many_marks(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "show", "StepLR(lr=0.1, step_size=2)", "--steps", "5000")
    assert code == 0
    assert "marks  2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, ... (2499 in all)\n" in out
    assert "note" not in out


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("cosine", "column 1: 'cosine' needs its parameters: cosine(init=..., steps=...)"),
        (
            "cosine(init=0.1 % 3, steps=10)",
            "column 13: the operator '%' is not allowed in a spec; "
            "arithmetic on numbers may use + - * / ** only",
        ),
        (
            "cosine(init=-~1, steps=10)",
            "column 14: the operator '~' is not allowed in a spec; "
            "arithmetic on numbers may use + - * / ** only",
        ),
        (
            "cosine(init=0.1,\n  steps=10 10)",
            "line 2, column 9: not a valid spec: invalid syntax. Perhaps you forgot a comma?",
        ),
        (
            "product([constant(value=1e10), constant(value=1e10)])",
            "column 1: product: the product of the factors can reach 1e+20, above the "
            "largest learning rate 1e+10",
        ),
        (
            "scale(scale(constant(value=1e5), factor=1e5), factor=10)",
            "column 1: scale: inner times factor=10.0 can reach 1e+11, above the largest "
            "learning rate 1e+10",
        ),
    ],
)
def test_messages_in_the_users_terms(
    capsys: pytest.CaptureFixture[str], spec: str, message: str
) -> None:
    code, out, err = run(capsys, "show", spec)
    assert (code, out) == (2, "")
    assert err.startswith(f"lrlab: error: {message} in ")
    assert err.count("\n") == 1


def test_a_long_spec_is_abbreviated(capsys: pytest.CaptureFixture[str]) -> None:
    spec = "piecewise_constant(boundaries=[" + ", ".join(map(str, range(1, 3000))) + "], lrs=[1])"
    code, _, err = run(capsys, "values", spec, "--steps", "3")
    assert code == 2
    assert len(err) < 400
    assert err.endswith(f" in {spec[:60] + '…'!r}\n")


def test_values_json_is_always_valid_json(capsys: pytest.CaptureFixture[str]) -> None:
    spec = "product([constant(value=1e5), scale(constant(value=1e-300), factor=1e10)])"
    code, out, _ = run(capsys, "values", spec, "--steps", "2", "--format", "json")
    assert code == 0

    def refuse(name: str) -> float:
        raise AssertionError(f"not JSON: {name}")

    assert json.loads(out, parse_constant=refuse)["lr"] == [1e-285, 1e-285]


def test_a_full_disk_exits_1_naming_the_file(capsys: pytest.CaptureFixture[str]) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full here")
    code, out, err = run(
        capsys,
        "values",
        "constant(value=1)",
        "--steps",
        "100000",
        "-o",
        "/dev/full",
        "--format",
        "csv",
    )
    assert (code, out) == (1, "")
    assert err == "lrlab: failed: cannot write '/dev/full': No space left on device\n"


def _output_cases(tmp: Path) -> list[tuple[str, str]]:
    (tmp / "file").write_text("x")
    (tmp / "dir.png").mkdir()
    return [
        ("", "-o: the output path is empty"),
        (str(tmp / "dir.png"), f"-o: {str(tmp / 'dir.png')!r} is a directory, not a file"),
        (
            str(tmp / "file" / "x.png"),
            f"-o: cannot write {str(tmp / 'file' / 'x.png')!r}: "
            f"{str(tmp / 'file')!r} is not a directory",
        ),
    ]


@pytest.mark.parametrize("command", ["plot", "values"])
def test_bad_output_paths_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, command: str
) -> None:
    for path, message in _output_cases(tmp_path):
        code, out, err = run(capsys, command, "constant(value=1)", "--steps", "3", "-o", path)
        assert (code, out, err) == (2, "", f"lrlab: error: {message}\n"), path
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dir.png", "file"]


@pytest.mark.parametrize("command", ["plot", "values"])
def test_a_read_only_directory_exits_2(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    command: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if os.geteuid() == 0:  # root may write anywhere: let the directory say it is read-only
        real = os.access
        monkeypatch.setattr(os, "access", lambda p, m: m != os.W_OK and real(p, m))
    tmp_path.chmod(0o500)
    try:
        target = str(tmp_path / "x.png")
        code, _, err = run(capsys, command, "constant(value=1)", "--steps", "3", "-o", target)
    finally:
        tmp_path.chmod(0o700)
    assert code == 2
    assert err == f"lrlab: error: -o: cannot write {target!r}: the directory is not writable\n"


@pytest.mark.parametrize(
    "argv",
    [
        ["constant(value=0)", "--steps", "1", "--log"],
        ["linear(init=0.1, end=0.0, steps=10)", "constant(value=1e-300)", "--steps", "12", "--log"],
        ["exponential(init=1, gamma=0.000001)", "--steps", "1000", "--log"],
        [
            "cosine(init=0.1, steps=10**12)",
            "--steps",
            str(2**52),
            "--log",
            "--steps-per-epoch",
            "7",
        ],
        ["cosine(init=0.1, steps=100)", "--steps", "100", "--title", "T" * 10_000],
    ],
)
@pytest.mark.parametrize("suffix", ["png", "svg", None])
def test_plot_leaks_no_warnings(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: list[str], suffix: str | None
) -> None:
    # warnings are errors in this suite, so any warning would make the command fail
    extra = [] if suffix is None else ["-o", str(tmp_path / f"lr.{suffix}")]
    code, _, err = run(capsys, "plot", *argv, *extra)
    assert (code, err) == (0, "")


@pytest.mark.slow
@pytest.mark.parametrize(
    "argv", [["--help"], ["show", "--help"], ["values", "--help"], ["plot", "x"], ["bogus"]]
)
def test_help_and_usage_errors_load_no_numpy(tmp_path: Path, argv: list[str]) -> None:
    assert modules_after(argv, tmp_path) == set()
