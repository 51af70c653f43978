"""lrlab for PyTorch: drop-in schedulers, `ScheduleLR` for any lrlab schedule, `record`.

The only package of lrlab that imports torch. Change
``from torch.optim.lr_scheduler import StepLR`` to ``from lrlab.torch import StepLR``:
same names, signatures and learning rates, computed in closed form.
"""

from lrlab.torch._param import ScheduleParam
from lrlab.torch._record import record
from lrlab.torch._schedule_lr import ScheduleLR, set_lr
from lrlab.torch.dropins import (
    ChainedScheduler,
    ConstantLR,
    CosineAnnealingLR,
    CosineAnnealingWarmRestarts,
    CyclicLR,
    ExponentialLR,
    LambdaLR,
    LinearLR,
    MultiplicativeLR,
    MultiStepLR,
    OneCycleLR,
    PolynomialLR,
    ReduceLROnPlateau,
    SequentialLR,
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
    "record",
    "set_lr",
]
