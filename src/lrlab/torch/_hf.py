"""`hf_scheduler`: any lrlab schedule as the scheduler of a Hugging Face ``Trainer``.

A `ScheduleLR` is a torch ``LRScheduler``, which is all the ``Trainer`` asks of the
scheduler in ``optimizers=(optimizer, scheduler)``: this needs no import of transformers.
"""

from __future__ import annotations

from torch.optim import Optimizer

from lrlab.schedules.checks import fail
from lrlab.torch._schedule_lr import (
    ScheduleLR,
    ScheduleSource,
    check_optimizer,
    initial_lrs,
    resolve,
)


def hf_scheduler(optimizer: Optimizer, schedule: ScheduleSource) -> ScheduleLR:
    """A scheduler for ``transformers.Trainer(optimizers=(optimizer, scheduler))``.

    The ``Trainer`` calls ``scheduler.step()`` after every optimizer step (not after a
    step its mixed-precision scaler skipped), so the lr of optimizer step ``k``
    (``k = 0`` first) is ``s(k)``, and ``max_steps`` steps use ``s(0) ... s(max_steps - 1)``.
    ``schedule`` is as in `ScheduleLR`: one schedule, one per param group, or a factory
    called with each group's initial lr. The ``learning_rate`` the ``Trainer`` logs at
    ``global_step`` ``k`` is group 0's lr of the step that ended there, ``s(k - 1)``,
    in transformers releases with its fix of issue #35942; older ones log ``s(k)``, the
    lr of the next step (docs/ecosystem.md).

    A metric-driven schedule (a `plateau` phase) is refused: the ``Trainer`` feeds a
    metric only to torch's own ``ReduceLROnPlateau`` (use ``lr_scheduler_type=
    "reduce_lr_on_plateau"``, or `lrlab.from_hf` to see its values).

    >>> import torch, lrlab
    >>> from lrlab.torch import hf_scheduler
    >>> opt = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=3e-4)
    >>> schedule = lrlab.from_hf("cosine", lr=3e-4, num_warmup_steps=10, num_training_steps=100)
    >>> scheduler = hf_scheduler(opt, schedule)
    >>> for _ in range(10):
    ...     opt.step()
    ...     scheduler.step()
    >>> scheduler.get_last_lr() == [schedule(10)] == [3e-4]
    True
    """
    who = "hf_scheduler"
    check_optimizer(who, optimizer)
    schedules = resolve(schedule, initial_lrs(optimizer, -1), who=who)
    for s in schedules:
        if s.metric_driven:
            raise fail(
                who,
                "schedule",
                s,
                "must not be metric-driven: the Trainer steps it without a metric, after "
                f"every optimizer step, got {s!r}",
            )
    return ScheduleLR(optimizer, schedules)
