"""lrlab: choose, apply, see and compare learning-rate schedules.

A schedule is an immutable, pure function of the step: ``lr = s(t)`` where ``t`` is the
number of scheduler steps already taken (torch's ``last_epoch``).

>>> import lrlab
>>> s = lrlab.warmup(lrlab.cosine(init=0.1, steps=900, end=1e-5), steps=100)
>>> curve = s.values(1_000_000)
>>> curve.shape, float(curve.max())
((1000000,), 0.1)
>>> lrlab.from_dict(s.to_dict()) == s
True
"""

from lrlab.plateau import PlateauState, plateau
from lrlab.schedules import (
    Schedule,
    clip,
    constant,
    cosine,
    cosine_restarts,
    cyclic,
    exponential,
    families,
    from_dict,
    inverse_sqrt,
    join,
    linear,
    multistep,
    one_cycle,
    piecewise_constant,
    piecewise_linear,
    polynomial,
    product,
    scale,
    step,
    warmup,
    wsd,
)
from lrlab.schedules.durations import to_steps
from lrlab.spec import SpecError, parse

__version__ = "0.1.0"

__all__ = [
    "PlateauState",
    "Schedule",
    "SpecError",
    "__version__",
    "clip",
    "constant",
    "cosine",
    "cosine_restarts",
    "cyclic",
    "exponential",
    "families",
    "from_dict",
    "inverse_sqrt",
    "join",
    "linear",
    "multistep",
    "one_cycle",
    "parse",
    "piecewise_constant",
    "piecewise_linear",
    "plateau",
    "polynomial",
    "product",
    "scale",
    "step",
    "to_steps",
    "warmup",
    "wsd",
]
