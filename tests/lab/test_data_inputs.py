"""Bad data files and data that would give a silent wrong ranking: refused, naming the file."""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest

from lrlab.cli import main
from lrlab.lab.compare import check
from lrlab.lab.data import load
from lrlab.lab.experiment import Experiment, ScheduleEntry
from lrlab.lab.store import FILENAME

RNG = np.random.default_rng(0)
X = RNG.normal(size=(60, 3))
Y = np.repeat([0, 1, 2], 20)


def _npz(path: Path, **arrays: object) -> None:
    np.savez(path, **arrays)  # type: ignore[arg-type]


def _csv(path: Path, rows: Sequence[Sequence[object]], encoding: str = "utf-8") -> None:
    with path.open("w", newline="", encoding=encoding) as handle:
        csv.writer(handle).writerows(rows)


def _good(path: Path) -> None:
    _npz(path, x=X, y=Y)


def _truncated(path: Path) -> None:
    _good(path)
    path.write_bytes(path.read_bytes()[:300])


def _bad_crc(path: Path) -> None:
    _good(path)
    data = bytearray(path.read_bytes())
    data[200] ^= 0xFF  # inside x's bytes: the zip's checksum no longer matches
    path.write_bytes(bytes(data))


def _compressed_garbage(path: Path) -> None:
    np.savez_compressed(path, x=X, y=Y)
    data = bytearray(path.read_bytes())
    for i in range(80, 120):
        data[i] ^= 0x5A
    path.write_bytes(bytes(data))


def _zero_bytes(path: Path) -> None:
    path.write_bytes(b"")


def _no_arrays(path: Path) -> None:
    np.savez(path)


def _text(path: Path) -> None:
    path.write_text("x,y\n1,2\n")


def _npy(path: Path) -> None:
    with path.open("wb") as handle:
        np.save(handle, X)


def _latin1(path: Path) -> None:
    _csv(path, [["größe", "label"]] + [[i, i % 2] for i in range(20)], encoding="latin-1")


def _directory(path: Path) -> None:
    path.mkdir()


def _ragged(path: Path) -> None:
    _csv(path, [[1, 2, 0]] * 10 + [[1, 0]] + [[1, 2, 1]] * 10)


def _not_a_number(path: Path) -> None:
    _csv(path, [["a", "b", "label"]] + [[1, 2, i % 2] for i in range(10)] + [[1, "n/a", 0]])


def _nul(path: Path) -> None:
    path.write_bytes(b"1,2,0\n1,\x002,1\n" * 10)


def _huge_field(path: Path) -> None:
    path.write_text("1,2,0\n" * 10 + "1," + "9" * 200_000 + ",1\n")


def _with(array: np.ndarray, row: int, column: int, value: float) -> np.ndarray:
    out = array.astype(np.float64)
    out[(row, column) if out.ndim == 2 else row] = value
    return out


def _arrays(**arrays: object) -> Callable[[Path], None]:
    return lambda path: _npz(path, **arrays)


BAD_FILES: list[tuple[str, Callable[[Path], None], str]] = [
    ("d.npz", _truncated, "is damaged (a corrupt or truncated zip archive"),
    ("d.npz", _bad_crc, "is damaged (a corrupt or truncated zip archive: Bad CRC-32"),
    ("d.npz", _compressed_garbage, "is damaged"),
    ("d.npz", _zero_bytes, "is empty (0 bytes)"),
    ("d.npz", _no_arrays, "needs arrays 'x' and 'y', has []"),
    ("d.npz", _text, "is not an .npz archive (numpy.savez writes a zip file); it starts with"),
    ("d.npz", _npy, "is a single .npy array, not an .npz archive with arrays 'x' and 'y'"),
    ("d.npz", _arrays(x=np.float64(3.0), y=Y), "x is a single number; give one row"),
    ("d.npz", _arrays(x=X, y=np.eye(3)[Y]), "y has 2 dimensions (one-hot?)"),
    ("d.npz", _arrays(x=X, y=np.int64(1)), "y is a single value; give one label per row"),
    ("d.npz", _arrays(x=X.astype(object), y=Y), "'x' holds Python objects"),
    ("d.npz", _arrays(x=X, y=np.array(list(Y), dtype=object)), "'y' holds Python objects"),
    ("d.npz", _arrays(x=X.astype(str), y=Y), "x holds <U"),
    ("d.npz", _arrays(x=X[:, :0], y=Y), "x has no features"),
    ("d.npz", _arrays(x=X[:5], y=Y[:5]), "needs at least 10 rows"),
    ("d.npz", _arrays(x=X, y=Y[:50]), "got 60 rows and 50 labels"),
    ("d.csv", _latin1, "is not UTF-8 text (byte 0xf6 at offset 2); save it as UTF-8"),
    ("x.csv", _directory, "is a directory, not a file"),
    ("d.csv", _ragged, "row 11 has 2 cells, the first row has 3"),
    ("d.csv", _not_a_number, "row 12, column 2 is 'n/a', not a number"),
    ("d.csv", _nul, "row 2, column 2 is '\\x002', not a number"),
    ("d.csv", _huge_field, "is not a CSV file (field larger than field limit"),
    ("d.csv", lambda p: _csv(p, [[1]] * 20), "needs feature columns and a label column"),
    ("d.txt", _text, "must be a .npz or .csv file"),
    ("nowhere.npz", lambda _: None, "is neither a built-in dataset"),
]


