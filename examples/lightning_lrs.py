"""The lr each Lightning step used, recorded by `LRRecorder`, around a restart.

    python examples/lightning_lrs.py lr.png

trains a small regressor for 12 steps under ``cosine_restarts(init=0.1, period=4)`` (per
batch, through `lightning_scheduler`), prints the lr `LRRecorder` saw before each step,
the one a read after the step sees, and the schedule's closed form, and draws the
recorded series (docs/ecosystem.md, "Lightning and the Hugging Face Trainer").
"""

from __future__ import annotations

import logging
import sys
import warnings
from typing import Any

import lightning as L
import torch

import lrlab
from lrlab.torch import LRRecorder, lightning_scheduler

SCHEDULE = lrlab.cosine_restarts(init=0.1, period=4, end=0.001)


class Regressor(L.LightningModule):
    """A linear regressor trained with SGD under `SCHEDULE`."""

    def __init__(self) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(4, 1)

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], _: int) -> torch.Tensor:
        x, y = batch
        return torch.nn.functional.mse_loss(self.layer(x).squeeze(1), y)

    def configure_optimizers(self) -> dict[str, Any]:
        optimizer = torch.optim.SGD(self.parameters(), lr=0.1, momentum=0.9)
        return lightning_scheduler(optimizer, SCHEDULE, per="batch")


class AfterStep(L.Callback):
    """The naive read: the lr once the batch is done (the scheduler has stepped)."""

    def __init__(self) -> None:
        self.lrs: list[float] = []

    def on_train_batch_end(self, trainer: L.Trainer, *args: Any) -> None:
        self.lrs.append(trainer.optimizers[0].param_groups[0]["lr"])


def main(figure: str | None = None, steps: int = 12) -> tuple[list[float], list[float]]:
    """Train, print the three columns, save the figure; the recorded and naive lrs."""
    torch.manual_seed(0)
    data = torch.utils.data.TensorDataset(torch.randn(64, 4), torch.randn(64))
    recorder, after = LRRecorder(), AfterStep()
    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)  # no banner
    trainer = L.Trainer(
        max_steps=steps,
        accelerator="cpu",
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[recorder, after],
    )
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", ".*does not have many workers")  # tiny data
        # lightning 2.6.6 with torch 2.13: a deprecation inside Lightning, not ours to fix
        warnings.filterwarnings("ignore", "`isinstance\\(treespec, LeafSpec\\)`", FutureWarning)
        trainer.fit(Regressor(), torch.utils.data.DataLoader(data, batch_size=4))
    used = recorder.lrs["lr-SGD"]
    print("step  recorded  after-step  s(step)")
    for k, (lr, naive) in enumerate(zip(used, after.lrs, strict=True)):
        print(f"{k:4d}  {lr:8.5f}  {naive:10.5f}  {SCHEDULE(k):7.5f}")
    if figure is not None:
        recorder.plot(title="the lr of each optimizer step", save=figure)
    return used, after.lrs


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
