"""The benchmark scripts keep running (smoke test; timings are reported, never asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


CASES = [
    ("bench_schedules.py", ["--quick"], ["SUMMARY:", "parity"]),
    (
        "bench_cli.py",
        ["--repeats=1", "--values-steps=100000"],
        ["| lrlab --help |", "values --steps 100,000 -o lr.npy"],
    ),
    (
        "bench_torch.py",
        ["--steps=80", "--repeats=1"],
        ["| StepLR | 256 |", "SUMMARY: worst step ratio"],
    ),
    (
        "bench_find_lr.py",
        ["--quick"],
        [
            "| lrlab find_lr |",
            "| torch-lr-finder range_test |",
            "SUMMARY: ratio lrlab/torch-lr-finder",
        ],
    ),
    (
        "bench_lab.py",
        ["--model=mlp-bn", "--epochs=2", "--seeds=1", "--repeats=1", "--skip-jobs"],
        ["ratio lab/bare", "same numbers: True", "second run (all stored)"],
    ),
    (
        "bench_engines.py",
        ["--model=mlp-bn", "--epochs=2", "--seeds=1", "--repeats=1"],
        ["ratio sequential/batched", "peak RSS", "verdicts agree"],
    ),
    (
        "bench_serve.py",
        ["--quick", "--no-browser"],
        ["| curve 100,000 steps |", "| experiment (50 runs) |", "SUMMARY: curve 100k max"],
    ),
    (
        "bench_tune.py",
        ["--trials=2", "--epochs=2", "--model=mlp", "--seeds=2"],
        ["| pruned |", "SUMMARY (halving): time ratio pruned/unpruned"],
    ),
]


@pytest.mark.slow
@pytest.mark.parametrize(("script", "args", "expected"), CASES, ids=[c[0] for c in CASES])
def test_benchmark_runs_small(script: str, args: list[str], expected: list[str]) -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    for text in expected:
        assert text in out.stdout