@pytest.mark.parametrize(("filename", "make", "message"), BAD_FILES)
def test_a_bad_data_file_is_a_value_error_naming_it(
    tmp_path: Path, filename: str, make: Callable[[Path], None], message: str
) -> None:
    path = tmp_path / filename
    make(path)
    with pytest.raises(ValueError, match=re.escape(message)) as error:
        load(str(path), seed=0)
    text = str(error.value)
    assert text.startswith(f"dataset {str(path)!r}: ")
    assert "\n" not in text


SILENT: list[tuple[dict[str, object], str]] = [
    ({"x": X, "y": np.zeros(60)}, "y has a single class (0.0); a classifier needs at least 2"),
    ({"x": X, "y": _with(Y, 7, 0, np.nan)}, "y has 1 NaN label (first in row 7)"),
    ({"x": X, "y": np.where(np.arange(60) % 9 == 3, np.inf, Y)}, "y has 7 infinite labels"),
    ({"x": X, "y": Y + 0.5 * (np.arange(60) % 2)}, "y has fractional labels (such as 0.5)"),
    ({"x": X, "y": Y + 0j}, "y is complex"),
    ({"x": _with(X, 4, 2, np.nan), "y": Y}, "x has 1 NaN or infinite value (first in row 4)"),
    ({"x": np.full((60, 3), np.inf), "y": Y}, "x has 180 NaN or infinite values (first in row 0)"),
    ({"x": X + 1j * X, "y": Y}, "x is complex; the lab needs real features"),
    ({"x": np.ones((60, 3)), "y": Y}, "every feature is constant in the training split"),
    ({"x": X, "y": np.arange(60)}, "y has 60 classes for 60 rows"),
    (
        {"x": np.vstack([X[:59], [[1e300, 1e300, 1e300]]]), "y": Y},
        "far outside the training split's range",
    ),
]


@pytest.mark.parametrize(("arrays", "message"), SILENT)
def test_data_that_would_rank_meaninglessly_is_refused(
    tmp_path: Path, arrays: dict[str, object], message: str
) -> None:
    path = tmp_path / "d.npz"
    _npz(path, **arrays)
    prefix = re.escape(f"dataset {str(path)!r}: ")
    with pytest.raises(ValueError, match=prefix + ".*" + re.escape(message)):
        _load_seeds(path)


def _load_seeds(path: Path) -> None:
    for seed in range(5):  # an outlier lands in the validation or test split for some seed
        load(str(path), seed=seed)


def test_fractional_labels_in_a_csv_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    _csv(path, [["a", "b", "y"]] + [[*row, 0.25 * i] for i, row in enumerate(X[:, :2].tolist())])
    with pytest.raises(ValueError, match=r"y has fractional labels \(such as 0\.25\); labels"):
        load(str(path), seed=0)


def test_a_csv_may_have_string_labels_and_integral_float_labels(tmp_path: Path) -> None:
    names = np.array(["cat", "dog", "eel"])[Y]
    _csv(
        tmp_path / "s.csv",
        [["a", "b", "c", "kind"]] + [[*r, n] for r, n in zip(X, names, strict=True)],
    )
    _csv(tmp_path / "f.csv", [[*r, float(y)] for r, y in zip(X, Y, strict=True)])
    _csv(
        tmp_path / "h.csv",
        [["1", "2", "3", "label"]] + [[*r, y] for r, y in zip(X, Y, strict=True)],
    )
    headed = load(str(tmp_path / "h.csv"), seed=0)  # a header, though its features are numbers
    rows = len(headed.y_train) + len(headed.y_val) + len(headed.y_test)
    assert (headed.n_classes, rows) == (3, 60)
    by_name, by_number = (
        load(str(tmp_path / "s.csv"), seed=0),
        load(str(tmp_path / "f.csv"), seed=0),
    )
    assert by_name.n_classes == by_number.n_classes == 3
    np.testing.assert_array_equal(by_name.y_train, by_number.y_train)
    np.testing.assert_array_equal(by_name.x_train, by_number.x_train)


