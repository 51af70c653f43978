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
import io
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
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


Raw = tuple[np.ndarray, np.ndarray]
"""A user file's checked features and integer labels, before the split."""

_PROVIDED: dict[str, Raw] = {}


def read_file(name: str) -> Raw:
    """The checked contents of the data file ``name`` (what `load` splits), so that a
    driver can read it once and hand it to workers that cannot reach the file.

    >>> import tempfile, numpy as np
    >>> with tempfile.TemporaryDirectory() as d:
    ...     np.savez(f"{d}/xy.npz", x=np.eye(30), y=np.arange(30) % 3)
    ...     x, y = read_file(f"{d}/xy.npz")
    >>> x.shape, y[:4].tolist()
    ((30, 30), [0, 1, 2, 0])
    """
    x, y, _ = _from_file(Path(name))
    return x, y


@contextmanager
def provided(name: str, raw: Raw) -> Iterator[None]:
    """Within the block, `load` takes ``name``'s contents from ``raw`` (read elsewhere by
    `read_file`) instead of reading the file.

    >>> import numpy as np
    >>> raw = (np.tile(np.arange(8.0), (60, 1)) + np.arange(60)[:, None], np.arange(60) % 2)
    >>> with provided("elsewhere.npz", raw):
    ...     load("elsewhere.npz", seed=0).n_features
    8
    """
    key = str(Path(name))
    _PROVIDED[key] = raw
    try:
        yield
    finally:
        del _PROVIDED[key]


def _from_file(path: Path) -> tuple[np.ndarray, np.ndarray, None]:
    if str(path) in _PROVIDED:
        x, y = _PROVIDED[str(path)]
        return x, y, None
    where = f"dataset {str(path)!r}"
    if not path.exists():
        raise ValueError(
            f"{where}: is neither a built-in dataset ({', '.join(NAMES)}) "
            "nor an existing .npz or .csv file"
        )
    if path.is_dir():
        raise ValueError(f"{where}: is a directory, not a file")
    if not path.is_file():
        raise ValueError(f"{where}: is not a regular file (a device or a pipe?)")
    suffix = path.suffix.lower()
    if suffix not in (".npz", ".csv"):
        raise ValueError(f"{where}: must be a .npz or .csv file")
    try:
        x, y = _read_npz(path, where) if suffix == ".npz" else _read_csv(path, where)
    except OSError as error:
        raise ValueError(f"{where}: cannot be read: {error.strerror or error}") from None
    x, codes = _checked(where, x, y)
    return x, codes, None


_ZIP = (b"PK\x03\x04", b"PK\x05\x06")
"""How a zip archive starts: a file entry, or the end record of an empty archive."""


def _read_npz(path: Path, where: str) -> tuple[np.ndarray, np.ndarray]:
    with path.open("rb") as handle:
        start = handle.read(8)
    if not start:
        raise ValueError(f"{where}: is empty (0 bytes)")
    if start.startswith(b"\x93NUMPY"):
        raise ValueError(
            f"{where}: is a single .npy array, not an .npz archive with arrays 'x' and 'y'; "
            "write it with numpy.savez(path, x=..., y=...)"
        )
    if not start.startswith(_ZIP):
        raise ValueError(
            f"{where}: is not an .npz archive (numpy.savez writes a zip file); "
            f"it starts with {start!r}"
        )
    try:
        with path.open("rb") as handle, np.load(handle, allow_pickle=False) as archive:
            missing = {"x", "y"} - set(archive.files)
            if missing:
                raise ValueError(f"{where}: needs arrays 'x' and 'y', has {sorted(archive.files)}")
            arrays = [_array(archive, key, where) for key in ("x", "y")]
    except (zipfile.BadZipFile, zlib.error, EOFError) as error:
        raise ValueError(
            f"{where}: is damaged (a corrupt or truncated zip archive: {one_line(error)}); "
            "write it again with numpy.savez"
        ) from None
    except ValueError as error:
        if str(error).startswith(where):  # our own refusal, from within the archive
            raise
        raise ValueError(f"{where}: is damaged ({one_line(error)}); write it again") from None
    return arrays[0], arrays[1]


