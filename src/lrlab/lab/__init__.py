"""The lab: data, models and a resumable trainer to compare schedules on real training.

Needs the ``lab`` extra (torch, scikit-learn).
"""

from lrlab.lab.data import Dataset, load
from lrlab.lab.models import build
from lrlab.lab.train import EpochMetrics, RunResult, TrainConfig, train

__all__ = ["Dataset", "EpochMetrics", "RunResult", "TrainConfig", "build", "load", "train"]
