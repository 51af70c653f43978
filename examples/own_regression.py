"""Your own training in the lab: scikit-learn's diabetes, a hand-written PyTorch loop.

Ranked by validation MSE (smaller is better):

    lrlab compare --train examples.own_regression:train --rank-by val_mse \
        --epochs 30 --seeds 3 --lr 0.05 --out runs/diabetes

(run it from the repository root, so that ``examples.own_regression`` imports; your
own module works the same from its folder). The function is what you would write
anyway, plus four calls on ``run``: ``run.scheduler``, ``run.restore``,
``run.epochs`` and ``run.report``. docs/own-training.md explains each.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.datasets import load_diabetes
from sklearn.model_selection import train_test_split

from lrlab.lab import Run


def data(seed: int) -> tuple[torch.Tensor, ...]:
    """Diabetes (ships with scikit-learn), standardised on the training split."""
    x, y = load_diabetes(return_X_y=True)
    x_train, x_val, y_train, y_val = train_test_split(x, y, test_size=0.25, random_state=seed)
    mean, std = x_train.mean(0), x_train.std(0)
    y_mean, y_std = y_train.mean(), y_train.std()

    def tensor(a: np.ndarray) -> torch.Tensor:
        return torch.tensor(a, dtype=torch.float32)

    return (
        tensor((x_train - mean) / std),
        tensor((y_train - y_mean) / y_std)[:, None],
        tensor((x_val - mean) / std),
        tensor((y_val - y_mean) / y_std)[:, None],
    )


def train(run: Run) -> None:
    """One run: an MLP regressor with SGD, under the run's schedule and seed."""
    torch.manual_seed(run.seed)
    x_train, y_train, x_val, y_val = data(run.seed)
    model = torch.nn.Sequential(torch.nn.Linear(10, 64), torch.nn.ReLU(), torch.nn.Linear(64, 1))
    optimizer = torch.optim.SGD(model.parameters(), lr=run.lr, momentum=0.9)
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(x_train, y_train), batch_size=32, shuffle=True
    )
    scheduler = run.scheduler(optimizer, steps_per_epoch=len(loader))
    state = run.restore()
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
    for _ in run.epochs():
        model.train()
        for x, y in loader:
            loss = torch.nn.functional.mse_loss(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()  # after every optimizer step, whatever the schedule
        model.eval()
        with torch.no_grad():
            prediction = model(x_val)
            mse = torch.nn.functional.mse_loss(prediction, y_val).item()
            mae = (prediction - y_val).abs().mean().item()
        run.report(
            val_loss=mse,
            val_mse=mse,
            val_mae=mae,
            state={"model": model.state_dict(), "optimizer": optimizer.state_dict()},
        )
