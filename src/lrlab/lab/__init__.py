"""The lab: data, models and a resumable trainer to compare schedules on real training.

Needs the ``lab`` extra (torch, scikit-learn). Names load on first use, so that the
records, the store and the report (`lrlab.lab.records`, `lrlab.lab.store`,
`lrlab.lab.report`) can be imported without torch.

>>> import lrlab.lab.compare
>>> from lrlab.lab import compare
>>> compare.__module__, sorted(lrlab.lab.__all__)[:3]
('lrlab.lab.compare', ['Dataset', 'Epoch', 'Experiment'])
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lrlab.lab.compare import compare
    from lrlab.lab.config import TrainConfig
    from lrlab.lab.data import Dataset, load
    from lrlab.lab.experiment import Experiment, ScheduleEntry, default_schedules
    from lrlab.lab.find_lr import FindLRResult, find_lr, find_lr_for
    from lrlab.lab.models import build
    from lrlab.lab.records import Epoch
    from lrlab.lab.report import summarise, write_report
    from lrlab.lab.run import Run, RunError, RunScheduler
    from lrlab.lab.suggest import Suggestion
    from lrlab.lab.sweep import FindLRSettings
    from lrlab.lab.train import RunResult, train

_HOMES = {
    "Dataset": "data",
    "Epoch": "records",
    "Experiment": "experiment",
    "FindLRResult": "find_lr",
    "FindLRSettings": "sweep",
    "Run": "run",
    "RunError": "run",
    "RunResult": "train",
    "RunScheduler": "run",
    "ScheduleEntry": "experiment",
    "Suggestion": "suggest",
    "TrainConfig": "config",
    "build": "models",
    "compare": "compare",
    "default_schedules": "experiment",
    "find_lr": "find_lr",
    "find_lr_for": "find_lr",
    "load": "data",
    "summarise": "report",
    "train": "train",
    "write_report": "report",
}

__all__ = [
    "Dataset",
    "Epoch",
    "Experiment",
    "FindLRResult",
    "FindLRSettings",
    "Run",
    "RunError",
    "RunResult",
    "RunScheduler",
    "ScheduleEntry",
    "Suggestion",
    "TrainConfig",
    "build",
    "compare",
    "default_schedules",
    "find_lr",
    "find_lr_for",
    "load",
    "summarise",
    "train",
    "write_report",
]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'lrlab.lab' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"lrlab.lab.{_HOMES[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


class _Package(types.ModuleType):
    """``lrlab.lab``: ``compare``, ``train`` and ``find_lr`` stay the functions of those
    names when their modules (``lrlab.lab.compare``...) are imported."""

    def __setattr__(self, name: str, value: object) -> None:
        if name in _HOMES and isinstance(value, types.ModuleType):
            return  # the import system binds a loaded submodule; the function keeps the name
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
