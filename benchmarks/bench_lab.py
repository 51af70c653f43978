"""The lab's cost against a bare hand-written torch loop doing the same training.

1. Trainer overhead: ``lrlab.lab.train`` of one config against a bare loop on the same
   model, data, batches and schedule (learning rates precomputed, set by hand each step:
   the cheapest loop there is). Per-epoch time, best of ``--repeats``; target <= 1.10.
2. The default comparison end to end (``lrlab compare``'s code: checks, store, commits,
   checkpoints, report) against the bare loop running the same runs one after another,
   interleaved, best of ``--repeats``; target <= 1.25 (the tutorials' MLP: <= 1.10).
   Also paired run by run, which this machine's drift disturbs less.
3. The same comparison with ``--jobs 2`` against ``--jobs 1`` (fresh stores).
4. With ``--ray``: only the default experiment on a local Ray instance with ``--jobs 2``
   against the process pool with ``--jobs 2``, interleaved, best of ``--repeats``;
   target <= 1.15. Ray's start-up (``ray.init``, two workers importing torch) is apart:
   the timed comparisons reuse one running instance, as a cluster would be running.

All with the sequential engine, the one the bare loop is (the batched engine against it:
``benchmarks/bench_engines.py``).

Run: ``.venv/bin/python benchmarks/bench_lab.py [--model cnn] [--epochs 20] [--seeds 5]
[--ray]``;
``--model mlp-bn --epochs 30 --seeds 3`` is the tutorials' setting.
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from collections.abc import Iterable, Iterator

import numpy as np
import torch

from lrlab.lab.compare import compare
from lrlab.lab.config import TrainConfig, schedule_for
from lrlab.lab.data import Dataset, load
from lrlab.lab.experiment import Experiment
from lrlab.lab.models import build_for
from lrlab.lab.runner import InProcess, Job, ProcessPool, RunEnd, Send, Work
from lrlab.lab.train import train


def bare(config: TrainConfig, data: Dataset) -> list[float]:
    """The hand-written loop: same seeds and batches; returns each epoch's val loss."""
    torch.manual_seed(config.seed)
    model = build_for(config.model, data)
    optimizer = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum)
    x, y = torch.from_numpy(data.x_train), torch.from_numpy(data.y_train)
    xv, yv = torch.from_numpy(data.x_val), torch.from_numpy(data.y_val)
    batches = math.ceil(len(y) / config.batch_size)
    schedule = schedule_for(config, batches)
    plateau = None
    if schedule.metric_driven:
        plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer,
            factor=schedule.factor,
            patience=schedule.patience,  # type: ignore[attr-defined]
        )
    else:
        per = batches if config.per == "batch" else 1
        rates = schedule.values(config.epochs * per).tolist()
    shuffle = torch.Generator().manual_seed(config.seed)
    losses = []
    for epoch in range(config.epochs):
        model.train()
        order = torch.randperm(len(y), generator=shuffle)
        total = 0.0
        for b in range(batches):
            if plateau is None:
                lr = rates[epoch * batches + b if config.per == "batch" else epoch]
                for group in optimizer.param_groups:
                    group["lr"] = lr
            index = order[b * config.batch_size : (b + 1) * config.batch_size]
            loss = torch.nn.functional.cross_entropy(model(x[index]), y[index])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item()
        model.eval()
        with torch.no_grad():
            logits = model(xv)
            val = torch.nn.functional.cross_entropy(logits, yv).item()
            accuracy = (logits.argmax(1) == yv).float().mean().item()
        if plateau is not None:
            plateau.step(val)
        losses.append(val)
        del accuracy  # computed as the lab does; only the loss is compared
    return losses


def best_of_both(ours, theirs, repeats: int) -> tuple[float, float]:
    """The best time of each over ``repeats`` interleaved runs, after an untimed warm-up."""
    ours()
    theirs()
    a, b = [], []
    for _ in range(repeats):
        for function, times in ((ours, a), (theirs, b)):
            start = time.perf_counter()
            function()
            times.append(time.perf_counter() - start)
    return min(a), min(b)


class Paired:
    """An in-process executor that runs each task's bare loop just before it, timing both:
    the comparison's runs paired one by one (this machine's drift disturbs it less)."""

    def __init__(self, data: dict[int, Dataset]) -> None:
        self.data = data
        self.bare = self.lab = 0.0

    def map(self, function: Work, tasks: Iterable[Job], receive: Send) -> Iterator[RunEnd]:
        for task in tasks:
            config = TrainConfig(**task.config)
            start = time.perf_counter()
            bare(config, self.data[config.seed])
            middle = time.perf_counter()
            ends = function(task, receive)
            self.bare += middle - start
            self.lab += time.perf_counter() - middle
            yield from ends


def paired(experiment: Experiment, data: dict[int, Dataset]) -> tuple[float, float]:
    """The bare loops' and the lab's totals (compare's own work included), run by run."""
    pairs = Paired(data)
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        compare(experiment, out, executor=pairs)
        return pairs.bare, time.perf_counter() - start - pairs.bare


