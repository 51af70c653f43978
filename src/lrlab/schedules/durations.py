"""Durations: every schedule counts in steps; this converts epochs and fractions."""

from __future__ import annotations

import math

from lrlab.schedules.checks import check_float, check_int


def to_steps(
    *,
    epochs: float | None = None,
    total_steps: int | None = None,
    fraction: float = 1.0,
    batches_per_epoch: int | None = None,
    accumulation: int = 1,
) -> int:
    """Scheduler steps in ``fraction`` of a run given in ``epochs`` or ``total_steps``.

    With ``epochs``, one epoch is ``max(1, batches_per_epoch // accumulation)`` optimizer
    steps (the scheduler steps once per optimizer step; a last incomplete accumulation
    does not step, as in Hugging Face's Trainer). For per-epoch stepping leave
    ``batches_per_epoch`` out: one step an epoch. The result is rounded to the nearest
    int, halves up.

    >>> import lrlab
    >>> lrlab.to_steps(epochs=5, batches_per_epoch=100)
    500
    >>> lrlab.to_steps(epochs=5, batches_per_epoch=100, accumulation=4)
    125
    >>> lrlab.to_steps(total_steps=10_000, fraction=0.05)  # 5% warmup
    500
    >>> lrlab.to_steps(epochs=30)  # stepping once per epoch
    30
    """
    name = "to_steps"
    fraction = check_float(name, "fraction", fraction, minimum=0.0)
    accumulation = check_int(name, "accumulation", accumulation)
    if (epochs is None) == (total_steps is None):
        raise ValueError(
            f"{name}: give exactly one of epochs or total_steps, got epochs={epochs!r}, "
            f"total_steps={total_steps!r}"
        )
    if total_steps is not None:
        if batches_per_epoch is not None:
            raise ValueError(
                f"{name}: batches_per_epoch goes with epochs, not total_steps, "
                f"got batches_per_epoch={batches_per_epoch!r}"
            )
        run = float(check_int(name, "total_steps", total_steps, minimum=0))
    else:
        per_epoch = 1
        if batches_per_epoch is not None:
            batches = check_int(name, "batches_per_epoch", batches_per_epoch)
            per_epoch = max(1, batches // accumulation)
        run = check_float(name, "epochs", epochs, minimum=0.0) * per_epoch
    return math.floor(run * fraction + 0.5)
