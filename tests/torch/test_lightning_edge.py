"""`lightning_scheduler` and `LRRecorder` under a real Lightning `Trainer` (CPU, a few
steps): the lr of every optimizer step against the schedule's closed form."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

import lrlab
from lrlab.schedules.checks import ParameterError
from lrlab.torch import ScheduleLR, lightning_scheduler

lightning = pytest.importorskip("lightning")
from lrlab.torch import LRRecorder  # noqa: E402  (it imports Lightning)

pytestmark = [
    # Lightning 2.6.6 calls torch 2.13's deprecated `LeafSpec` when it flattens the
    # dataloaders (lightning/pytorch/utilities/_pytree.py): Lightning's, not ours.
    pytest.mark.filterwarnings("ignore:.*LeafSpec.*:FutureWarning"),
    # On a machine of more than 2 CPUs Lightning suggests dataloader workers: these
    # loaders hold 48 samples in memory, which workers would only slow down.
    pytest.mark.filterwarnings(
        "ignore:The 'train_dataloader' does not have many workers:UserWarning"
    ),
    pytest.mark.filterwarnings(
        "ignore:The 'val_dataloader' does not have many workers:UserWarning"
    ),
]

Configure = Callable[[torch.nn.Module], Any]


class Tiny(lightning.LightningModule):  # type: ignore[misc]
    """A linear regressor whose ``configure_optimizers`` is ``configure(self)``."""

    def __init__(self, configure: Configure) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(4, 1)
        self.configure = configure

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        x, y = batch
        return torch.nn.functional.mse_loss(self.layer(x).squeeze(1), y)

    def configure_optimizers(self) -> Any:
        return self.configure(self)


class Stuck(Tiny):
    """`Tiny` with a validation loss that never improves (a plateau reduces the lr)."""

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        self.log("val_loss", 1.0)


class TwoOptimizers(lightning.LightningModule):  # type: ignore[misc]
    """Manual optimization: two optimizers, each with its scheduler, stepped per batch."""

    def __init__(self, configure: Configure) -> None:
        super().__init__()
        self.automatic_optimization = False
        self.a = torch.nn.Linear(4, 4)
        self.b = torch.nn.Linear(4, 1)
        self.configure = configure

    def training_step(self, batch: Any, batch_idx: int) -> None:
        x, y = batch
        loss = torch.nn.functional.mse_loss(self.b(self.a(x)).squeeze(1), y)
        optimizers = self.optimizers()
        for opt in optimizers:
            opt.zero_grad()
        self.manual_backward(loss)
        for opt in optimizers:
            opt.step()
        for scheduler in self.lr_schedulers():
            scheduler.step()

    def configure_optimizers(self) -> Any:
        return self.configure(self)


class AfterStep(lightning.Callback):  # type: ignore[misc]
    """The naive read: group 0's lr once the batch is done (the scheduler has stepped)."""

    def __init__(self) -> None:
        self.lrs: list[float] = []

    def on_train_batch_end(self, trainer: Any, *args: Any) -> None:
        self.lrs.append(trainer.optimizers[0].param_groups[0]["lr"])


def fit(
    tmp_path: Path,
    module: Any,
    callbacks: list[Any],
    *,
    steps: int,
    batch_size: int = 4,
    validate: bool = False,
    ckpt_path: str | None = None,
    **options: Any,
) -> Any:
    """Train ``module`` for ``steps`` batches of 48 random samples on the CPU, quietly
    (from the checkpoint ``ckpt_path`` in ``tmp_path``, if given); return the Trainer."""
    torch.manual_seed(0)
    data = torch.utils.data.TensorDataset(torch.randn(48, 4), torch.randn(48))
    loader = torch.utils.data.DataLoader(data, batch_size=batch_size)
    trainer = lightning.Trainer(
        max_steps=steps,
        accelerator="cpu",
        devices=1,
        logger=options.pop("logger", False),
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=tmp_path,
        callbacks=callbacks,
        num_sanity_val_steps=0,
        limit_val_batches=1 if validate else 0,
        **options,
    )
    checkpoint = None if ckpt_path is None else tmp_path / ckpt_path
    trainer.fit(module, loader, loader if validate else None, ckpt_path=checkpoint)
    return trainer


