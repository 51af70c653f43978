"""to_steps: epochs, fractions and gradient accumulation into scheduler steps."""

from __future__ import annotations

import pytest

import lrlab


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"epochs": 30}, 30),
        ({"epochs": 2, "batches_per_epoch": 10}, 20),
        ({"epochs": 2, "batches_per_epoch": 10, "accumulation": 4}, 4),
        ({"epochs": 1, "batches_per_epoch": 3, "accumulation": 4}, 1),
        ({"epochs": 0.5, "batches_per_epoch": 100}, 50),
        ({"total_steps": 1000, "fraction": 0.1}, 100),
        ({"epochs": 30, "batches_per_epoch": 50, "fraction": 0.05}, 75),
        ({"total_steps": 0}, 0),
        ({"epochs": 0.5, "batches_per_epoch": 5}, 3),
    ],
)
def test_to_steps(kwargs: dict[str, float], expected: int) -> None:
    assert lrlab.to_steps(**kwargs) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {},
            "to_steps: give exactly one of epochs or total_steps, got epochs=None, total_steps=None",
        ),
        ({"epochs": 1, "total_steps": 5}, "to_steps: give exactly one of epochs or total_steps"),
        ({"epochs": -1}, "to_steps: epochs must be >= 0, got -1"),
        (
            {"epochs": 1, "batches_per_epoch": 0},
            "to_steps: batches_per_epoch must be a positive int, got 0",
        ),
        ({"epochs": 1, "accumulation": 0}, "to_steps: accumulation must be a positive int, got 0"),
        (
            {"total_steps": 10, "batches_per_epoch": 5},
            "to_steps: batches_per_epoch goes with epochs",
        ),
        ({"total_steps": 10, "fraction": -0.1}, "to_steps: fraction must be >= 0, got -0.1"),
    ],
)
def test_to_steps_errors(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        lrlab.to_steps(**kwargs)  # type: ignore[arg-type]
