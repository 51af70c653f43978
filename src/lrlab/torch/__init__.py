"""lrlab for PyTorch: drop-in schedulers, `ScheduleLR` for any lrlab schedule, `record`,
`TimmScheduler` (any schedule driven like a timm scheduler), `lightning_scheduler` and
`LRRecorder` (Lightning), `hf_scheduler` (the Hugging Face ``Trainer``).

The only package of lrlab that imports torch. Change
``from torch.optim.lr_scheduler import StepLR`` to ``from lrlab.torch import StepLR``:
same names, signatures and learning rates, computed in closed form.
``import lrlab.torch`` imports neither Lightning nor transformers: `LRRecorder`, a
Lightning callback, loads its module (and Lightning) on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from lrlab.torch._combine import ChainedScheduler, SequentialLR
from lrlab.torch._cycling import CyclicLR, OneCycleLR
from lrlab.torch._function_lr import LambdaLR, MultiplicativeLR
from lrlab.torch._hf import hf_scheduler
from lrlab.torch._lightning import lightning_scheduler
from lrlab.torch._param import ScheduleParam
from lrlab.torch._plateau_lr import ReduceLROnPlateau
from lrlab.torch._record import record
from lrlab.torch._schedule_lr import ScheduleLR, set_lr
from lrlab.torch._timm import TimmScheduler
from lrlab.torch.dropins import (
    ConstantLR,
    CosineAnnealingLR,
    CosineAnnealingWarmRestarts,
    ExponentialLR,
    LinearLR,
    MultiStepLR,
    PolynomialLR,
    StepLR,
)

if TYPE_CHECKING:
    from lrlab.torch._lightning_recorder import LRRecorder

__all__ = [
    "ChainedScheduler",
    "ConstantLR",
    "CosineAnnealingLR",
    "CosineAnnealingWarmRestarts",
    "CyclicLR",
    "ExponentialLR",
    "LRRecorder",
    "LambdaLR",
    "LinearLR",
    "MultiStepLR",
    "MultiplicativeLR",
    "OneCycleLR",
    "PolynomialLR",
    "ReduceLROnPlateau",
    "ScheduleLR",
    "ScheduleParam",
    "SequentialLR",
    "StepLR",
    "TimmScheduler",
    "hf_scheduler",
    "lightning_scheduler",
    "record",
    "set_lr",
]


def __getattr__(name: str) -> Any:
    """`LRRecorder` on first use (it imports Lightning)."""
    if name == "LRRecorder":
        value = importlib.import_module("lrlab.torch._lightning_recorder").LRRecorder
        globals()[name] = value
        return value
    raise AttributeError(f"module 'lrlab.torch' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
