"""The lab: data, models and a resumable trainer to compare schedules on real training.

Needs the ``lab`` extra (torch, scikit-learn).
"""

from lrlab.lab.compare import compare
from lrlab.lab.data import Dataset, load
from lrlab.lab.experiment import Experiment, ScheduleEntry, default_schedules
from lrlab.lab.find_lr import FindLRResult, Suggestion, find_lr, find_lr_for
from lrlab.lab.models import build
from lrlab.lab.report import summarise, write_report
from lrlab.lab.train import EpochMetrics, RunResult, TrainConfig, train

__all__ = [
    "Dataset",
    "EpochMetrics",
    "Experiment",
    "FindLRResult",
    "RunResult",
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
