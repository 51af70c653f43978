"""The benchmark scripts keep running (smoke test; timings are reported, never asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_schedule_benchmark_runs_quick() -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_schedules.py"), "--quick"],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    assert "SUMMARY:" in out.stdout
    assert "parity" in out.stdout


@pytest.mark.slow
def test_cli_benchmark_runs_small() -> None:
    out = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "bench_cli.py"),
            "--repeats=1",
            "--values-steps=100000",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    assert "| lrlab --help |" in out.stdout
    assert "values --steps 100,000 -o lr.npy" in out.stdout


@pytest.mark.slow
def test_torch_benchmark_runs_small() -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_torch.py"), "--steps=80", "--repeats=1"],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    assert "| StepLR | 256 |" in out.stdout
    assert "SUMMARY: worst step ratio" in out.stdout
