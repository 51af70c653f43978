"""Cold-start timings of the ``lrlab`` command line, side by side with ``python -c pass``.

Each command runs as a fresh process (best of ``--repeats``), so the numbers include
interpreter start-up and imports, as a user sees them. Targets (over the baseline):
``--help``, ``show --help`` and a usage error < 0.1 s (they load no numpy), ``list``
< 0.3 s, ``show`` of a 10^12-step schedule (sampled, not walked) < 1 s,
``plot SPEC -o x.png`` < 1.5 s. ``values`` of 10^8 steps
to a file reports its time and peak memory (max RSS), which must stay flat as steps grow.

Run: ``.venv/bin/python benchmarks/bench_cli.py [--repeats N] [--values-steps N]``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LRLAB = [sys.executable, "-m", "lrlab"]
SPEC = "cosine(init=0.1, steps=200, end=1e-5)"


def timed(argv: list[str], repeats: int, cwd: str) -> float:
    """Best wall time of ``repeats`` runs of ``argv`` as a fresh process."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True, cwd=cwd)
        best = min(best, time.perf_counter() - start)
    return best


def peak_rss_mb(argv: list[str], cwd: str) -> tuple[float, float]:
    """(wall seconds, max RSS in MB) of one run of ``argv`` in a child process."""
    code = (
        "import resource, subprocess, sys, time; t = time.perf_counter(); "
        "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); "
        "print(time.perf_counter() - t, "
        "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, *argv], check=True, capture_output=True, text=True, cwd=cwd
    )
    seconds, megabytes = out.stdout.split()
    return float(seconds), float(megabytes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--values-steps", type=int, default=100_000_000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        base = timed([sys.executable, "-c", "pass"], args.repeats, tmp)
        rows = [
            ("lrlab --help", [*LRLAB, "--help"], 0.1),
            ("lrlab show --help", [*LRLAB, "show", "--help"], 0.1),
            ("lrlab list", [*LRLAB, "list"], 0.3),
            ("lrlab show SPEC", [*LRLAB, "show", SPEC], None),
            ("lrlab show 10^12 steps", [*LRLAB, "show", "cosine(init=0.1, steps=10**12)"], 1.0),
            (
                "lrlab plot SPEC -o x.png",
                [*LRLAB, "plot", SPEC, "--steps", "200", "-o", "x.png"],
                1.5,
            ),
        ]
        print(f"baseline `python -c pass`: {base * 1e3:.0f} ms (best of {args.repeats})\n")
        print("| command | time (ms) | over baseline (ms) | target over baseline | ok |")
        print("|---|---|---|---|---|")
        for name, command, target in rows:
            seconds = timed(command, args.repeats, tmp)
            over = seconds - base
            verdict = "" if target is None else ("yes" if over < target else "NO")
            shown = "" if target is None else f"< {target * 1e3:.0f}"
            print(f"| {name} | {seconds * 1e3:.0f} | {over * 1e3:.0f} | {shown} | {verdict} |")
        print()
        for steps in (args.values_steps // 100, args.values_steps):
            for fmt in ("npy", "csv"):
                if fmt == "csv" and steps > 10_000_000:
                    continue  # CSV of 10^8 rows is ~2.5 GB of text; npy shows the streaming
                target = Path(tmp) / f"lr.{fmt}"
                seconds, rss = peak_rss_mb(
                    [*LRLAB, "values", SPEC, "--steps", str(steps), "-o", str(target)], tmp
                )
                size = target.stat().st_size / 1e6
                print(
                    f"values --steps {steps:,} -o lr.{fmt}: {seconds:.2f} s, "
                    f"peak RSS {rss:.0f} MB, file {size:,.0f} MB"
                )
                target.unlink()
        print(f"\n(cores: {os.cpu_count()}; python {sys.version.split()[0]})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
