"""``step()`` of lrlab's torch drop-ins against the same torch class, side by side.

For every drop-in, at 1 and at 256 param groups (each group its own lr), time
``scheduler.step()`` (best of ``--repeats`` runs of ``--steps`` steps, fresh optimizer and
scheduler each run; ``optimizer.step()`` is called once first so that neither warns) and
print lrlab's time over torch's: the target is a ratio <= 1.0 (no slower than torch).
Also ``record()`` of 100,000 steps against the tutorial's Python loop.

Run: ``.venv/bin/python benchmarks/bench_torch.py [--steps N] [--repeats N]``.
"""

from __future__ import annotations

import argparse
import gc
import time
import warnings
from collections.abc import Callable
from typing import Any

import torch

import lrlab.torch as ours
from lrlab.torch import record

T = torch.optim.lr_scheduler

CASES: list[tuple[str, Callable[[Any, Any], Any]]] = [
    ("StepLR", lambda lib, o: lib.StepLR(o, 30, 0.5)),
    ("MultiStepLR", lambda lib, o: lib.MultiStepLR(o, [300, 800], 0.1)),
    ("ConstantLR", lambda lib, o: lib.ConstantLR(o, 0.5, 100)),
    ("LinearLR", lambda lib, o: lib.LinearLR(o, 0.1, 1.0, 1000)),
    ("ExponentialLR", lambda lib, o: lib.ExponentialLR(o, 0.999)),
    ("PolynomialLR", lambda lib, o: lib.PolynomialLR(o, 5000, 2.0)),
    ("CosineAnnealingLR", lambda lib, o: lib.CosineAnnealingLR(o, 1000, 1e-5)),
    ("CosineAnnealingWarmRestarts", lambda lib, o: lib.CosineAnnealingWarmRestarts(o, 100, 2)),
    ("CyclicLR", lambda lib, o: lib.CyclicLR(o, 0.01, 0.1, 200)),
    ("OneCycleLR", lambda lib, o: lib.OneCycleLR(o, 0.1, total_steps=100_000)),
    ("ReduceLROnPlateau", lambda lib, o: lib.ReduceLROnPlateau(o, patience=3)),
    ("LambdaLR", lambda lib, o: lib.LambdaLR(o, lambda e: 0.999**e)),
]


def optimizer(groups: int) -> torch.optim.Optimizer:
    params = [
        {"params": [torch.nn.Parameter(torch.zeros(1))], "lr": 0.1 * (1 + g / groups)}
        for g in range(groups)
    ]
    return torch.optim.SGD(params, momentum=0.9)


def time_steps(
    make: Callable[[Any, Any], Any], lib: Any, groups: int, steps: int, repeats: int
) -> float:
    """Best seconds per ``step()``."""
    best = float("inf")
    metric = [1.0, 0.9, 0.9, 0.95, 0.9] * (steps // 5 + 1)
    for _ in range(repeats):
        opt = optimizer(groups)
        sched = make(lib, opt)
        opt.step()
        plateau = "ReduceLROnPlateau" in type(sched).__name__
        gc.disable()
        start = time.perf_counter()
        if plateau:
            for i in range(steps):
                sched.step(metric[i])
        else:
            for _ in range(steps):
                sched.step()
        best = min(best, time.perf_counter() - start)
        gc.enable()
    return best / steps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", UserWarning)
    print("| drop-in | groups | torch µs/step | lrlab µs/step | ratio (lrlab/torch) | <= 1.0 |")
    print("|---|---|---|---|---|---|")
    ratios = []
    for name, make in CASES:
        for groups in (1, 256):
            steps = args.steps if groups == 1 else max(args.steps // 8, 50)
            theirs = time_steps(make, T, groups, steps, args.repeats)
            mine = time_steps(make, ours, groups, steps, args.repeats)
            ratio = mine / theirs
            ratios.append((ratio, name, groups))
            verdict = "yes" if ratio <= 1.0 else "NO"
            cells = [
                name,
                groups,
                f"{theirs * 1e6:.1f}",
                f"{mine * 1e6:.1f}",
                f"{ratio:.2f}",
                verdict,
            ]
            print("| " + " | ".join(map(str, cells)) + " |")
    n = 100_000

    def tutorial_loop() -> list[float]:
        opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
        sched = T.StepLR(opt, 30, 0.5)
        lrs = []
        for _ in range(n):
            lrs.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.step()
        return lrs

    start = time.perf_counter()
    tutorial_loop()
    loop_s = time.perf_counter() - start
    start = time.perf_counter()
    record(lambda o: T.StepLR(o, 30, 0.5), n)
    record_s = time.perf_counter() - start
    print(
        f"\nrecord() of {n:,} steps: {record_s:.2f} s; the tutorial's loop: {loop_s:.2f} s "
        f"(ratio {record_s / loop_s:.2f})"
    )
    worst = max(ratios)
    print(f"SUMMARY: worst step ratio {worst[0]:.2f} ({worst[1]}, {worst[2]} groups)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
