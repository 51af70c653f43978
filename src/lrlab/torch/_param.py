"""`ScheduleParam`: schedule any param-group hyperparameter (momentum, beta1, weight decay)."""

from __future__ import annotations

from typing import Any

from torch.optim import Optimizer

from lrlab.schedules import Schedule, from_dict
from lrlab.torch._lookahead import Lookahead
from lrlab.torch._schedule_lr import ScheduleSource, resolve


class ScheduleParam:
    """Set ``group[key]`` of every param group from lrlab schedules, step by step.

    ``key`` is any hyperparameter of the param groups (``"momentum"``,
    ``"weight_decay"``...) or ``"beta1"``/``"beta2"`` for Adam's ``betas``. The schedule
    source is as in `ScheduleLR`: one schedule, one per group, or a factory called with
    each group's current value. Step it together with the lr scheduler.

    >>> import torch, lrlab
    >>> from lrlab.torch import ScheduleParam
    >>> opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1, momentum=0.9)
    >>> momentum = ScheduleParam(opt, "momentum", lrlab.linear(init=0.95, end=0.85, steps=4))
    >>> for _ in range(2):
    ...     opt.step()
    ...     momentum.step()
    >>> round(opt.param_groups[0]["momentum"], 6)
    0.9
    """

    def __init__(self, optimizer: Optimizer, key: str, schedule: ScheduleSource) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        self.optimizer = optimizer
        self.key = key
        current = [self._get(group) for group in optimizer.param_groups]
        self.schedules: list[Schedule] = resolve(schedule, current, who="ScheduleParam")
        for s in self.schedules:
            s._require_pure()
        self._ahead = Lookahead(self.schedules)
        self.last_epoch = 0
        self._apply()

    def _get(self, group: dict[str, Any]) -> float:
        if self.key in ("beta1", "beta2"):
            if "betas" not in group:
                raise KeyError(f"ScheduleParam: the param groups have no 'betas' for {self.key!r}")
            return float(group["betas"][0 if self.key == "beta1" else 1])
        if self.key not in group:
            keys = ", ".join(sorted(k for k in group if k != "params"))
            raise KeyError(
                f"ScheduleParam: the param groups have no {self.key!r}; they have {keys}"
            )
        return float(group[self.key])

    def _apply(self) -> None:
        for group, value in zip(
            self.optimizer.param_groups, self._ahead(self.last_epoch), strict=True
        ):
            if self.key == "beta1":
                group["betas"] = (value, *group["betas"][1:])
            elif self.key == "beta2":
                group["betas"] = (group["betas"][0], value, *group["betas"][2:])
            else:
                group[self.key] = value

    def step(self) -> None:
        """Advance one step and set the hyperparameter of every group."""
        self.last_epoch += 1
        self._apply()

    def get_last(self) -> list[float]:
        """The values set by the last step."""
        return [self._get(group) for group in self.optimizer.param_groups]

    def state_dict(self) -> dict[str, Any]:
        """The step and the schedules as JSON-safe data."""
        return {
            "key": self.key,
            "last_epoch": self.last_epoch,
            "schedules": [s.to_dict() for s in self.schedules],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from `state_dict`; refuses one taken with other schedules or key."""
        saved = [from_dict(d) for d in state["schedules"]]
        if saved != self.schedules or state["key"] != self.key:
            raise ValueError(
                f"ScheduleParam.load_state_dict: the checkpoint schedules {state['key']!r} with "
                f"{saved!r}, but this one schedules {self.key!r} with {self.schedules!r}"
            )
        self.last_epoch = int(state["last_epoch"])
        self._apply()
