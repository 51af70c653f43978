"""torch's ``ReduceLROnPlateau`` on lrlab's pure plateau controller."""

from __future__ import annotations

import dataclasses
import warnings
from typing import Literal, SupportsFloat

from torch.optim import Optimizer

from lrlab.plateau import PlateauState, plateau
from lrlab.schedules import torch_names as tn
from lrlab.torch._dropin import DropIn


class ReduceLROnPlateau(DropIn):
    """torch's ``ReduceLROnPlateau`` on lrlab's pure plateau controller.

    ``step(metric)`` needs the metric it watches (e.g. the validation loss); calling
    ``step()`` without it raises a ``TypeError`` that says so.
    """

    _nodes: list[plateau]

    def __init__(
        self,
        optimizer: Optimizer,
        mode: Literal["min", "max"] = "min",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_mode: Literal["rel", "abs"] = "rel",
        cooldown: int = 0,
        min_lr: list[float] | float = 0,
        eps: float = 1e-8,
        verbose: bool = False,
    ) -> None:
        if factor >= 1.0:
            raise ValueError("Factor should be < 1.0.")
        self._check(optimizer, -1, verbose)
        if isinstance(min_lr, list | tuple):
            if len(min_lr) != len(optimizer.param_groups):
                raise ValueError(
                    f"expected {len(optimizer.param_groups)} min_lrs, got {len(min_lr)}"
                )
            self.default_min_lr: float | None = None
            self.min_lrs = list(min_lr)
        else:
            self.default_min_lr = min_lr
            self.min_lrs = [min_lr] * len(optimizer.param_groups)
        if mode not in {"min", "max"}:
            raise ValueError("mode " + mode + " is unknown!")
        if threshold_mode not in {"rel", "abs"}:
            raise ValueError("threshold mode " + threshold_mode + " is unknown!")
        self.mode, self.factor, self.patience = mode, factor, patience
        self.threshold, self.threshold_mode = threshold, threshold_mode
        self.cooldown, self.eps = cooldown, eps
        schedules = [
            self._plateau(float(group["lr"]), low)
            for group, low in zip(optimizer.param_groups, self.min_lrs, strict=True)
        ]
        super().__init__(optimizer, schedules, verbose=verbose)

    def _plateau(self, lr: float, min_lr: float) -> plateau:
        """One group's controller: its lr and ``min_lr`` with the shared settings."""
        out = tn.ReduceLROnPlateau(
            lr=lr,
            mode=self.mode,
            factor=self.factor,
            patience=self.patience,
            threshold=self.threshold,
            threshold_mode=self.threshold_mode,
            cooldown=self.cooldown,
            min_lr=min_lr,
            eps=self.eps,
        )
        assert isinstance(out, plateau)
        return out

    def _grown(self) -> None:
        """Take in the param groups added since (``optimizer.add_param_group``), as torch
        does: a scalar ``min_lr`` applies to them; a list must have been extended. A new
        group's controller shares the others' counters (one metric, one bookkeeping)."""
        groups = self.optimizer.param_groups
        if len(groups) != len(self.min_lrs):
            if self.default_min_lr is None:
                raise RuntimeError(
                    f"The number of param groups in the `optimizer` ({len(groups)}) differs "
                    f"from when `ReduceLROnPlateau` was initialized ({len(self.min_lrs)}), "
                    "usually due to a new param group being added to the optimizer. Please "
                    "modify the `min_lrs` field to match the length of the `optimizer` "
                    "param groups."
                )
            self.min_lrs = [self.default_min_lr] * len(groups)
        for i in range(len(self._nodes), len(groups)):
            node = self._plateau(float(groups[i]["lr"]), self.min_lrs[i])
            self.schedules.append(node)
            self._nodes.append(node)
            self._states.append(dataclasses.replace(self._states[0], lr=node.init))

    def step(self, metrics: SupportsFloat | None = None, epoch: float | None = None) -> None:  # type: ignore[override]
        """Feed the watched metric (e.g. ``scheduler.step(val_loss)`` after validation)."""
        if getattr(self, "_is_initial", False):
            super().step()
            return
        if metrics is None:
            raise TypeError(
                "ReduceLROnPlateau.step() needs the metric it watches: call "
                f"scheduler.step(val_loss) after validation (mode={self.mode!r}: "
                f"{'lower' if self.mode == 'min' else 'higher'} is better)"
            )
        if epoch is not None:
            warnings.warn(
                "The epoch parameter in `scheduler.step()` was not necessary and is being "
                "deprecated where possible.",
                UserWarning,
                stacklevel=2,
            )
        try:  # what torch's float(metrics) takes and raises: '0.5' in, ValueError for 'abc'
            value = float(metrics)
        except (TypeError, ValueError) as error:
            raise type(error)(
                f"ReduceLROnPlateau.step: metric must be a number, got {metrics!r}"
            ) from None
        # torch's ReduceLROnPlateau has no step-order check: step without LRScheduler.step.
        # One set of counters for every group (same metric, same settings, as in torch);
        # each group reduces its own lr with its own min_lr.
        first = self._states[0]
        best, bad, cool, reduce = self._nodes[0].counters(
            first.best, first.num_bad_epochs, first.cooldown_counter, value
        )
        self.last_epoch = int(epoch) if epoch is not None else self.last_epoch + 1
        self._step_count += 1
        if reduce:
            self._grown()
        self._states = [
            PlateauState(
                step=max(self.last_epoch, 0),
                lr=node.reduced(state.lr) if reduce else state.lr,
                best=best,
                num_bad_epochs=bad,
                cooldown_counter=cool,
            )
            for node, state in zip(self._nodes, self._states, strict=True)
        ]
        if reduce:
            self._write([state.lr for state in self._states])

    def _reset_runtime(self) -> None:
        super()._reset_runtime()
        self._nodes = [s for s in self.schedules if isinstance(s, plateau)]

    @property
    def best(self) -> float:
        """The best metric so far (torch's attribute)."""
        return self._states[0].best

    @property
    def num_bad_epochs(self) -> int:
        """Steps without improvement (torch's attribute)."""
        return self._states[0].num_bad_epochs

    @property
    def cooldown_counter(self) -> int:
        """Steps of cooldown left (torch's attribute)."""
        return self._states[0].cooldown_counter

    @property
    def in_cooldown(self) -> bool:
        """Whether a cooldown is running (torch's attribute)."""
        return self.cooldown_counter > 0