def ray_against_the_pool(experiment: Experiment, repeats: int) -> None:
    """Section 4: local Ray against the process pool, both with two jobs."""
    import ray

    from lrlab.lab.cluster import RayExecutor

    start = time.perf_counter()
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    warm = ray.remote(lambda: __import__("lrlab.lab.train") and None)  # torch, once a worker
    ray.get([warm.remote() for _ in range(2)])
    startup = time.perf_counter() - start
    on_ray: list[float] = []
    pooled: list[float] = []
    try:
        for _ in range(repeats):
            for executor, times in ((RayExecutor(2), on_ray), (ProcessPool(2), pooled)):
                with tempfile.TemporaryDirectory() as out:
                    start = time.perf_counter()
                    compare(experiment, out, executor=executor)
                    times.append(time.perf_counter() - start)
    finally:
        ray.shutdown()
    print(f"{len(experiment.configs())} runs x {experiment.epochs} epochs, --jobs 2")
    print(f"  process pool {min(pooled):.2f} s, local Ray {min(on_ray):.2f} s (best of {repeats})")
    print(f"  ratio ray/pool {min(on_ray) / min(pooled):.3f} (target <= 1.15)")
    print(f"  Ray start-up apart: {startup:.2f} s (ray.init, two workers importing torch)")


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="cnn", help="cnn (the default experiment) or mlp-bn")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-jobs", action="store_true", help="skip --jobs 2 vs 1")
    parser.add_argument("--ray", action="store_true", help="only local Ray vs the pool")
    return parser.parse_args()


def main() -> None:
    args = _arguments()
    torch.set_num_threads(1)  # the lab trains on TrainConfig.threads = 1

    experiment = Experiment(  # the engine the bare loop is: batched is bench_engines.py's
        model=args.model, epochs=args.epochs, seeds=tuple(range(args.seeds)), engine="sequential"
    )
    if args.ray:
        ray_against_the_pool(experiment, min(args.repeats, 2))
        return
    runs = experiment.configs()
    data = {seed: load("digits", seed=seed) for seed in experiment.seeds}

    # 1. trainer overhead on one config (cosine per batch)
    config = next(c for c in runs if c.per == "batch")
    lab, hand = best_of_both(
        lambda: train(config, data=data[config.seed]),
        lambda: bare(config, data[config.seed]),
        args.repeats,
    )
    same = bare(config, data[config.seed]) == [
        e["val_loss"] for e in train(config, data=data[config.seed]).epochs
    ]
    print(f"trainer: {config.schedule} per {config.per}, {config.epochs} epochs")
    print(
        f"  lab {1000 * lab / config.epochs:.2f} ms/epoch, bare {1000 * hand / config.epochs:.2f}"
    )
    print(f"  ratio lab/bare {lab / hand:.3f} (target <= 1.10); same numbers: {same}")

    # 2. the default comparison end to end vs the bare loop over the same runs,
    # interleaved (the machine's drift hits both alike), best of --repeats
    def bare_runs() -> None:
        for c in runs:
            bare(c, data[c.seed])

    bare_times, lab_times = [], []
    for _ in range(args.repeats):
        start = time.perf_counter()
        bare_runs()
        bare_times.append(time.perf_counter() - start)
        with tempfile.TemporaryDirectory() as out:
            start = time.perf_counter()
            done = compare(experiment, out, executor=InProcess())
            lab_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            compare(experiment, out, executor=InProcess())
            rerun = time.perf_counter() - start
    bare_all, serial = min(bare_times), min(lab_times)
    paired_bare, paired_lab = paired(experiment, data)
    if not args.skip_jobs:
        with tempfile.TemporaryDirectory() as again:
            start = time.perf_counter()
            compare(experiment, again, executor=ProcessPool(2))
            pooled = time.perf_counter() - start
    diverged = sum(o.status == "diverged" for o in done.outcomes)
    print(
        f"\ndefault comparison: {len(experiment.schedules)} schedules x {args.seeds} seeds "
        f"x {args.epochs} epochs = {len(runs)} runs ({diverged} diverged)"
    )
    print(f"  bare sequential loop {bare_all:.2f} s (best of {args.repeats})")
    print(f"  lab compare --jobs 1 {serial:.2f} s (store, checkpoints, report)")
    print(f"  ratio lab/bare {serial / bare_all:.3f} (target <= 1.25)")
    print(
        f"  paired run by run: bare {paired_bare:.2f} s, lab {paired_lab:.2f} s, "
        f"ratio {paired_lab / paired_bare:.3f}"
    )
    if not args.skip_jobs:
        print(f"  lab compare --jobs 2 {pooled:.2f} s: {serial / pooled:.2f}x faster than --jobs 1")
    print(f"  second run (all stored): {rerun:.2f} s")
    leader = done.summary.leader
    if leader is not None:
        print(f"  leader: {leader.schedule} {100 * float(np.mean(leader.final)):.2f}%")


if __name__ == "__main__":
    main()