def _array(archive: np.lib.npyio.NpzFile, key: str, where: str) -> np.ndarray:
    try:
        array: np.ndarray = archive[key]
    except ValueError as error:
        if "allow_pickle" not in str(error):
            raise
        raise ValueError(
            f"{where}: {key!r} holds Python objects (dtype object), which the lab "
            "does not unpickle; save numbers (and strings for labels)"
        ) from None
    return array


def _read_csv(path: Path, where: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise ValueError(
            f"{where}: is not UTF-8 text (byte 0x{error.object[error.start]:02x} at offset "
            f"{error.start}); save it as UTF-8"
        ) from None
    reader = csv.reader(io.StringIO(text))
    try:
        rows = [(reader.line_num, row) for row in reader if any(c.strip() for c in row)]
    except csv.Error as error:
        raise ValueError(f"{where}: is not a CSV file ({one_line(error)})") from None
    if rows and _header(rows[0][1], [row[-1] for _, row in rows[1:]]):
        rows = rows[1:]
    if not rows or len(rows[0][1]) < 2:
        raise ValueError(f"{where}: needs feature columns and a label column")
    width = len(rows[0][1])
    features = []
    for line, row in rows:
        if len(row) != width:
            raise ValueError(f"{where}: row {line} has {len(row)} cells, the first row has {width}")
        try:
            features.append([float(cell) for cell in row[:-1]])
        except ValueError:
            column = next(i for i, cell in enumerate(row[:-1]) if not _numeric([cell]))
            raise ValueError(
                f"{where}: row {line}, column {column + 1} is {row[column]!r}, not a number"
            ) from None
    labels = [row[-1].strip() for _, row in rows]
    y = np.array([float(c) for c in labels]) if _numeric(labels) else np.array(labels)
    return np.array(features, dtype=np.float64), y


def _header(first: list[str], labels: list[str]) -> bool:
    """Whether the first row names the columns: text among numeric features or labels."""
    if not _numeric(first[:-1]):
        return True
    return not _numeric(first[-1:]) and _numeric(labels)


def _numeric(cells: list[str]) -> bool:
    try:
        [float(cell) for cell in cells]
    except ValueError:
        return False
    return True


def one_line(error: BaseException) -> str:
    """An exception's message on one line of at most 200 characters (for a usage error).

    >>> one_line(RuntimeError("shapes differ:\\n  (3, 4)"))
    'shapes differ: (3, 4)'
    >>> one_line(EOFError())
    'EOFError'
    """
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= 200 else text[:199] + "…"


def _checked(where: str, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Features as float64 rows and labels as class codes 0..k-1, or a ValueError."""
    if x.ndim == 0:
        raise ValueError(f"{where}: x is a single number; give one row of features per example")
    if x.dtype.kind == "c":
        raise ValueError(f"{where}: x is complex; the lab needs real features")
    if x.dtype.kind not in "biuf":
        raise ValueError(f"{where}: x holds {x.dtype} values, not numbers")
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim == 0:
        raise ValueError(f"{where}: y is a single value; give one label per row")
    if y.ndim != 1:
        raise ValueError(
            f"{where}: y has {y.ndim} dimensions (one-hot?); give one integer label per row, "
            f"got shape {y.shape}"
        )
    if len(x) != len(y) or len(x) < 10:
        raise ValueError(
            f"{where}: needs at least 10 rows and one label per row, "
            f"got {len(x)} rows and {len(y)} labels"
        )
    if x[0].size == 0:
        raise ValueError(f"{where}: x has no features (shape {x.shape})")
    x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    bad = ~np.isfinite(x)
    if bad.any():
        count = int(bad.sum())
        raise ValueError(
            f"{where}: x has {count} NaN or infinite value{'s' if count > 1 else ''} "
            f"(first in row {int(np.argmax(bad.any(axis=1)))}); remove or fill those rows"
        )
    _check_labels(where, y)
    classes, codes = np.unique(y, return_inverse=True)
    if len(classes) < 2:
        raise ValueError(
            f"{where}: y has a single class ({classes[0].item()!r}); a classifier needs at least 2"
        )
    if 2 * len(classes) > len(y):
        raise ValueError(
            f"{where}: y has {len(classes)} classes for {len(y)} rows, fewer than 2 rows a "
            "class (a regression target?); give class labels"
        )
    return x, codes.astype(np.int64)


def _check_labels(where: str, y: np.ndarray) -> None:
    kind = y.dtype.kind
    if kind == "c":
        raise ValueError(f"{where}: y is complex; labels must be integers or strings")
    if kind not in "biufUS":
        raise ValueError(f"{where}: y holds {y.dtype} values; labels must be integers or strings")
    if kind != "f":
        return
    for name, bad in (("NaN", np.isnan(y)), ("infinite", np.isinf(y))):
        if bad.any():
            count = int(bad.sum())
            raise ValueError(
                f"{where}: y has {count} {name} label{'s' if count > 1 else ''} "
                f"(first in row {int(np.argmax(bad))}); labels must be integers or strings"
            )
    fractional = y[y != np.round(y)]
    if len(fractional):
        raise ValueError(
            f"{where}: y has fractional labels (such as {float(fractional[0]):g}); "
            "labels must be integers or strings"
        )


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
    # Dividing by a power of two is exact, so ordinary data standardises bit for bit as
    # without it, while features near 1e200 (or 1e-200) no longer overflow (or underflow).
    _, exponent = np.frexp(np.abs(x_train).max(axis=0))
    unit = np.ldexp(x_train, -exponent)  # x / 2**exponent, which 2**1024 cannot overflow
    mean, std = unit.mean(axis=0), unit.std(axis=0)
    if not std.any():
        raise ValueError(
            f"dataset {name!r}: every feature is constant in the training split; "
            "there is nothing to learn from"
        )
    std[std == 0] = 1.0
    columns = x_train.T  # one row per feature, in its own units
    keep = np.ones(columns.shape, dtype=bool)
    keep[np.arange(len(columns)), np.argmax(np.abs(unit - mean).T, axis=1)] = False
    with np.errstate(over="ignore"):
        others = columns[keep].reshape(len(columns), -1).std(axis=1)  # the farthest left out
    # one value so far out that all the others standardise to about the same number
    flat = (others > 0) & (np.ldexp(others, -exponent) < 1e-6 * std)
    if flat.any():
        column = int(np.argmax(flat)) + 1
        raise ValueError(
            f"dataset {name!r}: column {column} has outliers (up to "
            f"{float(np.abs(x_train[:, column - 1]).max()):.3g}) so far out that every other "
            "value standardises to the same number; clip or transform that feature"
        )

    def scaled(part: np.ndarray, split: str) -> npt.NDArray[np.float32]:
        with np.errstate(over="ignore"):
            out: npt.NDArray[np.float32] = ((np.ldexp(part, -exponent) - mean) / std).astype(
                np.float32
            )
        if not np.isfinite(out).all():
            column = int(np.argmax(~np.isfinite(out).all(axis=0))) + 1
            raise ValueError(
                f"dataset {name!r}: the {split} split has values in column {column} far "
                "outside the training split's range; standardised they are infinite"
            )
        return out

    return Dataset(
        name=name,
        x_train=scaled(x_train, "training"),
        y_train=y_train,
        x_val=scaled(x_val, "validation"),
        y_val=y_val,
        x_test=scaled(x_test, "test"),
        y_test=y_test,
        n_classes=int(y.max()) + 1,
        image_shape=shape,
    )
