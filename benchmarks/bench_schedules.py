"""Time lrlab's vectorised schedules against recording the same curve with torch.

What is measured, for every schedule family and two composites:

- **lrlab**: ``s.values(steps)`` (default 1,000,000 steps), one untimed warm-up call,
  then the best of ``--repeats`` (default 5) ``time.perf_counter`` timings.
- **torch**: the tutorial loop that records a scheduler's curve: a throwaway
  ``torch.nn.Parameter(torch.zeros(1))``, ``torch.optim.SGD([p], lr=...)`` and, per
  step, ``lrs.append(optimizer.param_groups[0]["lr"]); optimizer.step();
  scheduler.step()``. The parameter has no gradient, so ``optimizer.step()`` is pure
  overhead, which is what the loop costs when it is only used to record a curve.
  Running it for 1M steps takes ~15-20 s per scheduler, so it is timed over
  ``--torch-steps`` steps (default 20,000; best of ``--torch-repeats``, default 3, each
  with a fresh optimizer and scheduler) and the per-step time is **extrapolated
  linearly** to ``steps``. torch's per-step cost does not depend on the step number, so
  the estimate is fair (and, being a best-of, favours torch).
- **parity**: the torch curve recorded during timing is compared with
  ``s.values(torch_steps)``; the column shows ``max |torch - lrlab| / max |lrlab|``, so
  a reader can see each row times the same curve.
- **memory**: ``tracemalloc`` (numpy reports its array allocations to it) gives the peak
  memory of one ``s.values(n)`` call for ``n = steps`` and ``n = 10 * steps``; the peak
  is the output array (8 bytes a step) plus chunk-sized temporaries.

Targets (for 1M steps): lrlab at least 1000x faster than the torch loop, and under 50 ms.
``CyclicLR`` and ``OneCycleLR`` run with ``cycle_momentum=False`` so that torch times the
learning rate only, as lrlab does. gc is disabled inside every timed region.

Run: ``.venv/bin/python benchmarks/bench_schedules.py [--steps N] [--torch-steps N]
[--quick]``. It always exits 0; the table and the final ``SUMMARY`` line report whether
the targets are met.
"""

from __future__ import annotations

import argparse
import bisect
import gc
import math
import os
import platform
import time
import tracemalloc
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.optim import lr_scheduler as tls

import lrlab

TorchFactory = Callable[[torch.optim.Optimizer], tls.LRScheduler]
LrLambda = Callable[[int], float]

RATIO_TARGET = 1000.0  # torch / lrlab
TIME_TARGET_S = 0.050  # lrlab, for 1M steps
MB = 1e6


@dataclass(frozen=True)
class Case:
    """One row: an lrlab schedule and the torch scheduler that gives the same curve."""

    name: str
    schedule: lrlab.Schedule
    lr: float  # the optimizer's initial lr (torch's base_lr)
    peer: str
    make_torch: TorchFactory


@dataclass(frozen=True)
class Result:
    """Timings and parity for one case."""

    case: Case
    lrlab_s: float
    torch_step_s: float
    torch_est_s: float
    parity: float

    @property
    def ratio(self) -> float:
        return self.torch_est_s / self.lrlab_s


# --- torch LambdaLR factors (closures, so that no lambda captures a loop variable) ------


def _one(_t: int) -> float:
    return 1.0


def _inverse_sqrt_factor(warmup: int) -> LrLambda:
    def factor(t: int) -> float:
        return t / warmup if t < warmup else math.sqrt(warmup / t)

    return factor


def _wsd_factor(steps: int, warmup: int, decay: int) -> LrLambda:
    decay_start = steps - decay

    def factor(t: int) -> float:
        if t < warmup:
            return t / warmup
        return 1.0 - min(max(t - decay_start, 0), decay) / decay

    return factor


def _piecewise_constant_factor(boundaries: Sequence[int], lrs: Sequence[float]) -> LrLambda:
    def factor(t: int) -> float:
        return lrs[bisect.bisect_right(boundaries, t)] / lrs[0]

    return factor


