"""Shuffled minibatches: a new order each pass, drawn from a ``torch.Generator``.

The trainer and the range test both draw their batches here, so a seed gives the same
batches in both: each pass is ``order = torch.randperm(n, generator=g)`` cut into
slices of ``batch_size`` (the last one may be short).

>>> import torch
>>> from lrlab.lab.batches import Minibatches, batch_indices
>>> [i.tolist() for i in batch_indices(5, 2, torch.Generator().manual_seed(0))]
[[4, 0], [1, 3], [2]]
>>> x, y = torch.arange(10.0).reshape(5, 2), torch.arange(5)
>>> [b[1].tolist() for b in Minibatches(x, y, 2, torch.Generator().manual_seed(0))]
[[4, 0], [1, 3], [2]]
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

from lrlab.lab.config import batches_per_epoch
from lrlab.schedules.checks import check_int


def batch_indices(n: int, batch_size: int, generator: torch.Generator) -> list[torch.Tensor]:
    """One pass over ``n`` examples: the index tensor of each batch, in order.

    Draws one permutation from ``generator`` (now, not lazily), so the generator's
    state after the call is the state after one pass.

    >>> g = torch.Generator().manual_seed(1)
    >>> [len(i) for i in batch_indices(10, 4, g)]
    [4, 4, 2]
    >>> batch_indices(10, 0, g)
    Traceback (most recent call last):
    ...
    lrlab.schedules.checks.ParameterError: batch_indices: batch_size must be a positive int, got 0
    """
    n = check_int("batch_indices", "n", n)
    size = check_int("batch_indices", "batch_size", batch_size)
    order = torch.randperm(n, generator=generator)
    return [order[b * size : (b + 1) * size] for b in range(batches_per_epoch(n, size))]


class Minibatches:
    """``(x[index], y[index])`` batches of `batch_indices`, a new order each pass.

    Iterate it again for the next pass (one permutation drawn per pass, when the pass
    starts); ``len()`` is the number of batches in a pass.

    >>> batches = Minibatches(torch.zeros(10, 3), torch.zeros(10), 4, torch.Generator())
    >>> len(batches), [tuple(b[0].shape) for b in batches]
    (3, [(4, 3), (4, 3), (2, 3)])
    """

    __slots__ = ("batch_size", "generator", "x", "y")

    def __init__(
        self, x: torch.Tensor, y: torch.Tensor, batch_size: int, generator: torch.Generator
    ) -> None:
        if len(x) != len(y) or len(y) == 0:
            raise ValueError(
                "Minibatches: x and y must hold one and the same number (> 0) of examples, "
                f"got {len(x)} and {len(y)}"
            )
        self.x, self.y, self.generator = x, y, generator
        self.batch_size = check_int("Minibatches", "batch_size", batch_size)

    def __len__(self) -> int:
        return batches_per_epoch(len(self.y), self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for index in batch_indices(len(self.y), self.batch_size, self.generator):
            yield self.x[index], self.y[index]
