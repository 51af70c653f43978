"""`hf_scheduler` under a real Hugging Face `transformers.Trainer` (CPU, a few steps): the
lr of every optimizer step against the schedule's closed form, and what the Trainer logs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

import lrlab
from lrlab.schedules.checks import ParameterError
from lrlab.torch import ScheduleLR, hf_scheduler

transformers = pytest.importorskip("transformers")
pytest.importorskip("accelerate")  # the Trainer needs it


class Regressor(torch.nn.Module):
    """A linear regressor whose forward returns the loss, as the Trainer expects."""

    def __init__(self) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(4, 1)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"loss": torch.nn.functional.mse_loss(self.layer(x).squeeze(1), y)}


class Samples(torch.utils.data.Dataset[dict[str, torch.Tensor]]):
    """64 random samples as dicts (the Trainer's default collator stacks them)."""

    def __init__(self) -> None:
        generator = torch.Generator().manual_seed(0)
        self.x = torch.randn(64, 4, generator=generator)
        self.y = torch.randn(64, generator=generator)

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"x": self.x[i], "y": self.y[i]}


class Lrs(transformers.TrainerCallback):  # type: ignore[misc]
    """Every group's lr just before each optimizer step, the scheduler's `get_last_lr()`
    once the step is done, and the ``learning_rate`` the Trainer logs, by step."""

    def __init__(self) -> None:
        self.used: list[list[float]] = []
        self.after: list[float] = []
        self.logged: dict[int, float] = {}

    def on_pre_optimizer_step(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
        self.used.append([group["lr"] for group in kw["optimizer"].param_groups])

    def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
        self.after.append(kw["lr_scheduler"].get_last_lr()[0])

    def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kw: Any) -> None:
        if "learning_rate" in logs:
            self.logged[state.global_step] = logs["learning_rate"]


def train(tmp_path: Path, schedule: Any, *, steps: int, **options: Any) -> Lrs:
    """Train a `Regressor` for ``steps`` optimizer steps under ``hf_scheduler``."""
    torch.manual_seed(0)
    model = Regressor()
    optimizer = torch.optim.SGD(
        [{"params": [model.layer.weight], "lr": 0.1}, {"params": [model.layer.bias], "lr": 0.02}],
        momentum=0.9,
    )
    args = transformers.TrainingArguments(
        output_dir=str(tmp_path),
        report_to=[],
        max_steps=steps,
        per_device_train_batch_size=4,
        use_cpu=True,
        save_strategy="no",
        logging_steps=1,
        disable_tqdm=True,
        **options,
    )
    lrs = Lrs()
    trainer = transformers.Trainer(
        model=model,
        args=args,
        train_dataset=Samples(),
        optimizers=(optimizer, hf_scheduler(optimizer, schedule)),
        callbacks=[lrs],
    )
    trainer.train()
    return lrs


def restarts(lr: float) -> lrlab.Schedule:
    return lrlab.cosine_restarts(init=lr, period=4, end=lr / 100)


def test_every_step_uses_the_closed_form_and_the_log_says_so(tmp_path: Path) -> None:
    lrs = train(tmp_path, restarts, steps=10)
    assert lrs.used == [[restarts(0.1)(k), restarts(0.02)(k)] for k in range(10)]
    # global_step k is logged after the k-th update: the lr that update used, s(k - 1)
    assert lrs.logged == {k: restarts(0.1)(k - 1) for k in range(1, 11)}
    # the scheduler's lr once a step is done is the next step's: what transformers
    # logged before its fix of issue #35942 (a restart at step 4 shows at step 3)
    assert lrs.after == [restarts(0.1)(k) for k in range(1, 11)]
    assert lrs.logged[4] == restarts(0.1)(3) < 0.02
    assert lrs.after[3] == 0.1


def test_gradient_accumulation_steps_the_schedule_once_an_update(tmp_path: Path) -> None:
    schedule = lrlab.step(init=0.1, period=2, gamma=0.5)
    lrs = train(tmp_path, schedule, steps=6, gradient_accumulation_steps=2)  # 12 batches
    assert [used[0] for used in lrs.used] == schedule.values(6).tolist()


def test_the_scheduler_is_a_schedule_lr() -> None:
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    scheduler = hf_scheduler(opt, lambda lr: lrlab.linear(init=lr, end=0.0, steps=10))
    assert isinstance(scheduler, ScheduleLR)
    assert isinstance(scheduler, torch.optim.lr_scheduler.LRScheduler)
    assert scheduler.schedules == [lrlab.linear(init=0.1, end=0.0, steps=10)]


def test_a_metric_driven_schedule_is_refused() -> None:
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    schedule = lrlab.join(
        [lrlab.linear(init=0.0, end=0.1, steps=5), lrlab.plateau(init=0.1)], at=[5]
    )
    with pytest.raises(ParameterError, match=r"^hf_scheduler: schedule must not be") as caught:
        hf_scheduler(opt, schedule)
    assert caught.value.parameter == "schedule"
    assert opt.param_groups[0]["lr"] == 0.1  # refused before any scheduler touched it


def test_not_an_optimizer_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="hf_scheduler: optimizer must be a torch Optimizer"):
        hf_scheduler(None, lrlab.cosine(init=0.1, steps=10))  # type: ignore[arg-type]