def sgd_two_groups(module: torch.nn.Module) -> torch.optim.SGD:
    """SGD with the weight at lr 0.1 and the bias at lr 0.02."""
    layer = module.layer
    return torch.optim.SGD(
        [{"params": [layer.weight], "lr": 0.1}, {"params": [layer.bias], "lr": 0.02}],
        momentum=0.9,
    )


def restarts(lr: float) -> lrlab.Schedule:
    return lrlab.cosine_restarts(init=lr, period=4, end=lr / 100)


def test_per_batch_gives_every_step_the_closed_form(tmp_path: Path) -> None:
    recorder = LRRecorder()
    module = Tiny(lambda m: lightning_scheduler(sgd_two_groups(m), restarts))
    fit(tmp_path, module, [recorder], steps=10)
    assert recorder.lrs == {
        "lr-SGD/pg1": restarts(0.1).values(10).tolist(),
        "lr-SGD/pg2": restarts(0.02).values(10).tolist(),
    }


@pytest.mark.parametrize(
    ("per", "frequency", "batch_size", "every"),
    [("epoch", 1, 16, 3), ("batch", 2, 4, 2)],  # 3 batches an epoch, or 12
)
def test_per_epoch_and_frequency_step_the_schedule_less_often(
    tmp_path: Path, per: str, frequency: int, batch_size: int, every: int
) -> None:
    schedule = lrlab.step(init=0.1, period=1, gamma=0.5)
    recorder = LRRecorder()
    module = Tiny(
        lambda m: lightning_scheduler(
            torch.optim.SGD(m.parameters(), lr=0.1), schedule, per=per, frequency=frequency
        )
    )
    fit(tmp_path, module, [recorder], steps=9, batch_size=batch_size)
    assert recorder.lrs == {"lr-SGD": [schedule(k // every) for k in range(9)]}


def test_a_plateau_is_fed_the_monitored_metric_once_an_epoch(tmp_path: Path) -> None:
    schedule = lrlab.plateau(init=0.1, factor=0.5, patience=1)
    recorder = LRRecorder()
    module = Stuck(
        lambda m: lightning_scheduler(
            torch.optim.SGD(m.parameters(), lr=0.1), schedule, per="epoch", monitor="val_loss"
        )
    )
    fit(tmp_path, module, [recorder], steps=18, batch_size=16, validate=True)
    state, expected = schedule.initial_state(), []
    for _ in range(6):  # 6 epochs of 3 batches, the metric after each
        expected += [schedule.lr(state)] * 3
        state = schedule.update(state, 1.0)
    assert recorder.lrs == {"lr-SGD": expected}
    assert min(expected) < 0.1  # the plateau did reduce


def test_a_checkpoint_resumes_the_schedule_where_it_stopped(tmp_path: Path) -> None:
    """Lightning saves and loads the scheduler's state: the resumed fit goes on at s(3)."""

    def configure(m: torch.nn.Module) -> Any:
        return lightning_scheduler(sgd_two_groups(m), restarts)

    first, second = LRRecorder(), LRRecorder()
    trainer = fit(tmp_path, Tiny(configure), [first], steps=3, batch_size=16)  # an epoch
    trainer.save_checkpoint(tmp_path / "epoch.ckpt")
    fit(tmp_path, Tiny(configure), [second], steps=9, batch_size=16, ckpt_path="epoch.ckpt")
    assert first.lrs["lr-SGD/pg1"] == restarts(0.1).values(3).tolist()
    assert second.lrs["lr-SGD/pg1"] == restarts(0.1).values(9).tolist()[3:]


def test_the_config_is_what_lightning_reads() -> None:
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    config = lightning_scheduler(opt, lrlab.cosine(init=0.1, steps=10), name="lr-main")
    scheduler = config["lr_scheduler"].pop("scheduler")
    assert config == {
        "optimizer": opt,
        "lr_scheduler": {"interval": "step", "frequency": 1, "name": "lr-main"},
    }
    assert isinstance(scheduler, ScheduleLR)
    assert scheduler.schedules == [lrlab.cosine(init=0.1, steps=10)]


@pytest.mark.parametrize(
    ("schedule", "options", "parameter"),
    [
        (lrlab.cosine(init=0.1, steps=10), {"per": "step"}, "per"),
        (lrlab.cosine(init=0.1, steps=10), {"frequency": 0}, "frequency"),
        (lrlab.cosine(init=0.1, steps=10), {"name": 3}, "name"),
        (lrlab.cosine(init=0.1, steps=10), {"monitor": "val_loss"}, "monitor"),
        (lrlab.cosine(init=0.1, steps=10), {"monitor": ""}, "monitor"),
        (lrlab.plateau(init=0.1), {"per": "epoch"}, "monitor"),
        (lrlab.plateau(init=0.1), {"monitor": "val_loss"}, "per"),
    ],
)
def test_bad_arguments_name_the_parameter(
    schedule: lrlab.Schedule, options: dict[str, Any], parameter: str
) -> None:
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    with pytest.raises(ParameterError, match=f"^lightning_scheduler: {parameter} ") as caught:
        lightning_scheduler(opt, schedule, **options)
    assert caught.value.parameter == parameter
    assert opt.param_groups[0]["lr"] == 0.1  # refused before any scheduler touched it


def test_not_an_optimizer_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="lightning_scheduler: optimizer must be a torch"):
        lightning_scheduler("sgd", lrlab.cosine(init=0.1, steps=10))  # type: ignore[arg-type]


def test_the_recorder_sees_the_lr_of_the_step_not_the_next(tmp_path: Path) -> None:
    """A drop at step 3: the lr recorded for step 2 is the one step 2 used."""
    schedule = lrlab.step(init=0.1, period=3, gamma=0.1)
    recorder, after = LRRecorder(), AfterStep()
    module = Tiny(lambda m: lightning_scheduler(torch.optim.SGD(m.parameters(), lr=0.1), schedule))
    fit(tmp_path, module, [recorder, after], steps=7)
    assert recorder.lrs["lr-SGD"] == schedule.values(7).tolist()
    assert after.lrs == schedule.values(8).tolist()[1:]  # every value one step early
    assert recorder.lrs["lr-SGD"][2] == schedule(2) == 0.1
    assert after.lrs[2] == pytest.approx(0.01)


def test_gradient_accumulation_records_each_optimizer_step_once(tmp_path: Path) -> None:
    recorder = LRRecorder()
    module = Tiny(lambda m: lightning_scheduler(sgd_two_groups(m), restarts))
    fit(tmp_path, module, [recorder], steps=6, accumulate_grad_batches=2)  # 12 batches
    assert recorder.lrs["lr-SGD/pg1"] == restarts(0.1).values(6).tolist()


def two_schedulers(module: Any) -> Any:
    first = torch.optim.SGD(
        [{"params": module.a.parameters(), "lr": 0.1}, {"params": module.b.parameters()}],
        lr=0.05,
    )
    second = torch.optim.Adam(module.b.parameters(), lr=0.01)
    return [
        lightning_scheduler(first, restarts),
        lightning_scheduler(second, lrlab.step(init=0.01, period=2, gamma=0.5)),
    ]


def test_two_optimizers_and_several_param_groups(tmp_path: Path) -> None:
    recorder = LRRecorder()
    fit(tmp_path, TwoOptimizers(two_schedulers), [recorder], steps=12)  # 6 batches
    assert recorder.lrs == {
        "lr-SGD/pg1": restarts(0.1).values(6).tolist(),
        "lr-SGD/pg2": restarts(0.05).values(6).tolist(),
        "lr-Adam": lrlab.step(init=0.01, period=2, gamma=0.5).values(6).tolist(),
    }


def named_groups(module: Any) -> Any:
    first = torch.optim.SGD(
        [
            {"params": module.a.parameters(), "name": "encoder"},
            {"params": module.b.parameters(), "name": "head"},
        ],
        lr=0.1,
    )
    second = torch.optim.SGD([{"params": module.b.parameters(), "name": "head"}], lr=0.2)
    return [
        lightning_scheduler(first, restarts),
        lightning_scheduler(second, restarts),
    ]


def same_class(module: Any) -> Any:
    first = torch.optim.SGD(module.a.parameters(), lr=0.1)
    second = torch.optim.SGD(module.b.parameters(), lr=0.2)
    third = torch.optim.SGD(module.b.parameters(), lr=0.3)
    return [
        lightning_scheduler(first, restarts),
        lightning_scheduler(second, restarts, name="head"),
        lightning_scheduler(third, restarts),
    ]


@pytest.mark.parametrize(
    ("configure", "optimizers", "names"),
    [
        (two_schedulers, 2, ["lr-SGD/pg1", "lr-SGD/pg2", "lr-Adam"]),
        (named_groups, 2, ["lr-SGD/encoder", "lr-SGD/head", "lr-SGD-1/head"]),
        (same_class, 3, ["lr-SGD", "head", "lr-SGD-1"]),
    ],
)
def test_series_are_named_and_valued_as_learning_rate_monitor_logs_them(
    tmp_path: Path, configure: Configure, optimizers: int, names: list[str]
) -> None:
    from lightning.pytorch.callbacks import LearningRateMonitor
    from lightning.pytorch.loggers import CSVLogger

    recorder, monitor = LRRecorder(), LearningRateMonitor(logging_interval="step")
    logger = CSVLogger(tmp_path)
    module = TwoOptimizers(configure)
    callbacks = [recorder, monitor]
    steps = 4 * optimizers  # 4 batches: manual optimization counts each optimizer's steps
    fit(tmp_path, module, callbacks, steps=steps, logger=logger, log_every_n_steps=1)
    assert list(recorder.lrs) == names
    assert set(monitor.lrs) == set(names)
    assert recorder.lrs == monitor.lrs  # the monitor reads at batch start: the same values
    assert all(len(values) == 4 for values in recorder.lrs.values())


def test_duplicate_group_names_are_refused(tmp_path: Path) -> None:
    def configure(module: Any) -> Any:
        groups = [
            {"params": module.a.parameters(), "name": "x"},
            {"params": module.b.parameters(), "name": "x"},
        ]
        return lightning_scheduler(torch.optim.SGD(groups, lr=0.1), restarts)

    with pytest.raises(ValueError, match=r"param groups of lr-SGD must have different names"):
        fit(tmp_path, TwoOptimizers(configure), [LRRecorder()], steps=1)


def test_plot_draws_every_series(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    recorder = LRRecorder()
    module = Tiny(lambda m: lightning_scheduler(sgd_two_groups(m), restarts))
    fit(tmp_path, module, [recorder], steps=8)
    figure = recorder.plot(log=True, save=tmp_path / "lr.png")
    lines = [line for line in figure.axes[0].get_lines() if not line.get_label().startswith("_")]
    assert [line.get_label() for line in lines] == ["lr-SGD/pg1", "lr-SGD/pg2"]
    assert lines[1].get_ydata().tolist() == restarts(0.02).values(8).tolist()
    assert (tmp_path / "lr.png").stat().st_size > 0


def test_import_lrlab_torch_loads_neither_lightning_nor_transformers() -> None:
    code = (
        "import sys, lrlab, lrlab.torch; "
        "lrlab.torch.lightning_scheduler, lrlab.torch.hf_scheduler; "
        "heavy = ('lightning', 'pytorch_lightning', 'transformers'); "
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.splitlines() == ["[]"]


def test_the_example_shows_the_recorded_and_the_after_step_lrs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from examples.lightning_lrs import SCHEDULE, main

    used, after = main(str(tmp_path / "lr.svg"), steps=8)
    assert used == SCHEDULE.values(8).tolist()
    assert after == SCHEDULE.values(9).tolist()[1:]
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "step  recorded  after-step  s(step)"
    assert lines[4].split() == ["3", "0.01550", "0.10000", "0.01550"]  # the restart
    assert (tmp_path / "lr.svg").read_text().startswith("<?xml")


def test_the_lazy_name_is_public_and_others_are_attribute_errors() -> None:
    import lrlab.torch

    assert set(lrlab.torch.__all__) <= set(dir(lrlab.torch))
    assert lrlab.torch.LRRecorder is LRRecorder
    with pytest.raises(AttributeError, match=r"module 'lrlab\.torch' has no attribute 'nope'"):
        _ = lrlab.torch.nope  # type: ignore[attr-defined]
