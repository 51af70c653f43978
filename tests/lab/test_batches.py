"""The shared minibatch iterator: exactly the trainer's draw, a new order each pass."""

from __future__ import annotations

import pytest
import torch

from lrlab.lab.batches import Minibatches, batch_indices


def _trainer_draw(n: int, batch_size: int, generator: torch.Generator) -> list[torch.Tensor]:
    """What the trainer's epoch loop draws, written out as it is in train.py today."""
    order = torch.randperm(n, generator=generator)
    batches = -(-n // batch_size)
    return [order[b * batch_size : (b + 1) * batch_size] for b in range(batches)]


@pytest.mark.parametrize(("n", "batch_size"), [(1, 1), (10, 3), (64, 64), (1437, 64), (5, 9)])
def test_the_indices_are_bit_identical_to_randperm_and_slicing(n: int, batch_size: int) -> None:
    mine, theirs = torch.Generator().manual_seed(7), torch.Generator().manual_seed(7)
    for _ in range(3):  # pass after pass from one generator
        got = batch_indices(n, batch_size, mine)
        expected = _trainer_draw(n, batch_size, theirs)
        assert len(got) == len(expected)
        assert all(torch.equal(a, b) for a, b in zip(got, expected, strict=True))
        assert torch.equal(mine.get_state(), theirs.get_state())  # drawn at once, not lazily
    assert sorted(torch.cat(got).tolist()) == list(range(n))


def test_minibatches_are_the_indexed_examples_with_a_new_order_each_pass() -> None:
    x = torch.arange(30.0).reshape(10, 3)
    y = torch.arange(10) * 2
    batches = Minibatches(x, y, 4, torch.Generator().manual_seed(3))
    twin = torch.Generator().manual_seed(3)
    assert len(batches) == 3
    passes = []
    for _ in range(2):
        drawn = list(batches)
        indices = _trainer_draw(10, 4, twin)
        assert [len(b[1]) for b in drawn] == [4, 4, 2]
        for (xb, yb), index in zip(drawn, indices, strict=True):
            assert torch.equal(xb, x[index])
            assert torch.equal(yb, y[index])
        passes.append(torch.cat([b[1] for b in drawn]).tolist())
    assert passes[0] != passes[1]
    assert sorted(passes[0]) == sorted(passes[1]) == y.tolist()


def test_bad_input_names_the_parameter_and_value() -> None:
    g = torch.Generator()
    with pytest.raises(ValueError, match=r"^batch_indices: n must be a positive int, got 0$"):
        batch_indices(0, 4, g)
    with pytest.raises(
        TypeError, match=r"^batch_indices: batch_size must be a positive int, got 2\.0$"
    ):
        batch_indices(4, 2.0, g)  # type: ignore[arg-type]
    with pytest.raises(
        ValueError, match=r"^Minibatches: batch_size must be a positive int, got 0$"
    ):
        Minibatches(torch.zeros(4, 2), torch.zeros(4), 0, g)
    with pytest.raises(ValueError, match=r"^Minibatches: x and y must hold one and the same"):
        Minibatches(torch.zeros(4, 2), torch.zeros(3), 2, g)
