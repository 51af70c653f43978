"""torch's ``LambdaLR`` and ``MultiplicativeLR``: the lr from the user's functions of the
step. They chain with the other lrlab schedulers on the optimizer as factors."""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

from torch.optim import Optimizer

from lrlab.torch._schedule_lr import ChainedLR

LrLambda = Callable[[int], float]


class _FunctionLR(ChainedLR):
    """A scheduler driven by one function of the step per param group (``lr_lambda``)."""

    def __init__(
        self,
        optimizer: Optimizer,
        lr_lambda: LrLambda | list[LrLambda],
        last_epoch: int = -1,
        verbose: bool = False,
    ) -> None:
        self._check(optimizer, last_epoch, verbose)
        groups = len(optimizer.param_groups)
        if isinstance(lr_lambda, list | tuple):
            if len(lr_lambda) != groups:
                raise ValueError(f"Expected {groups} lr_lambdas, but got {len(lr_lambda)}")
            self.lr_lambdas = list(lr_lambda)
        else:
            self.lr_lambdas = [lr_lambda] * groups
        for function in self.lr_lambdas:
            if not callable(function):
                raise TypeError(
                    f"lr_lambda should be a function, but got {type(function).__name__}"
                )
        super().__init__(optimizer, last_epoch)

    def state_dict(self) -> dict[str, Any]:
        """torch's form: every attribute but the optimizer; of the ``lr_lambdas`` only
        callable objects' attributes (a function or lambda is saved as ``None``)."""
        state = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "lr_lambdas")}
        state["lr_lambdas"] = [
            None if isinstance(f, types.FunctionType) else dict(f.__dict__) for f in self.lr_lambdas
        ]
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a `state_dict` (and the attributes of callable-object lambdas)."""
        state = dict(state_dict)
        saved = state.pop("lr_lambdas")
        self.__dict__.update(state)
        for function, attributes in zip(self.lr_lambdas, saved, strict=False):
            if attributes is not None:
                function.__dict__.update(attributes)


class LambdaLR(_FunctionLR):
    """torch's ``LambdaLR``: ``lr = initial_lr * lr_lambda(t)``.

    >>> import torch
    >>> from lrlab.torch import LambdaLR
    >>> opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    >>> scheduler = LambdaLR(opt, lambda t: 0.5**t)
    >>> for _ in range(3):
    ...     opt.step()
    ...     scheduler.step()
    >>> scheduler.get_last_lr()
    [0.0125]
    """

    def get_lr(self) -> list[float]:  # type: ignore[override]
        """``initial_lr * lr_lambda(last_epoch)`` for each group (torch's formula)."""
        t = self.last_epoch
        return [float(base) * f(t) for f, base in zip(self.lr_lambdas, self.base_lrs, strict=True)]


class MultiplicativeLR(_FunctionLR):
    """torch's ``MultiplicativeLR``: each step multiplies the lr by ``lr_lambda(t)``.

    >>> import torch
    >>> from lrlab.torch import MultiplicativeLR
    >>> opt = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    >>> scheduler = MultiplicativeLR(opt, lambda t: 0.9 if t % 2 else 1.0)
    >>> lrs = []
    >>> for _ in range(4):
    ...     opt.step()
    ...     scheduler.step()
    ...     lrs.append(round(scheduler.get_last_lr()[0], 4))
    >>> lrs
    [0.9, 0.9, 0.81, 0.81]
    """

    def get_lr(self) -> list[float]:  # type: ignore[override]
        """This scheduler's value times ``lr_lambda(last_epoch)`` (torch's formula). It
        starts from the initial lrs, or from the groups' lrs when resuming (``last_epoch
        > 0``): the other schedulers on the optimizer add their own factors."""
        if getattr(self, "_is_initial", False) or not hasattr(self, "_own"):
            if self.last_epoch <= 0:
                return [float(lr) for lr in self.base_lrs]
            return [float(group["lr"]) for group in self.optimizer.param_groups]
        t = self.last_epoch
        return [lr * f(t) for f, lr in zip(self.lr_lambdas, self._own, strict=True)]
