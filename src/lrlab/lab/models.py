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

import inspect
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from lrlab.lab.data import Dataset
from lrlab.lab.imports import cwd_importable, failure, import_object

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
        return _from_factory(name, n_features, n_classes)
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


def _from_factory(name: str, n_features: int, n_classes: int) -> nn.Module:
    where = f"model {name!r}"
    factory = import_object("model", name, what="factory")
    if not callable(factory):
        raise ValueError(
            f"{where}: {name.partition(':')[2]!r} is a {type(factory).__name__}, not a "
            "function called as factory(n_features, n_classes)"
        )
    with cwd_importable():
        _check_signature(where, factory, n_features, n_classes)
        try:
            model = factory(n_features, n_classes)
        except KeyboardInterrupt:
            raise
        except BaseException as error:  # even sys.exit() or a bare BaseException: refused
            raise ValueError(f"{where}: the factory failed: {failure(error)}") from None
    if not isinstance(model, nn.Module):
        raise ValueError(
            f"{where}: the factory returned {type(model).__name__}, not a torch.nn.Module"
        )
    return model


def _check_signature(where: str, factory: Any, n_features: int, n_classes: int) -> None:
    try:
        signature = inspect.signature(factory)
    except ValueError:  # a builtin without a signature: calling it will tell
        return
    try:
        signature.bind(n_features, n_classes)
    except TypeError:
        raise ValueError(
            f"{where}: the factory must accept (n_features, n_classes) positionally; "
            f"its signature is {signature}"
        ) from None


def check_device(device: str) -> None:
    """Raise ValueError, naming ``device``, unless torch can train on it here.

    >>> check_device("cpu")
    """
    if device == "cpu":
        return
    if not torch.cuda.is_available():
        raise ValueError(
            f"device {device!r}: torch sees no CUDA GPU here (torch.cuda.is_available() is "
            "False); use device 'cpu'"
        )
    index = int(device.partition(":")[2] or 0)
    if index >= torch.cuda.device_count():
        raise ValueError(
            f"device {device!r}: this machine has {torch.cuda.device_count()} CUDA GPUs "
            f"(cuda:0 to cuda:{torch.cuda.device_count() - 1})"
        )


def check_model(name: str, data: Dataset, batch_size: int, *, seed: int = 0) -> None:
    """Raise ValueError, naming ``name`` and the problem, unless the model can train on ``data``.

    A ``batch_size`` above the training split's size is refused. Builds the model as
    training does (seeded with ``seed``; the global random state is
    left as it was), then runs one forward and backward pass with cross-entropy on the
    first training batch, and a forward pass on an epoch's last, shorter batch if there
    is one (BatchNorm cannot train on a single row).

    >>> from lrlab.lab.data import load
    >>> data = load("synthetic", seed=0)
    >>> check_model("mlp-bn", data, 64)
    >>> check_model("cnn", data, 64)
    Traceback (most recent call last):
    ...
    ValueError: model: 'cnn' needs an image dataset (such as digits), got flat features
    """
    rows = len(data.y_train)
    if batch_size > rows:
        raise ValueError(
            f"batch_size {batch_size} is larger than the training split of dataset "
            f"{data.name!r} ({rows} rows); use a batch_size of at most {rows}"
        )
    where = f"model {name!r} on dataset {data.name!r}"
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = build_for(name, data)
        parameters = list(model.parameters())
        if not parameters:
            raise ValueError(f"{where}: the model has no parameters; there is nothing to train")
        if not any(p.requires_grad for p in parameters):
            raise ValueError(
                f"{where}: all {len(parameters)} parameter tensors are frozen "
                "(requires_grad=False); there is nothing to train"
            )
        size = min(batch_size, len(data.y_train))
        x, y = torch.from_numpy(data.x_train[:size]), torch.from_numpy(data.y_train[:size])
        model.train()
        logits = _forward(model, x, where, data.n_classes)
        loss = torch.nn.functional.cross_entropy(logits, y)
        if not torch.isfinite(loss):
            raise ValueError(f"{where}: the loss on the first batch is {loss.item()}")
        if not loss.requires_grad:
            raise ValueError(
                f"{where}: the output does not depend on any trainable parameter (no gradient)"
            )
        try:
            loss.backward()  # type: ignore[no-untyped-call]
        except Exception as error:
            raise ValueError(f"{where}: the backward pass failed: {failure(error)}") from None
        if all(p.grad is None for p in parameters):
            raise ValueError(f"{where}: no gradient reaches any parameter")
        last = len(data.y_train) % batch_size
        if last and last != size:
            noun = "row" if last == 1 else "rows"
            batch = (
                f" on an epoch's last batch, of {last} {noun} ({len(data.y_train)} training "
                f"rows in batches of {batch_size}),"
            )
            _forward(model, x[:last], where, data.n_classes, batch=batch)


def _forward(
    model: nn.Module, x: torch.Tensor, where: str, n_classes: int, *, batch: str = ""
) -> torch.Tensor:
    """The model's logits for ``x``, checked: a float tensor of shape (rows, n_classes)."""
    try:
        out = model(x)
    except (Exception, SystemExit) as error:  # a forward that calls sys.exit() is refused too
        raise ValueError(
            f"{where} ({x.shape[1]} features, {n_classes} classes): the forward pass{batch} "
            f"failed: {failure(error)}"
        ) from None
    if not isinstance(out, torch.Tensor):
        raise ValueError(f"{where}: the model returned {type(out).__name__}, not a tensor")
    expected = (len(x), n_classes)
    if out.ndim == 2 and out.shape[0] == len(x) and out.shape[1] != n_classes:
        raise ValueError(f"{where}: the model gives {out.shape[1]} outputs for {n_classes} classes")
    if tuple(out.shape) != expected:
        raise ValueError(
            f"{where}: the model's output has shape {tuple(out.shape)}; expected {expected} "
            "(one row of logits per example)"
        )
    if not out.is_floating_point():
        raise ValueError(
            f"{where}: the model's output has dtype {out.dtype}; expected floating-point logits"
        )
    return out
