"""The find_lr benchmark keeps running (smoke test; timings are reported, never asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_find_lr_benchmark_runs_quick() -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_find_lr.py"), "--quick"],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    assert "| lrlab find_lr |" in out.stdout
    assert "| torch-lr-finder range_test |" in out.stdout
    assert "SUMMARY: ratio lrlab/torch-lr-finder" in out.stdout
