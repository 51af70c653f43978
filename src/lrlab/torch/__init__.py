"""lrlab for PyTorch: `ScheduleLR` for any lrlab schedule, `record`, `set_lr`.

The only package of lrlab that imports torch.
"""

from lrlab.torch._record import record
from lrlab.torch._schedule_lr import ScheduleLR, set_lr

__all__ = ["ScheduleLR", "record", "set_lr"]