def test_huge_and_tiny_features_standardise_like_ordinary_ones(tmp_path: Path) -> None:
    plain = tmp_path / "plain.npz"
    _npz(plain, x=X, y=Y)
    reference = load(str(plain), seed=0)
    for factor in (1e200, 1e-200):
        path = tmp_path / f"{factor}.npz"
        _npz(path, x=X * factor, y=Y)
        scaled = load(str(path), seed=0)
        np.testing.assert_allclose(scaled.x_train, reference.x_train, rtol=1e-5, atol=1e-6)
        assert float(np.abs(scaled.x_train).std()) > 0.5


@pytest.mark.parametrize("name", ["digits", "synthetic"])
def test_safe_scaling_leaves_ordinary_data_bit_identical(name: str) -> None:
    data = load(name, seed=3)
    from sklearn.model_selection import train_test_split

    from lrlab.lab.data import _digits, _synthetic

    x, y, _ = _digits() if name == "digits" else _synthetic()
    x_train, *_ = train_test_split(x, y, test_size=0.3, random_state=3, stratify=y)
    mean, std = x_train.mean(axis=0), x_train.std(axis=0)
    std[std == 0] = 1.0
    np.testing.assert_array_equal(data.x_train, ((x_train - mean) / std).astype(np.float32))


def test_a_batch_larger_than_the_training_split_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "d.npz"
    _npz(path, x=X, y=Y)
    experiment = Experiment(
        dataset=str(path),
        model="mlp",
        batch_size=64,
        epochs=1,
        seeds=(0,),
        schedules=(ScheduleEntry(name="c", spec="constant(value={lr})"),),
    )
    with pytest.raises(
        ValueError,
        match=re.escape(
            f"batch_size 64 is larger than the training split of dataset "
            f"{str(path)!r} (42 rows); use a batch_size of at most 42"
        ),
    ):
        check(experiment)


CLI_CASES: list[tuple[str, Callable[[Path], None], str]] = [
    ("d.npz", _truncated, "is damaged"),
    ("d.npz", _text, "is not an .npz archive"),
    ("d.npz", _arrays(x=X, y=np.eye(3)[Y]), "y has 2 dimensions (one-hot?)"),
    ("d.npz", _arrays(x=X, y=np.zeros(60)), "y has a single class"),
    ("d.csv", _latin1, "is not UTF-8 text"),
    ("x.csv", _directory, "is a directory"),
]


@pytest.mark.parametrize(("filename", "make", "message"), CLI_CASES)
def test_compare_on_bad_data_exits_2_with_one_line_and_trains_nothing(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    filename: str,
    make: Callable[[Path], None],
    message: str,
) -> None:
    path = tmp_path / filename
    make(path)
    out = tmp_path / "o"
    argv = ["compare", "--out", str(out), "--dataset", str(path), "--model", "mlp"]
    code = main([*argv, "--epochs", "2", "--seeds", "1", "--quiet"])
    stdout, err = capsys.readouterr()
    assert (code, stdout) == (2, "")
    assert err.startswith(f"lrlab: error: dataset {str(path)!r}: ")
    assert message in err
    assert err.count("\n") == 1
    assert not (out / FILENAME).exists()  # no store: nothing trained


def test_compare_with_a_too_large_batch_exits_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "d.npz"
    _npz(path, x=X, y=Y)
    out = tmp_path / "o"
    argv = ["compare", "--out", str(out), "--dataset", str(path), "--model", "mlp"]
    code = main([*argv, "--batch-size", "100", "--epochs", "2", "--seeds", "1", "--quiet"])
    _, err = capsys.readouterr()
    assert code == 2
    assert err == (
        f"lrlab: error: batch_size 100 is larger than the training split of dataset "
        f"{str(path)!r} (42 rows); use a batch_size of at most 42\n"
    )
    assert not (out / FILENAME).exists()  # no store: nothing trained
