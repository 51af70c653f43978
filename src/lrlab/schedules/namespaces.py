"""Other libraries' schedule names for the spec language: ``hf.*``, ``timm.*``, ``keras.*``.

A spec may call ``hf.NAME(...)`` (`from_hf`), ``timm.SCHED(...)`` (`from_timm`) or
``keras.CLASS(...)`` (`from_keras`) with that library's own keywords; each name here is a
callable whose signature lists them, so that a spec's keywords are checked (and
misspellings suggested) like any family's.

>>> from lrlab.schedules.namespaces import names
>>> build = names()["timm.cosine"]
>>> build(lr=0.1, num_epochs=100, warmup_epochs=5)
join([linear(init=1e-05, end=0.1, steps=5), annealing(init=0.1, period=100, offset=5)], at=[5])
>>> list(__import__("inspect").signature(names()["hf.polynomial"]).parameters)
['lr', 'num_warmup_steps', 'num_training_steps', 'lr_end', 'power']
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from lrlab.schedules._base import Schedule
from lrlab.schedules.hf_names import NAMES as HF_NAMES
from lrlab.schedules.hf_names import from_hf
from lrlab.schedules.keras_names import CLASSES
from lrlab.schedules.timm_names import SCHEDS, from_timm
from lrlab.schedules.torch_names import ReduceLROnPlateau

NAMESPACES = ("hf", "timm", "keras")
"""The prefixes a spec call may carry."""

_HF_SPECIFIC: dict[str, dict[str, object]] = {
    "linear": {},
    "cosine": {"num_cycles": 0.5, "min_lr_rate": 0.0},
    "cosine_with_restarts": {"num_cycles": 1},
    "polynomial": {"lr_end": 1e-7, "power": 1.0},
    "constant": {},
    "constant_with_warmup": {},
    "inverse_sqrt": {"timescale": None},
    "cosine_with_min_lr": {"num_cycles": 0.5, "min_lr": None, "min_lr_rate": None},
    "cosine_warmup_with_min_lr": {
        "num_cycles": 0.5,
        "min_lr": None,
        "min_lr_rate": None,
        "warmup_lr_rate": None,
    },
    "warmup_stable_decay": {
        "num_decay_steps": None,
        "num_stable_steps": None,
        "warmup_type": "linear",
        "decay_type": "cosine",
        "min_lr_ratio": 0.0,
        "num_cycles": 0.5,
    },
}
"""Each Hugging Face name's ``scheduler_specific_kwargs`` and transformers' defaults."""


def _keyword(name: str, default: object = inspect.Parameter.empty) -> inspect.Parameter:
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default)


def _named(
    qualified: str, call: Callable[..., Schedule], parameters: list[inspect.Parameter], doc: str
) -> Callable[..., Schedule]:
    """``call`` under the spec name ``qualified``, with exactly ``parameters``."""

    def build(**kwargs: Any) -> Schedule:
        return call(**kwargs)

    build.__name__ = build.__qualname__ = qualified
    build.__doc__ = doc
    setattr(build, "__signature__", inspect.Signature(parameters))  # noqa: B010
    return build


def _hf(name: str) -> Callable[..., Schedule]:
    common = [_keyword("lr")]
    if name == "reduce_lr_on_plateau":
        torch_like = inspect.signature(ReduceLROnPlateau).parameters.values()
        specific = [p for p in torch_like if p.name != "lr"]
    else:
        common += [_keyword("num_warmup_steps", None), _keyword("num_training_steps", None)]
        specific = [_keyword(k, v) for k, v in _HF_SPECIFIC[name].items()]
    doc = f"Hugging Face's {name!r} schedule: ``lrlab.from_hf({name!r}, ...)``."
    return _named(f"hf.{name}", functools.partial(from_hf, name), common + specific, doc)


def _timm(sched: str) -> Callable[..., Schedule]:
    every = inspect.signature(from_timm).parameters.values()
    parameters = [p for p in every if p.name != "sched"]
    doc = f"timm's {sched!r} scheduler: ``lrlab.from_timm(sched={sched!r}, ...)``."
    return _named(f"timm.{sched}", functools.partial(from_timm, sched=sched), parameters, doc)


def _keras(name: str) -> Callable[..., Schedule]:
    build = CLASSES[name]
    parameters = list(inspect.signature(build).parameters.values())
    doc = f"Keras's ``{name}``: ``lrlab.from_keras({name!r}, ...)``."
    return _named(f"keras.{name}", build, parameters, doc)


@functools.cache
def names() -> dict[str, Callable[..., Schedule]]:
    """Every namespaced spec name (``'hf.cosine'``, ``'timm.step'``, ...) and its builder."""
    out = {f"hf.{n}": _hf(n) for n in HF_NAMES}
    out.update({f"timm.{s}": _timm(s) for s in SCHEDS})
    out.update({f"keras.{c}": _keras(c) for c in CLASSES})
    return out
