"""The batched engine against the sequential one: ``lrlab compare`` end to end.

Each engine runs the same comparison as a user would, ``lrlab compare ... --engine X``
in a fresh process (start-up, checks, store, checkpoints and report included), with
``--jobs 1`` (one torch thread for both). The two alternate, best of ``--repeats``;
each process's peak RSS is read from the OS (``wait4``).

Targets: the tutorials' MLP (``--model mlp-bn --epochs 30 --seeds 3``) batched >= 3x
faster; the default CNN experiment (``--model cnn --epochs 20 --seeds 5``) >= 1.5x.

Run: ``.venv/bin/python benchmarks/bench_engines.py [--model cnn] [--epochs 20]
[--seeds 5] [--repeats 2] [--device cpu]``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time


def one(engine: str, args: argparse.Namespace) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one ``lrlab compare`` with ``engine``."""
    with tempfile.TemporaryDirectory() as out:
        command = [
            sys.executable,
            "-m",
            "lrlab",
            "compare",
            "--model",
            args.model,
            "--epochs",
            str(args.epochs),
            "--seeds",
            str(args.seeds),
            "--engine",
            engine,
            "--device",
            args.device,
            "--out",
            out,
            "--quiet",
        ]
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"{' '.join(command)} failed")
        return seconds, usage.ru_maxrss / 1024  # KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="cnn")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    times: dict[str, list[float]] = {"sequential": [], "batched": []}
    memory: dict[str, float] = {"sequential": 0.0, "batched": 0.0}
    for _ in range(args.repeats):
        for engine, seen in times.items():
            seconds, peak = one(engine, args)
            seen.append(seconds)
            memory[engine] = max(memory[engine], peak)
    sequential, batched = min(times["sequential"]), min(times["batched"])
    target = 3.0 if args.model.startswith("mlp") else 1.5
    print(
        f"lrlab compare --model {args.model} --epochs {args.epochs} --seeds {args.seeds} "
        f"(10 schedules, --jobs 1, {args.device}), best of {args.repeats}"
    )
    print(f"  sequential {sequential:.1f} s, peak RSS {memory['sequential']:.0f} MiB")
    print(f"  batched    {batched:.1f} s, peak RSS {memory['batched']:.0f} MiB")
    print(f"  ratio sequential/batched {sequential / batched:.2f} (target >= {target})")


if __name__ == "__main__":
    main()
