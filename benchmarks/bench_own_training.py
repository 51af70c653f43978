"""The Run handle's overhead: the tutorials' MLP trained by a hand-written loop, bare and
inside the lab (every epoch reported and committed to a real store with a checkpoint).

    python benchmarks/bench_own_training.py

Prints both times per epoch and the ratio (target <= 1.05), then the cost of one
checkpoint of a 100 MB state (a file beside the store), and how much training the lab
lets pass between two such checkpoints (`lrlab.lab.run.CHECKPOINT_OVERHEAD`).
"""

from __future__ import annotations

import math
import statistics
import tempfile
import time
from collections.abc import Sequence

import torch

from lrlab.lab.config import TrainConfig
from lrlab.lab.data import load
from lrlab.lab.models import build
from lrlab.lab.records import Epoch
from lrlab.lab.run import CHECKPOINT_OVERHEAD, Run
from lrlab.lab.store import Store

EPOCHS = 30
REPEATS = 9
DATA = load("digits", seed=0)
X, Y = torch.from_numpy(DATA.x_train), torch.from_numpy(DATA.y_train)
BATCHES = list(torch.arange(len(Y)).split(64))


def _epoch(model: torch.nn.Module, optimizer: torch.optim.Optimizer, step: object) -> float:
    total = 0.0
    for index in BATCHES:
        loss = torch.nn.functional.cross_entropy(model(X[index]), Y[index])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        step()  # type: ignore[operator]
        total += loss.item()
    return total / len(BATCHES)


def bare() -> float:
    torch.manual_seed(0)
    model = build("mlp-bn", n_features=64, n_classes=10)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=EPOCHS * len(BATCHES))
    start = time.perf_counter()
    for _ in range(EPOCHS):
        _epoch(model, optimizer, scheduler.step)
    return (time.perf_counter() - start) / EPOCHS


def in_the_lab(directory: str) -> float:
    config = TrainConfig(
        epochs=EPOCHS, per="batch", schedule="cosine(init={lr}, steps={steps})", train="b:t"
    )
    with Store(directory) as store:
        store.register(config.run_id, config.to_dict())

        def commit(epochs: Sequence[Epoch], data: bytes | None) -> None:
            store.save_epochs(config.run_id, epochs, data)

        run = Run(config, commit=commit)
        seconds = []

        def train(run: Run) -> None:
            torch.manual_seed(0)
            model = build("mlp-bn", n_features=64, n_classes=10)
            optimizer = torch.optim.SGD(model.parameters(), lr=run.lr, momentum=0.9)
            scheduler = run.scheduler(optimizer, steps_per_epoch=len(BATCHES))
            run.restore()
            start = time.perf_counter()
            for _ in run.epochs():
                loss = _epoch(model, optimizer, scheduler.step)
                run.report(
                    train_loss=loss,
                    state={"model": model.state_dict(), "optimizer": optimizer.state_dict()},
                )
            seconds.append(time.perf_counter() - start)

        run.execute(train)
    return seconds[0] / EPOCHS


def big_commit(directory: str) -> float:
    config = TrainConfig(epochs=3, train="b:t")
    state = {"weights": torch.zeros(25_000_000)}  # 100 MB of float32
    with Store(directory) as store:
        store.register(config.run_id, config.to_dict())
        times = []

        def commit(epochs: Sequence[Epoch], data: bytes | None) -> None:
            store.save_epochs(config.run_id, epochs, data)

        def train(run: Run) -> None:
            optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=run.lr)
            run.scheduler(optimizer, steps_per_epoch=1)
            for _ in run.epochs():
                optimizer.step()
                start = time.perf_counter()
                run.report(val_loss=1.0, state=state)
                times.append(time.perf_counter() - start)

        Run(config, commit=commit, checkpoint_overhead=math.inf, commit_overhead=math.inf).execute(
            train
        )
    return min(times[1:])  # the first also reads the state back once


def main() -> None:
    torch.set_num_threads(1)
    bare()  # warm up
    with tempfile.TemporaryDirectory() as warm:
        in_the_lab(warm)
    a, b = [], []
    for _ in range(REPEATS):  # interleaved: the machine's drift hits both alike
        a.append(bare())
        with tempfile.TemporaryDirectory() as directory:
            b.append(in_the_lab(directory))
    ours, theirs = min(b), min(a)
    paired = statistics.median(x / y for x, y in zip(b, a, strict=True))
    print(f"bare loop        {1000 * theirs:7.2f} ms/epoch (best of {REPEATS})")
    print(f"in the lab       {1000 * ours:7.2f} ms/epoch (report + commit + checkpoints)")
    print(f"ratio            {ours / theirs:7.3f}  (target <= 1.05); median of pairs {paired:.3f}")
    with tempfile.TemporaryDirectory() as directory:
        cost = big_commit(directory)
    print(f"100 MB state     {cost:7.2f} s per checkpoint (file + commit)")
    print(f"                 {cost / CHECKPOINT_OVERHEAD:7.1f} s of training between two of them")


if __name__ == "__main__":
    main()
