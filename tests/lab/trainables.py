"""Training functions for the own-training tests: importable as tests.lab.trainables:NAME."""

from __future__ import annotations

import math

import torch

from lrlab.lab.run import Run

_X = torch.linspace(-1, 1, 64).reshape(-1, 1)
_Y = 3 * _X + 0.5


def regression(run: Run) -> None:
    """A linear fit by SGD, 4 batches an epoch, reporting val_mse and val_loss."""
    torch.manual_seed(run.seed)
    model = torch.nn.Linear(1, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=run.lr, momentum=0.5)
    scheduler = run.scheduler(optimizer, steps_per_epoch=4)
    state = run.restore()
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
    for _ in run.epochs():
        order = torch.randperm(64)
        for batch in order.split(16):
            loss = torch.nn.functional.mse_loss(model(_X[batch]), _Y[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
        with torch.no_grad():
            mse = torch.nn.functional.mse_loss(model(_X), _Y).item()
        run.report(
            val_loss=mse,
            val_mse=mse,
            state={"model": model.state_dict(), "optimizer": optimizer.state_dict()},
        )


def fails_on_seed_1(run: Run) -> None:
    if run.seed == 1:
        raise RuntimeError("seed 1 is cursed")
    regression(run)


def returns_early(run: Run) -> None:
    torch.manual_seed(run.seed)
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=run.lr)
    run.scheduler(optimizer, steps_per_epoch=1)
    for epoch in run.epochs():
        optimizer.step()
        run.report(val_loss=1.0)
        if epoch == 0:
            return


def reports_nan(run: Run) -> None:
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=run.lr)
    run.scheduler(optimizer, steps_per_epoch=1)
    for epoch in run.epochs():
        optimizer.step()
        run.report(val_loss=math.nan if epoch == 1 else 1.0)


def reports_twice(run: Run) -> None:
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=run.lr)
    run.scheduler(optimizer, steps_per_epoch=1)
    for _ in run.epochs():
        run.report(val_loss=1.0)
        run.report(val_loss=1.0)


def forgets_the_scheduler(run: Run) -> None:
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=run.lr)
    run.scheduler(optimizer, steps_per_epoch=2)
    for _ in run.epochs():
        optimizer.step()
        optimizer.step()  # and no scheduler.step()
        run.report(val_loss=1.0)


def unsaveable_state(run: Run) -> None:
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=run.lr)
    run.scheduler(optimizer, steps_per_epoch=1)
    for _ in run.epochs():
        run.report(val_loss=1.0, state={"f": lambda: 0})


def big_state(run: Run) -> None:
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=run.lr)
    run.scheduler(optimizer, steps_per_epoch=1)
    run.restore()
    for epoch in run.epochs():
        optimizer.step()
        run.report(val_loss=1.0 / (epoch + 1), state={"big": torch.zeros(600_000)})


_NOISE = iter(range(1_000_000))


def nondeterministic(run: Run) -> None:
    """`regression` with a metric that differs every time an epoch is trained."""
    original = run.report

    def report(**metrics: object) -> None:
        original(**metrics, draw=float(next(_NOISE)))

    run.report = report  # type: ignore[method-assign]
    regression(run)


def dies_outside_the_driver(run: Run) -> None:
    """Kills its own process (as the OOM killer would) unless it is the test's driver,
    whose pid is in ``LRLAB_TEST_DRIVER``; there it trains as `regression` does."""
    import os
    import signal

    if os.getpid() != int(os.environ.get("LRLAB_TEST_DRIVER", os.getpid())):
        os.kill(os.getpid(), signal.SIGKILL)
    regression(run)


def raises_outside_the_run(*_: object) -> object:
    """An executor's work function with a bug of its own (not the run's)."""
    raise KeyError("boom")
