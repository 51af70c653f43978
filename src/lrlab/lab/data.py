"""Datasets for the lab: embedded digits, a generated task, and user files (.npz, .csv).

Every dataset comes as a deterministic train/validation/test split per seed, with the
features standardised on the training part only. Nothing is downloaded.

>>> from lrlab.lab.data import load
>>> data = load("digits", seed=0)
>>> data.n_features, data.n_classes, len(data.y_train) + len(data.y_val) + len(data.y_test)
(64, 10, 1797)
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

NAMES = ("digits", "synthetic")
"""The built-in datasets; anything else is read as a path to a .npz or .csv file."""


@dataclass(frozen=True, eq=False)
class Dataset:
    """A split, standardised classification dataset (float32 features, int64 labels)."""

    name: str
    x_train: npt.NDArray[np.float32]
    y_train: npt.NDArray[np.int64]
    x_val: npt.NDArray[np.float32]
    y_val: npt.NDArray[np.int64]
    x_test: npt.NDArray[np.float32]
    y_test: npt.NDArray[np.int64]
    n_classes: int
    image_shape: tuple[int, int, int] | None = None
    """``(channels, height, width)`` when the features are an image (digits: 1x8x8)."""

    @property
    def n_features(self) -> int:
        """Number of input features."""
        return int(self.x_train.shape[1])


def _digits() -> tuple[np.ndarray, np.ndarray, tuple[int, int, int]]:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return bunch.data.astype(np.float64), bunch.target.astype(np.int64), (1, 8, 8)


def _synthetic() -> tuple[np.ndarray, np.ndarray, None]:
    """A harder task: 5 overlapping classes in 20 dimensions, 10 informative (fixed)."""
    from sklearn.datasets import make_classification

    x, y = make_classification(
        n_samples=4000,
        n_features=20,
        n_informative=10,
        n_redundant=4,
        n_classes=5,
        n_clusters_per_class=2,
        class_sep=0.9,
        flip_y=0.02,
        random_state=0,
    )
    return x.astype(np.float64), y.astype(np.int64), None


def _from_file(path: Path) -> tuple[np.ndarray, np.ndarray, None]:
    if not path.exists():
        raise ValueError(
            f"dataset: {str(path)!r} is neither a built-in dataset ({', '.join(NAMES)}) "
            "nor an existing .npz/.csv file"
        )
    if path.suffix == ".npz":
        with np.load(path) as archive:
            missing = {"x", "y"} - set(archive.files)
            if missing:
                raise ValueError(
                    f"dataset: {str(path)!r} needs arrays 'x' and 'y', has {sorted(archive.files)}"
                )
            x, y = archive["x"], archive["y"]
    elif path.suffix == ".csv":
        with path.open(newline="", encoding="utf-8") as handle:
            rows = [row for row in csv.reader(handle) if row]
        if rows and not _numeric(rows[0]):
            rows = rows[1:]  # a header
        try:
            table = np.array(rows, dtype=np.float64)
        except ValueError:
            raise ValueError(
                f"dataset: {str(path)!r} must hold numbers only (features, then the label)"
            ) from None
        if table.ndim != 2 or table.shape[1] < 2:
            raise ValueError(f"dataset: {str(path)!r} needs feature columns and a label column")
        x, y = table[:, :-1], table[:, -1]
    else:
        raise ValueError(f"dataset: {str(path)!r} must be a .npz or .csv file")
    x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    labels = np.asarray(y)
    if len(x) != len(labels) or len(x) < 10:
        raise ValueError(
            f"dataset: {str(path)!r} needs at least 10 rows and one label per row, "
            f"got {len(x)} rows and {len(labels)} labels"
        )
    _, codes = np.unique(labels, return_inverse=True)
    if not np.isfinite(x).all():
        raise ValueError(f"dataset: {str(path)!r} has NaN or infinite features")
    return x, codes.astype(np.int64), None


def _numeric(row: list[str]) -> bool:
    try:
        [float(cell) for cell in row]
    except ValueError:
        return False
    return True


def load(
    name: str, *, seed: int, val_fraction: float = 0.15, test_fraction: float = 0.15
) -> Dataset:
    """Load ``name`` and split it for ``seed`` (stratified), standardised on train."""
    if not 0 < val_fraction < 1 or not 0 < test_fraction < 1 or val_fraction + test_fraction >= 1:
        raise ValueError(
            "dataset: val_fraction and test_fraction must be in (0, 1) with a sum below 1, "
            f"got {val_fraction!r} and {test_fraction!r}"
        )
    if name == "digits":
        x, y, shape = _digits()
    elif name == "synthetic":
        x, y, shape = _synthetic()  # type: ignore[assignment]
    else:
        x, y, shape = _from_file(Path(name))  # type: ignore[assignment]
    from sklearn.model_selection import train_test_split

    held = val_fraction + test_fraction
    stratify = y if np.bincount(y).min() >= 3 else None
    x_train, x_rest, y_train, y_rest = train_test_split(
        x, y, test_size=held, random_state=seed, stratify=stratify
    )
    rest_stratify = y_rest if stratify is not None and np.bincount(y_rest).min() >= 2 else None
    x_val, x_test, y_val, y_test = train_test_split(
        x_rest, y_rest, test_size=test_fraction / held, random_state=seed, stratify=rest_stratify
    )
    mean = x_train.mean(axis=0)
    std = x_train.std(axis=0)
    std[std == 0] = 1.0

    def scaled(part: np.ndarray) -> npt.NDArray[np.float32]:
        out: npt.NDArray[np.float32] = ((part - mean) / std).astype(np.float32)
        return out

    return Dataset(
        name=name,
        x_train=scaled(x_train),
        y_train=y_train,
        x_val=scaled(x_val),
        y_val=y_val,
        x_test=scaled(x_test),
        y_test=y_test,
        n_classes=int(y.max()) + 1,
        image_shape=shape,
    )
