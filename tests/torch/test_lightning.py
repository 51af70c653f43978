"""A drop-in and ScheduleLR inside PyTorch Lightning's Trainer (CPU, a few steps)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

import lrlab
from lrlab.torch import ScheduleLR, StepLR

lightning = pytest.importorskip("lightning")


class Tiny(lightning.LightningModule):  # type: ignore[misc]
    def __init__(self, scheduler: str) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(4, 1)
        self.scheduler = scheduler
        self.seen: list[float] = []

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        x, y = batch
        self.seen.append(self.trainer.optimizers[0].param_groups[0]["lr"])
        return torch.nn.functional.mse_loss(self.layer(x).squeeze(1), y)

    def configure_optimizers(self) -> Any:
        opt = torch.optim.SGD(self.parameters(), lr=0.1, momentum=0.9)
        if self.scheduler == "drop-in":
            sched: Any = StepLR(opt, step_size=3, gamma=0.5)
        else:
            sched = ScheduleLR(
                opt, lambda lr: lrlab.warmup(lrlab.cosine(init=lr, steps=8), steps=4)
            )
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.filterwarnings("ignore::FutureWarning")
@pytest.mark.parametrize(
    ("kind", "schedule"),
    [
        ("drop-in", lrlab.step(init=0.1, period=3, gamma=0.5)),
        ("schedule", lrlab.warmup(lrlab.cosine(init=0.1, steps=8), steps=4)),
    ],
)
def test_scheduler_in_lightning_trainer(
    tmp_path: Path, kind: str, schedule: lrlab.Schedule
) -> None:
    torch.manual_seed(0)
    data = torch.utils.data.TensorDataset(torch.randn(48, 4), torch.randn(48))
    loader = torch.utils.data.DataLoader(data, batch_size=4)
    model = Tiny(kind)
    trainer = lightning.Trainer(
        max_steps=12,
        accelerator="cpu",
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=tmp_path,
    )
    trainer.fit(model, loader)
    assert model.seen == schedule.values(12).tolist()
