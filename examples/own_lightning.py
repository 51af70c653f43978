"""Your own training in the lab, written with Lightning: the diabetes regression of
``examples/own_regression.py`` as a LightningModule.

    lrlab compare --train examples.own_lightning:train --rank-by val_mse \
        --epochs 30 --seeds 3 --lr 0.05 --out runs/diabetes-lightning

(from the repository root, so that ``examples.own_lightning`` imports). Two things
connect Lightning to the lab:

- ``configure_optimizers`` returns the run's scheduler with ``"interval": "step"``:
  Lightning then calls its ``step()`` after every optimizer step, which is what the lab
  asks; per-epoch and plateau schedules advance by themselves (docs/own-training.md).
- `LabCallback` walks ``run.epochs()`` with Lightning's epochs: it reports the logged
  metrics and the state at the end of each training epoch (after validation), loads the
  state back when the run resumes, and stops the trainer after the run's last epoch.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

import lightning as L
import torch
from examples.own_regression import data

from lrlab.lab import Run


class Regressor(L.LightningModule):
    """An MLP regressor trained with SGD under the run's schedule."""

    def __init__(self, run: Run, steps_per_epoch: int) -> None:
        super().__init__()
        self.run = run
        self.steps_per_epoch = steps_per_epoch
        self.net = torch.nn.Sequential(
            torch.nn.Linear(10, 64), torch.nn.ReLU(), torch.nn.Linear(64, 1)
        )

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], _: int) -> torch.Tensor:
        x, y = batch
        loss = torch.nn.functional.mse_loss(self.net(x), y)
        self.log("train_loss", loss, on_step=False, on_epoch=True)
        return loss

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], _: int) -> None:
        x, y = batch
        prediction = self.net(x)
        mse = torch.nn.functional.mse_loss(prediction, y)
        self.log("val_loss", mse)
        self.log("val_mse", mse)
        self.log("val_mae", (prediction - y).abs().mean())

    def configure_optimizers(self) -> dict[str, Any]:
        optimizer = torch.optim.SGD(self.parameters(), lr=self.run.lr, momentum=0.9)
        scheduler = self.run.scheduler(optimizer, steps_per_epoch=self.steps_per_epoch)
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step"},
        }


class LabCallback(L.Callback):
    """Lightning's epochs as the run's: resume, report, stop."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.epochs = run.epochs()
        self.state = run.restore()
        self.epoch = -1

    def on_train_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        if self.state is not None:  # resuming: the model and optimizer as they were
            module.load_state_dict(self.state["model"])
            trainer.optimizers[0].load_state_dict(self.state["optimizer"])

    def on_train_epoch_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        self.epoch = next(self.epochs)

    def on_train_epoch_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        metrics = {name: float(value) for name, value in trainer.callback_metrics.items()}
        state = {"model": module.state_dict(), "optimizer": trainer.optimizers[0].state_dict()}
        self.run.report(**metrics, state=state)
        if self.epoch == self.run.total_epochs - 1:
            trainer.should_stop = True


def train(run: Run) -> None:
    """One run of the LightningModule, under the run's schedule and seed."""
    torch.manual_seed(run.seed)
    x_train, y_train, x_val, y_val = data(run.seed)
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(x_train, y_train), batch_size=32, shuffle=True
    )
    validation = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(x_val, y_val), batch_size=len(y_val)
    )
    module = Regressor(run, steps_per_epoch=len(loader))
    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)  # no banner per run
    trainer = L.Trainer(
        max_epochs=run.total_epochs,
        accelerator="cpu",
        devices=1,
        logger=False,
        enable_checkpointing=False,  # the lab checkpoints
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        callbacks=[LabCallback(run)],
    )
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", ".*does not have many workers")  # tiny data
        # lightning 2.6.6 with torch 2.13: a deprecation inside Lightning, not ours to fix
        warnings.filterwarnings("ignore", "`isinstance\\(treespec, LeafSpec\\)`", FutureWarning)
        trainer.fit(module, loader, validation)
