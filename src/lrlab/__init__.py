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

The names are loaded on first use (PEP 562), so ``import lrlab`` (and ``lrlab --help``)
costs no numpy until a schedule is touched; ``from lrlab import cosine`` works as usual.
"""

from __future__ import annotations

import importlib
import sys
import types

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from lrlab import schedules as schedules
    from lrlab import spec as spec
    from lrlab.plateau import PlateauState, plateau
    from lrlab.schedules import (
        Schedule,
        Summary,
        annealing,
        clip,
        constant,
        cosine,
        cosine_restarts,
        cyclic,
        exponential,
        families,
        from_dict,
        inverse_sqrt,
        inverse_time,
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
        summarize,
        warmup,
        wsd,
    )
    from lrlab.schedules.durations import to_steps
    from lrlab.schedules.hf_names import from_hf
    from lrlab.schedules.keras_names import from_keras
    from lrlab.schedules.timm_names import from_timm
    from lrlab.spec import SpecError, parse

__version__ = "0.1.0"

__all__ = [
    "PlateauState",
    "Schedule",
    "SpecError",
    "Summary",
    "__version__",
    "annealing",
    "clip",
    "constant",
    "cosine",
    "cosine_restarts",
    "cyclic",
    "exponential",
    "families",
    "from_dict",
    "from_hf",
    "from_keras",
    "from_timm",
    "inverse_sqrt",
    "inverse_time",
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
    "summarize",
    "to_steps",
    "warmup",
    "wsd",
]

_HOMES = {
    "PlateauState": "lrlab.plateau",
    "plateau": "lrlab.plateau",
    "to_steps": "lrlab.schedules.durations",
    "from_hf": "lrlab.schedules.hf_names",
    "from_keras": "lrlab.schedules.keras_names",
    "from_timm": "lrlab.schedules.timm_names",
    "SpecError": "lrlab.spec",
    "parse": "lrlab.spec",
}
"""Where each public name lives when it is not in `lrlab.schedules`."""

_SUBMODULES = ("schedules", "spec")
"""Submodules that ``import lrlab`` used to load, still reachable as attributes."""


def __getattr__(name: str) -> object:
    if name in __all__:
        value = getattr(importlib.import_module(_HOMES.get(name, "lrlab.schedules")), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f"lrlab.{name}")
    else:
        raise AttributeError(f"module 'lrlab' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__, *_SUBMODULES})


class _Package(types.ModuleType):
    """``lrlab`` itself: ``lrlab.plateau`` stays the family when its module is imported."""

    def __setattr__(self, name: str, value: object) -> None:
        if name == "plateau" and isinstance(value, types.ModuleType):
            return  # the import system binds a loaded submodule; the family keeps the name
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
