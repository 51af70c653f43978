"""Models for the lab: the tutorials' MLP with BatchNorm, a small CNN, or your own.

``build(name, n_features, n_classes, ...)`` takes ``"mlp-bn"``, ``"mlp"``, ``"cnn"`` (for
image datasets) or ``"package.module:factory"``, a function called as
``factory(n_features, n_classes)`` that returns a ``torch.nn.Module``.

>>> import torch
>>> from lrlab.lab.models import build
>>> model = build("mlp-bn", n_features=64, n_classes=10)
>>> model(torch.zeros(5, 64)).shape
torch.Size([5, 10])
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence

import torch
from torch import nn

from lrlab.lab.data import Dataset

BUILT_IN = ("mlp-bn", "mlp", "cnn")


def mlp(
    n_features: int,
    n_classes: int,
    *,
    widths: Sequence[int] = (128, 64),
    batch_norm: bool = True,
    dropout: float = 0.0,
) -> nn.Module:
    """Linear layers of ``widths`` with (BatchNorm,) ReLU (and Dropout), then a linear head."""
    layers: list[nn.Module] = []
    size = n_features
    for width in widths:
        layers.append(nn.Linear(size, width))
        if batch_norm:
            layers.append(nn.BatchNorm1d(width))
        layers.append(nn.ReLU())
        if dropout:
            layers.append(nn.Dropout(dropout))
        size = width
    layers.append(nn.Linear(size, n_classes))
    return nn.Sequential(*layers)


class SmallCNN(nn.Module):
    """Two 3x3 conv blocks with BatchNorm and a linear head, for small images (8x8 digits)."""

    def __init__(self, shape: tuple[int, int, int], n_classes: int, channels: int = 16) -> None:
        super().__init__()
        self.shape = shape
        c, h, w = shape
        self.features = nn.Sequential(
            nn.Conv2d(c, channels, 3, padding=1),
            nn.BatchNorm2d(channels),
            nn.ReLU(),
            nn.Conv2d(channels, 2 * channels, 3, padding=1),
            nn.BatchNorm2d(2 * channels),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.head = nn.Linear(2 * channels * (h // 2) * (w // 2), n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits for a batch of flat feature vectors."""
        images = x.view(x.shape[0], *self.shape)
        return self.head(self.features(images).flatten(1))  # type: ignore[no-any-return]


def build(
    name: str,
    *,
    n_features: int,
    n_classes: int,
    image_shape: tuple[int, int, int] | None = None,
    widths: Sequence[int] = (128, 64),
    dropout: float = 0.0,
) -> nn.Module:
    """The model called ``name`` for this data (see the module docstring)."""
    if name == "mlp-bn":
        return mlp(n_features, n_classes, widths=widths, dropout=dropout)
    if name == "mlp":
        return mlp(n_features, n_classes, widths=widths, batch_norm=False, dropout=dropout)
    if name == "cnn":
        if image_shape is None:
            raise ValueError(
                "model: 'cnn' needs an image dataset (such as digits), got flat features"
            )
        return SmallCNN(image_shape, n_classes)
    if ":" in name:
        module_name, _, attribute = name.partition(":")
        try:
            factory = getattr(importlib.import_module(module_name), attribute)
        except (ImportError, AttributeError) as error:
            raise ValueError(f"model: cannot import {name!r}: {error}") from None
        model = factory(n_features, n_classes)
        if not isinstance(model, nn.Module):
            raise TypeError(
                f"model: {name!r} returned {type(model).__name__}, not a torch.nn.Module"
            )
        return model
    raise ValueError(
        f"model: unknown model {name!r}; use one of {', '.join(BUILT_IN)} "
        "or 'package.module:factory'"
    )


def build_for(name: str, data: Dataset) -> nn.Module:
    """`build` the model ``name`` for a dataset's features, classes and image shape."""
    return build(
        name,
        n_features=data.n_features,
        n_classes=data.n_classes,
        image_shape=data.image_shape,
    )
