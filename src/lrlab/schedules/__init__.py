"""Schedule families and composition. Needs numpy only."""

from lrlab.schedules._base import Schedule, families, from_dict
from lrlab.schedules.annealing import annealing
from lrlab.schedules.basic import (
    constant,
    exponential,
    inverse_time,
    linear,
    multistep,
    piecewise_constant,
    piecewise_linear,
    polynomial,
    step,
)
from lrlab.schedules.compose import clip, join, product, scale, warmup
from lrlab.schedules.cyclical import cosine, cosine_restarts, cyclic, one_cycle
from lrlab.schedules.modern import inverse_sqrt, wsd
from lrlab.schedules.summary import Summary, summarize

__all__ = [
    "Schedule",
    "Summary",
    "annealing",
    "clip",
    "constant",
    "cosine",
    "cosine_restarts",
    "cyclic",
    "exponential",
    "families",
    "from_dict",
    "inverse_sqrt",
    "inverse_time",
    "join",
    "linear",
    "multistep",
    "one_cycle",
    "piecewise_constant",
    "piecewise_linear",
    "polynomial",
    "product",
    "scale",
    "step",
    "summarize",
    "warmup",
    "wsd",
]
