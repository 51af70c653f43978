"""Tests of the command line; `run` and `modules_after` are shared by every CLI test."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from lrlab.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """``lrlab argv`` in this process: its exit code, stdout and stderr."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def modules_after(argv: list[str], cwd: Path) -> set[str]:
    """Which of torch, matplotlib and numpy a fresh process has imported after `main(argv)`."""
    code = (
        "import sys; from lrlab.cli import main; main(sys.argv[1:]); "
        "print('MODULES', *sorted(m for m in ('torch', 'matplotlib', 'numpy') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, *argv], capture_output=True, text=True, check=True, cwd=cwd
    )
    line = next(line for line in out.stdout.splitlines() if line.startswith("MODULES"))
    return set(line.split()[1:])
