"""The tutorials' schedules, computed in closed form and checked against torch.

The tutorials lrlab starts from record a scheduler's LR with a fake training loop
(``N_EPOCH = 200``, Adam with ``lr=0.001``, ``scheduler.step()`` once an epoch) and plot
it. This script does the same with lrlab: every curve is one vectorised call, compared
value for value with torch's own loop, timed against it, serialised, and drawn.

Run it with ``make demo`` (or ``python examples/tutorial_schedules.py [--out DIR]``).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

import lrlab
from lrlab.schedules import torch_names as tn

N_EPOCH = 200
LR = 0.001  # Adam's lr in the tutorials
STEP_SIZE = 10  # batches per epoch in the tutorials' fake loop

TorchFactory = Callable[[torch.optim.Optimizer], torch.optim.lr_scheduler.LRScheduler]

# (title, lrlab schedule, the tutorial's torch scheduler, steps per scheduler step)
TUTORIAL: list[tuple[str, lrlab.Schedule, TorchFactory]] = [
    (
        "StepLR(step_size=30, gamma=0.5)",
        tn.StepLR(lr=LR, step_size=30, gamma=0.5),
        lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=30, gamma=0.5),
    ),
    (
        "MultiStepLR(milestones=[30, 80], gamma=0.1)",
        tn.MultiStepLR(lr=LR, milestones=[30, 80], gamma=0.1),
        lambda o: torch.optim.lr_scheduler.MultiStepLR(o, milestones=[30, 80], gamma=0.1),
    ),
    (
        "LambdaLR(lambda epoch: 0.95 ** epoch)",
        lrlab.exponential(init=LR, gamma=0.95),
        lambda o: torch.optim.lr_scheduler.LambdaLR(o, lr_lambda=lambda epoch: 0.95**epoch),
    ),
    (
        "CosineAnnealingLR(T_max=10, eta_min=1e-5)",
        tn.CosineAnnealingLR(lr=LR, T_max=10, eta_min=1e-5),
        lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=10, eta_min=1e-5),
    ),
    (
        "CosineAnnealingWarmRestarts(T_0=10, T_mult=2, eta_min=1e-5)",
        tn.CosineAnnealingWarmRestarts(lr=LR, T_0=10, T_mult=2, eta_min=1e-5),
        lambda o: torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(
            o, T_0=10, T_mult=2, eta_min=1e-5
        ),
    ),
    (
        "CyclicLR(base_lr=0.01, max_lr=0.1, step_size_up=20)",
        tn.CyclicLR(base_lr=0.01, max_lr=0.1, step_size_up=20),
        lambda o: torch.optim.lr_scheduler.CyclicLR(
            o, base_lr=0.01, max_lr=0.1, step_size_up=20, cycle_momentum=False
        ),
    ),
    (
        "OneCycleLR(max_lr=0.01, total_steps=200)",
        tn.OneCycleLR(max_lr=0.01, total_steps=N_EPOCH),
        lambda o: torch.optim.lr_scheduler.OneCycleLR(
            o, max_lr=0.01, total_steps=N_EPOCH, cycle_momentum=False
        ),
    ),
]


def record_with_torch(factory: TorchFactory, steps: int) -> np.ndarray:
    """The tutorials' fake loop: optimizer.step(), read the lr, scheduler.step()."""
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.Adam([param], lr=LR)
    scheduler = factory(optimizer)
    lrs = []
    for _ in range(steps):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return np.asarray(lrs)


def parity_table() -> list[tuple[str, np.ndarray]]:
    print(f"The tutorials' schedules over {N_EPOCH} epochs (Adam, lr={LR}):\n")
    header = f"{'schedule':<62} {'max rel diff':>12} {'lrlab µs':>9} {'torch µs':>9}"
    print(header)
    print("-" * len(header))
    record_with_torch(TUTORIAL[0][2], 2)  # warm torch up: time steady state, not imports
    curves = []
    for title, schedule, factory in TUTORIAL:
        start = time.perf_counter()
        ours = schedule.values(N_EPOCH)
        ours_s = time.perf_counter() - start
        start = time.perf_counter()
        theirs = record_with_torch(factory, N_EPOCH)
        torch_s = time.perf_counter() - start
        rel = np.max(np.abs(ours - theirs) / np.maximum(np.abs(theirs), 1e-300))
        print(f"{title:<62} {rel:>12.1e} {ours_s * 1e6:>9.0f} {torch_s * 1e6:>9.0f}")
        if rel > 1e-12:
            raise SystemExit(f"parity lost for {title}: relative difference {rel:.3e}")
        curves.append((title, ours))
    return curves


def a_million_steps() -> None:
    schedule = lrlab.warmup(lrlab.cosine(init=0.1, steps=990_000, end=1e-5), steps=10_000)
    elapsed = math.inf
    for _ in range(3):
        start = time.perf_counter()
        curve = schedule.values(1_000_000)
        elapsed = min(elapsed, time.perf_counter() - start)
    print(f"\n{schedule}\n  1,000,000 steps in {elapsed * 1e3:.1f} ms; peak {curve.max():g}")
    text = json.dumps(schedule.to_dict())
    assert lrlab.from_dict(json.loads(text)) == schedule
    print(f"  as JSON ({len(text)} bytes), reloaded equal: {text}")


def warmup_then_plateau() -> None:
    """What torch's SequentialLR cannot do: a warmup, then ReduceLROnPlateau."""
    schedule = lrlab.join(
        [
            lrlab.linear(init=LR / 10, end=LR, steps=5),
            tn.ReduceLROnPlateau(lr=LR, factor=0.5, patience=3),
        ],
        at=[5],
    )
    print(f"\n{schedule}")
    state = schedule.initial_state()
    for epoch in range(30):
        val_loss = 1.0 / (1 + epoch) if epoch < 12 else 1 / 13 + 0.001 * math.sin(epoch)
        lr = schedule.lr(state)
        if epoch % 3 == 0 or epoch < 6:
            print(f"  epoch {epoch:2d}  lr {lr:.3e}  val_loss {val_loss:.4f}")
        state = schedule.update(state, val_loss)
    print(f"  state after 30 epochs: {state.to_dict()}")


def plot(curves: list[tuple[str, np.ndarray]], out: Path) -> None:
    try:
        import matplotlib as mpl

        mpl.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("\n(matplotlib not installed: skipping the figure)")
        return
    fig, axes = plt.subplots(len(curves), 1, figsize=(10, 2.2 * len(curves)), sharex=True)
    for ax, (title, lrs) in zip(axes, curves, strict=True):
        ax.plot(np.arange(N_EPOCH), lrs, lw=1.5, drawstyle="steps-post")
        ax.set_title(title, fontsize=9, loc="left")
        ax.set_ylabel("LR")
        ax.grid(axis="x", linestyle=":")
    axes[-1].set_xlabel("Epochs")
    fig.tight_layout()
    out.mkdir(parents=True, exist_ok=True)
    path = out / "tutorial_schedules.png"
    fig.savefig(path, dpi=100)
    print(f"\nwrote {path}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("out"), help="folder for the figure")
    args = parser.parse_args(argv)
    curves = parity_table()
    a_million_steps()
    warmup_then_plateau()
    plot(curves, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
