"""Tests of the command line; `modules_after` is shared by its import checks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


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
