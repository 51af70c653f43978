"""lrlab's ``find_lr`` against torch-lr-finder's ``LRFinder.range_test``, side by side.

Both tools get the same work:

- **model**: lrlab's MLP-BN (``build("mlp-bn")``) for digits, the same initial weights
  for every run (``torch.manual_seed(--seed)``, then a deep copy per run);
- **data**: the digits training split shuffled once into ``--batch-size`` minibatches,
  served by ``DataLoader(batches, batch_size=None)``, one and the same loader for both
  (so neither pays for collation, and the 20 batches are cycled by both);
- **optimizer**: ``SGD(lr=0.1, momentum=0.9)``, a fresh one per run;
- **test**: lr from 1e-7 to 10, ``exp`` mode, ``--steps`` steps (default 100), the same
  smoothing (torch-lr-finder's ``smooth_f=0.05`` is lrlab's ``smooth=0.95``; lrlab
  also corrects the average's start-up bias) and the same divergence threshold (5).

Timed: each tool's whole job, best of ``--repeats`` (default 5) after one untimed warm-up,
the two tools taking turns, gc disabled inside the timing. lrlab: ``find_lr(...)`` (it
copies the state, runs, puts everything back and computes its suggestions).
torch-lr-finder: ``LRFinder(...)`` (it copies the state), ``range_test(...)`` and
``reset()``; its progress bar is disabled and its prints are swallowed. Its suggestion
(steepest gradient) comes from ``plot(suggest_lr=True)`` drawn on an Agg figure, outside
the timing.

Target: lrlab's time / torch-lr-finder's time <= 1.0. The steps each tool ran are shown:
both stop when the smoothed loss diverges, and their averages differ a little.

Run: ``.venv/bin/python benchmarks/bench_find_lr.py [--steps N] [--repeats N]
[--threads N] [--quick]``.
It always exits 0; the ``SUMMARY`` line says whether the target is met.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import gc
import io
import os
import time
import warnings
from collections.abc import Callable
from typing import Any

os.environ.setdefault("TQDM_DISABLE", "1")  # before torch_lr_finder imports tqdm
os.environ.setdefault("MPLBACKEND", "Agg")

import torch
from torch_lr_finder import LRFinder

from lrlab.lab.data import load
from lrlab.lab.find_lr import FindLRResult, find_lr
from lrlab.lab.models import build
from lrlab.lab.sweep import FindLRSettings

START, END = 1e-7, 10.0
SMOOTH_F = 0.05  # torch-lr-finder's default; lrlab's smooth = 1 - SMOOTH_F
DIVERGE = 5.0  # torch-lr-finder's default
CE = torch.nn.functional.cross_entropy


def setup(batch_size: int, seed: int) -> tuple[torch.nn.Module, Any]:
    """The initial model and the loader shared by both tools."""
    data = load("digits", seed=seed)
    torch.manual_seed(seed)
    model = build("mlp-bn", n_features=data.n_features, n_classes=data.n_classes)
    x, y = torch.from_numpy(data.x_train), torch.from_numpy(data.y_train)
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))
    batches = [
        (x[order[i : i + batch_size]], y[order[i : i + batch_size]])
        for i in range(0, len(y), batch_size)
    ]
    return model, torch.utils.data.DataLoader(batches, batch_size=None)


def sgd(model: torch.nn.Module) -> torch.optim.Optimizer:
    return torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)


SETTINGS = FindLRSettings(start=START, end=END, mode="exp", smooth=1.0 - SMOOTH_F, diverge=DIVERGE)


def run_lrlab(model: torch.nn.Module, loader: Any, steps: int) -> FindLRResult:
    return find_lr(model, sgd(model), CE, loader, SETTINGS, steps=steps)


def run_torch_lr_finder(model: torch.nn.Module, loader: Any, steps: int) -> LRFinder:
    with contextlib.redirect_stdout(io.StringIO()):
        finder = LRFinder(model, sgd(model), CE, device="cpu")
        finder.range_test(
            loader,
            start_lr=START,
            end_lr=END,
            num_iter=steps,
            step_mode="exp",
            smooth_f=SMOOTH_F,
            diverge_th=DIVERGE,
        )
        finder.reset()
    return finder


Runner = Callable[[torch.nn.Module, Any, int], Any]


def best_of(
    runs: dict[str, Runner], model: torch.nn.Module, loader: Any, steps: int, repeats: int
) -> dict[str, tuple[float, Any]]:
    """Best wall seconds of each run (each on a fresh copy of ``model``) and its output.

    The tools take turns, one repeat of each after the other, so that a busy machine
    slows both alike.
    """
    out: dict[str, tuple[float, Any]] = {}
    for name, run in runs.items():  # warm-up: torch imports torch._dynamo on first use
        out[name] = (float("inf"), run(copy.deepcopy(model), loader, steps))
    for _ in range(repeats):
        for name, run in runs.items():
            fresh = copy.deepcopy(model)
            gc.collect()
            gc.disable()
            start = time.perf_counter()
            result = run(fresh, loader, steps)
            elapsed = time.perf_counter() - start
            gc.enable()
            out[name] = (min(out[name][0], elapsed), result)
    return out


def torch_lr_finder_suggestion(finder: LRFinder) -> float | None:
    """torch-lr-finder's own suggestion (steepest gradient), drawn on an Agg figure."""
    from matplotlib.figure import Figure

    ax = Figure().add_subplot()
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            _, lr = finder.plot(suggest_lr=True, ax=ax)
    except ValueError as error:  # too few points to suggest
        print(f"torch-lr-finder gave no suggestion: {error}")
        return None
    return float(lr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--quick", action="store_true", help="30 steps, 1 repeat: a smoke run")
    args = parser.parse_args(argv)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    steps, repeats = (30, 1) if args.quick else (args.steps, args.repeats)
    warnings.simplefilter("ignore")
    model, loader = setup(args.batch_size, args.seed)
    print(
        f"MLP-BN on digits, SGD(momentum=0.9), {len(loader)} batches of {args.batch_size}, "
        f"lr {START:g}..{END:g} exp over {steps} steps, smoothing {1 - SMOOTH_F:g}, "
        f"diverge {DIVERGE:g}; best of {repeats}; torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads\n"
    )
    timed = best_of(
        {"lrlab": run_lrlab, "torch-lr-finder": run_torch_lr_finder},
        model,
        loader,
        steps,
        repeats,
    )
    mine_s, result = timed["lrlab"]
    theirs_s, finder = timed["torch-lr-finder"]
    their_steps = len(finder.history["lr"])
    their_lr = torch_lr_finder_suggestion(finder)
    ours = ", ".join(
        f"{name} {'-' if s.lr is None else f'{s.lr:.3g}'}" for name, s in result.suggestions.items()
    )
    print("| tool | wall s | steps run | ms/step | suggestions |")
    print("|---|---|---|---|---|")
    print(
        f"| lrlab find_lr | {mine_s:.4f} | {len(result.lrs)} | "
        f"{mine_s / max(1, len(result.lrs)) * 1e3:.3f} | {ours} |"
    )
    theirs_text = "-" if their_lr is None else f"{their_lr:.3g}"
    print(
        f"| torch-lr-finder range_test | {theirs_s:.4f} | {their_steps} | "
        f"{theirs_s / max(1, their_steps) * 1e3:.3f} | steepest {theirs_text} |"
    )
    ratio = mine_s / theirs_s
    per_step = (mine_s / max(1, len(result.lrs))) / (theirs_s / max(1, their_steps))
    print(f"\nlrlab stopped: {result.reason}")
    verdict = "met" if ratio <= 1.0 else "NOT met"
    print(
        f"SUMMARY: ratio lrlab/torch-lr-finder {ratio:.2f} (per step {per_step:.2f}); "
        f"target <= 1.0 {verdict}; steepest: lrlab {result.suggestion!r}, "
        f"torch-lr-finder {their_lr!r}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