def _piecewise_linear_factor(
    boundaries: Sequence[int], lrs: Sequence[float], base: float
) -> LrLambda:
    xs = np.asarray(boundaries, dtype=np.float64)
    ys = np.asarray(lrs, dtype=np.float64)

    def factor(t: int) -> float:
        return float(np.interp(t, xs, ys)) / base

    return factor


def build_cases(steps: int) -> list[Case]:
    """The benchmark rows; parameters scale with ``steps`` (1M gives the documented ones)."""
    lr = 0.1
    ms = (steps * 3 // 10, steps * 8 // 10)  # [30, 80] of 100 epochs, scaled to the run
    isq_warmup = 4000
    wsd_warm, wsd_decay = steps // 100, steps // 5
    pc_bounds, pc_lrs = (steps // 1000, steps // 2, steps * 9 // 10), (0.1, 0.05, 0.01, 0.001)
    pl_bounds, pl_lrs = (0, steps // 100, steps // 2, steps), (0.0, 0.1, 0.02, 0.0)
    warm = steps // 100  # 10_000 for 1M
    return [
        Case(
            "constant",
            lrlab.constant(value=lr),
            lr,
            "LambdaLR(lambda t: 1.0)",
            lambda o: tls.LambdaLR(o, _one),
        ),
        Case(
            "step",
            lrlab.step(init=lr, period=steps // 10, gamma=0.5),
            lr,
            f"StepLR(step_size={steps // 10}, gamma=0.5)",
            lambda o: tls.StepLR(o, step_size=steps // 10, gamma=0.5),
        ),
        Case(
            "multistep",
            lrlab.multistep(init=lr, milestones=ms, gamma=0.1),
            lr,
            f"MultiStepLR(milestones={list(ms)}, gamma=0.1)",
            lambda o: tls.MultiStepLR(o, milestones=list(ms), gamma=0.1),
        ),
        Case(
            "exponential",
            lrlab.exponential(init=lr, gamma=0.99999),
            lr,
            "ExponentialLR(gamma=0.99999)",
            lambda o: tls.ExponentialLR(o, gamma=0.99999),
        ),
        Case(
            "linear",
            lrlab.linear(init=lr, end=lr * 0.01, steps=steps),
            lr,
            f"LinearLR(start_factor=1.0, end_factor=0.01, total_iters={steps})",
            lambda o: tls.LinearLR(o, start_factor=1.0, end_factor=0.01, total_iters=steps),
        ),
        Case(
            "polynomial",
            lrlab.polynomial(init=lr, steps=steps, power=2.0),
            lr,
            f"PolynomialLR(total_iters={steps}, power=2.0)",
            lambda o: tls.PolynomialLR(o, total_iters=steps, power=2.0),
        ),
        Case(
            "cosine",
            lrlab.cosine(init=lr, steps=steps, end=1e-5),
            lr,
            f"CosineAnnealingLR(T_max={steps}, eta_min=1e-5)",
            lambda o: tls.CosineAnnealingLR(o, T_max=steps, eta_min=1e-5),
        ),
        Case(
            "cosine_restarts",
            lrlab.cosine_restarts(init=lr, period=1000, mult=2, end=1e-5),
            lr,
            "CosineAnnealingWarmRestarts(T_0=1000, T_mult=2, eta_min=1e-5)",
            lambda o: tls.CosineAnnealingWarmRestarts(o, T_0=1000, T_mult=2, eta_min=1e-5),
        ),
        Case(
            "cyclic",
            lrlab.cyclic(init=0.001, peak=lr, up_steps=2000),
            0.001,
            "CyclicLR(base_lr=0.001, max_lr=0.1, step_size_up=2000, cycle_momentum=False)",
            lambda o: tls.CyclicLR(
                o, base_lr=0.001, max_lr=lr, step_size_up=2000, cycle_momentum=False
            ),
        ),
        Case(
            "one_cycle",
            lrlab.one_cycle(peak=lr, steps=steps),
            lr,
            f"OneCycleLR(max_lr=0.1, total_steps={steps}, cycle_momentum=False)",
            lambda o: tls.OneCycleLR(o, max_lr=lr, total_steps=steps, cycle_momentum=False),
        ),
        Case(
            "inverse_sqrt",
            lrlab.inverse_sqrt(peak=lr, warmup_steps=isq_warmup),
            lr,
            f"LambdaLR(t/w if t < w else sqrt(w/t)), w={isq_warmup}",
            lambda o: tls.LambdaLR(o, _inverse_sqrt_factor(isq_warmup)),
        ),
        Case(
            "wsd",
            lrlab.wsd(peak=lr, steps=steps, decay_steps=wsd_decay, warmup_steps=wsd_warm),
            lr,
            f"LambdaLR(warmup {wsd_warm}, stable, linear decay {wsd_decay})",
            lambda o: tls.LambdaLR(o, _wsd_factor(steps, wsd_warm, wsd_decay)),
        ),
        Case(
            "piecewise_constant",
            lrlab.piecewise_constant(boundaries=pc_bounds, lrs=pc_lrs),
            pc_lrs[0],
            f"LambdaLR(lrs[bisect_right(boundaries, t)]), boundaries={list(pc_bounds)}",
            lambda o: tls.LambdaLR(o, _piecewise_constant_factor(pc_bounds, pc_lrs)),
        ),
        Case(
            "piecewise_linear",
            lrlab.piecewise_linear(boundaries=pl_bounds, lrs=pl_lrs),
            lr,
            f"LambdaLR(np.interp(t, {list(pl_bounds)}, {list(pl_lrs)}))",
            lambda o: tls.LambdaLR(o, _piecewise_linear_factor(pl_bounds, pl_lrs, lr)),
        ),
        Case(
            "warmup+cosine",
            lrlab.warmup(lrlab.cosine(init=lr, steps=steps - warm, end=1e-5), steps=warm),
            lr,
            f"SequentialLR([LinearLR(start_factor=1e-12, total_iters={warm}), "
            f"CosineAnnealingLR(T_max={steps - warm}, eta_min=1e-5)], milestones=[{warm}])",
            lambda o: tls.SequentialLR(
                o,
                [
                    tls.LinearLR(o, start_factor=1e-12, total_iters=warm),
                    tls.CosineAnnealingLR(o, T_max=steps - warm, eta_min=1e-5),
                ],
                milestones=[warm],
            ),
        ),
        Case(
            "wsd join",
            lrlab.join(
                [
                    lrlab.linear(init=0.0, end=lr, steps=wsd_warm),
                    lrlab.constant(value=lr),
                    lrlab.linear(init=lr, end=0.0, steps=wsd_decay),
                ],
                at=[wsd_warm, steps - wsd_decay],
            ),
            lr,
            "LambdaLR(same warmup-stable-decay function as the wsd row)",
            lambda o: tls.LambdaLR(o, _wsd_factor(steps, wsd_warm, wsd_decay)),
        ),
    ]


# --- timing -----------------------------------------------------------------------------


def time_lrlab(schedule: lrlab.Schedule, n: int, repeats: int) -> float:
    """Best wall time of ``schedule.values(n)`` over ``repeats`` calls, after a warm-up."""
    schedule.values(n)
    best = math.inf
    gc.collect()
    gc.disable()
    try:
        for _ in range(repeats):
            start = time.perf_counter()
            schedule.values(n)
            best = min(best, time.perf_counter() - start)
    finally:
        gc.enable()
    return best


def record_torch(case: Case, n: int) -> tuple[float, list[float]]:
    """One timed run of the tutorial loop over ``n`` steps: (seconds, recorded lrs)."""
    p = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([p], lr=case.lr)
    scheduler = case.make_torch(optimizer)
    lrs: list[float] = []
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        for _ in range(n):
            lrs.append(optimizer.param_groups[0]["lr"])
            optimizer.step()
            scheduler.step()
        elapsed = time.perf_counter() - start
    finally:
        gc.enable()
    return elapsed, lrs


def time_torch(case: Case, n: int, repeats: int) -> tuple[float, list[float]]:
    """Best per-step seconds of the torch loop over ``repeats`` fresh runs, and the curve."""
    record_torch(case, min(n, 200))  # warm-up: imports, first-call paths
    best = math.inf
    lrs: list[float] = []
    for _ in range(repeats):
        elapsed, lrs = record_torch(case, n)
        best = min(best, elapsed / n)
    return best, lrs


def parity(schedule: lrlab.Schedule, torch_lrs: list[float]) -> float:
    """``max |torch - lrlab| / max |lrlab|`` over the recorded steps."""
    ours = schedule.values(len(torch_lrs))
    theirs = np.asarray(torch_lrs, dtype=np.float64)
    return float(np.max(np.abs(theirs - ours)) / max(float(np.max(np.abs(ours))), 1e-300))


def peak_memory(schedule: lrlab.Schedule, n: int) -> int:
    """Peak bytes traced by tracemalloc while ``schedule.values(n)`` runs."""
    gc.collect()
    tracemalloc.start()
    try:
        out = schedule.values(n)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    del out
    return peak


# --- output -----------------------------------------------------------------------------


def count_label(n: int) -> str:
    """1_000_000 -> '1M', 20_000 -> '20k', 1234 -> '1234'."""
    for size, suffix in ((1_000_000, "M"), (1_000, "k")):
        if n >= size and n % size == 0:
            return f"{n // size}{suffix}"
    return str(n)


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain-text table: first column left-aligned, the others right-aligned."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        parts = [
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "| " + " | ".join(parts) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(headers), rule, *(line(r) for r in rows)])


def speed_table(results: Sequence[Result], steps: int, torch_steps: int) -> str:
    label = count_label(steps)
    headers = [
        "schedule",
        f"lrlab {label} (ms)",
        "torch per step (µs)",
        f"torch {label} est. (s)",
        "ratio (torch/lrlab)",
        f">= {RATIO_TARGET:.0f}x",
        f"< {TIME_TARGET_S * 1e3:.0f} ms",
        f"parity ({count_label(torch_steps)})",
    ]
    rows = [
        [
            r.case.name,
            f"{r.lrlab_s * 1e3:.2f}",
            f"{r.torch_step_s * 1e6:.2f}",
            f"{r.torch_est_s:.2f}",
            f"{r.ratio:,.0f}x",
            "yes" if r.ratio >= RATIO_TARGET else "NO",
            "yes" if r.lrlab_s < TIME_TARGET_S else "NO",
            f"{r.parity:.1e}",
        ]
        for r in results
    ]
    return format_table(headers, rows)


def memory_table(cases: Sequence[Case], steps: int) -> tuple[str, list[float], list[float]]:
    """The memory table, every peak/output ratio and every peak(10n)/peak(n) ratio."""
    big = 10 * steps
    small_label, big_label = count_label(steps), count_label(big)
    headers = [
        "schedule",
        f"output {small_label} (MB)",
        f"peak {small_label} (MB)",
        "peak/output",
        f"output {big_label} (MB)",
        f"peak {big_label} (MB)",
        "peak/output",
        f"peak {big_label}/{small_label}",
    ]
    rows = []
    per_output: list[float] = []
    growth: list[float] = []
    for case in cases:
        small, large = peak_memory(case.schedule, steps), peak_memory(case.schedule, big)
        per_output += [small / (8 * steps), large / (8 * big)]
        growth.append(large / small)
        rows.append(
            [
                case.name,
                f"{8 * steps / MB:.2f}",
                f"{small / MB:.2f}",
                f"{small / (8 * steps):.2f}x",
                f"{8 * big / MB:.2f}",
                f"{large / MB:.2f}",
                f"{large / (8 * big):.2f}x",
                f"{large / small:.2f}x",
            ]
        )
    return format_table(headers, rows), per_output, growth


# --- main -------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=None, help="lrlab steps (1_000_000)")
    parser.add_argument(
        "--torch-steps", type=int, default=None, help="torch steps timed, then extrapolated"
    )
    parser.add_argument("--repeats", type=int, default=None, help="lrlab best-of (5)")
    parser.add_argument("--torch-repeats", type=int, default=None, help="torch best-of (3)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes for a smoke run")
    args = parser.parse_args(argv)
    quick = args.quick
    defaults = {
        "steps": 20_000 if quick else 1_000_000,
        "torch_steps": 1_000 if quick else 20_000,
        "repeats": 2 if quick else 5,
        "torch_repeats": 1 if quick else 3,
    }
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if args.steps < 1000:
        parser.error(f"--steps must be >= 1000, got {args.steps}")
    if args.torch_steps < 1 or args.repeats < 1 or args.torch_repeats < 1:
        parser.error("--torch-steps, --repeats and --torch-repeats must be >= 1")
    # OneCycleLR raises past total_steps, and extrapolating *down* would be odd.
    args.torch_steps = min(args.torch_steps, args.steps)
    return args


def lrlab_chunk() -> int:
    from lrlab.schedules._base import CHUNK

    return CHUNK


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    steps, torch_steps = args.steps, args.torch_steps
    print(
        f"lrlab {lrlab.__version__}, numpy {np.__version__}, torch {torch.__version__} "
        f"({torch.get_num_threads()} threads), Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, {platform.machine()}"
    )
    print(
        f"lrlab: s.values({steps:_}), best of {args.repeats}. torch: tutorial loop timed "
        f"over {torch_steps:_} steps (best of {args.torch_repeats}) and extrapolated "
        f"linearly per step to {steps:_} steps."
    )
    print()
    cases = build_cases(steps)
    results: list[Result] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's scheduler warnings are not the point here
        for case in cases:
            lrlab_s = time_lrlab(case.schedule, steps, args.repeats)
            step_s, lrs = time_torch(case, torch_steps, args.torch_repeats)
            results.append(
                Result(case, lrlab_s, step_s, step_s * steps, parity(case.schedule, lrs))
            )

    print(speed_table(results, steps, torch_steps))
    print(
        f"\n'torch {count_label(steps)} est.' = torch per-step time (measured over "
        f"{torch_steps:_} steps) x {steps:_}: an extrapolation, not a {steps:_}-step run."
    )
    print("parity = max |torch lr - lrlab lr| / max lrlab lr over the recorded torch steps.")
    print("\ntorch peers:")
    for case in cases:
        print(f"  {case.name:<18} {case.peer}")

    print("\nMemory: tracemalloc peak of one s.values(n) call (float64 output: 8 bytes/step)")
    table, per_output, growth = memory_table(cases, steps)
    print(table)
    print(
        f"Peak memory is {min(per_output):.2f}x-{max(per_output):.2f}x the output array: the "
        "output plus chunk-sized temporaries (lrlab evaluates in chunks of\n"
        f"{lrlab_chunk()} steps). 10x the steps takes {min(growth):.1f}x-{max(growth):.1f}x "
        "the memory: it grows with the output only."
    )

    worst_ratio = min(results, key=lambda r: r.ratio)
    slowest = max(results, key=lambda r: r.lrlab_s)
    n_ratio = sum(r.ratio >= RATIO_TARGET for r in results)
    n_time = sum(r.lrlab_s < TIME_TARGET_S for r in results)
    print(
        f"\nSUMMARY: min ratio {worst_ratio.ratio:,.0f}x ({worst_ratio.case.name}), "
        f"max lrlab time {slowest.lrlab_s * 1e3:.2f} ms ({slowest.case.name}) for "
        f"{count_label(steps)} steps; >= {RATIO_TARGET:.0f}x: {n_ratio}/{len(results)}, "
        f"< {TIME_TARGET_S * 1e3:.0f} ms: {n_time}/{len(results)}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
