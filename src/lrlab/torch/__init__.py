"""lrlab for PyTorch: drop-in schedulers, `ScheduleLR` for any lrlab schedule, `record`,
`TimmScheduler` (any schedule driven like a timm scheduler).

The only package of lrlab that imports torch. Change
``from torch.optim.lr_scheduler import StepLR`` to ``from lrlab.torch import StepLR``:
same names, signatures and learning rates, computed in closed form.
"""

from lrlab.torch._combine import ChainedScheduler, SequentialLR
from lrlab.torch._cycling import CyclicLR, OneCycleLR
from lrlab.torch._function_lr import LambdaLR, MultiplicativeLR
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

__all__ = [
    "ChainedScheduler",
    "ConstantLR",
    "CosineAnnealingLR",
    "CosineAnnealingWarmRestarts",
    "CyclicLR",
    "ExponentialLR",
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
    "record",
    "set_lr",
]
