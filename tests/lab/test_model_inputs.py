"""Models that do not fit the data and bad model factories: refused before training."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, NoReturn

import pytest
import torch
from torch import nn

from lrlab.cli import main
from lrlab.lab.data import Dataset, load
from lrlab.lab.models import build, check_model
from lrlab.lab.store import FILENAME

HERE = "tests.lab.test_model_inputs"


@pytest.fixture(scope="module")
def digits() -> Dataset:
    return load("digits", seed=0)


# --- factories that build a model which cannot train on the data --------------------------


def wrong_inputs(n_features: int, n_classes: int) -> nn.Module:
    return nn.Linear(n_features + 1, n_classes)


def too_few_outputs(n_features: int, _n_classes: int) -> nn.Module:
    return nn.Linear(n_features, 2)


def too_many_outputs(n_features: int, n_classes: int) -> nn.Module:
    return nn.Linear(n_features, n_classes + 1)


def no_parameters(_n_features: int, _n_classes: int) -> nn.Module:
    return nn.Flatten()


def frozen(n_features: int, n_classes: int) -> nn.Module:
    return nn.Linear(n_features, n_classes).requires_grad_(False)


class _Wrap(nn.Module):
    def __init__(self, n_features: int, n_classes: int, how: str) -> None:
        super().__init__()
        self.linear = nn.Linear(n_features, n_classes)
        self.how = how
        self.free = torch.ones(n_features, n_classes, requires_grad=True)

    def forward(self, x: torch.Tensor) -> Any:
        out = self.linear(x)
        if self.how == "3d":
            return out[:, :, None]
        if self.how == "int":
            return out.long()
        if self.how == "tuple":
            return out, out
        if self.how == "nan":
            return out * float("nan")
        if self.how == "detached":
            return out.detach()
        if self.how == "unused":
            return x @ self.free
        return _Fails.apply(out)  # type: ignore[no-untyped-call]


class _Fails(torch.autograd.Function):
    @staticmethod
    def forward(_ctx: Any, x: torch.Tensor) -> torch.Tensor:
        return x.clone()

    @staticmethod
    def backward(_ctx: Any, _grad: torch.Tensor) -> NoReturn:
        raise RuntimeError("this layer has no gradient\nsecond line")


def three_d_model(n_features: int, n_classes: int) -> nn.Module:
    return _Wrap(n_features, n_classes, "3d")


def int_model(n_features: int, n_classes: int) -> nn.Module:
    return _Wrap(n_features, n_classes, "int")


def tuple_model(n_features: int, n_classes: int) -> nn.Module:
    return _Wrap(n_features, n_classes, "tuple")


def nan_model(n_features: int, n_classes: int) -> nn.Module:
    return _Wrap(n_features, n_classes, "nan")


def detached_model(n_features: int, n_classes: int) -> nn.Module:
    return _Wrap(n_features, n_classes, "detached")


def unused_model(n_features: int, n_classes: int) -> nn.Module:
    return _Wrap(n_features, n_classes, "unused")


def backward_model(n_features: int, n_classes: int) -> nn.Module:
    return _Wrap(n_features, n_classes, "backward")


MISFITS = [
    (
        f"{HERE}:wrong_inputs",
        "(64 features, 10 classes): the forward pass failed: RuntimeError: mat1 and mat2 "
        "shapes cannot be multiplied (64x64 and 65x10)",
    ),
    (f"{HERE}:too_few_outputs", "the model gives 2 outputs for 10 classes"),
    (f"{HERE}:too_many_outputs", "the model gives 11 outputs for 10 classes"),
    (f"{HERE}:no_parameters", "the model has no parameters; there is nothing to train"),
    (f"{HERE}:frozen", "all 2 parameter tensors are frozen (requires_grad=False)"),
    (
        f"{HERE}:three_d_model",
        "the model's output has shape (64, 10, 1); expected (64, 10) (one row of logits",
    ),
    (f"{HERE}:int_model", "the model's output has dtype torch.int64; expected floating-point"),
    (f"{HERE}:tuple_model", "the model returned tuple, not a tensor"),
    (f"{HERE}:nan_model", "the loss on the first batch is nan"),
    (f"{HERE}:detached_model", "the output does not depend on any trainable parameter"),
    (f"{HERE}:unused_model", "no gradient reaches any parameter"),
    (
        f"{HERE}:backward_model",
        "the backward pass failed: RuntimeError: this layer has no gradient second line",
    ),
]


@pytest.mark.parametrize(("name", "message"), MISFITS)
def test_a_model_that_cannot_train_on_the_data_is_refused(
    digits: Dataset, name: str, message: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(message)) as error:
        check_model(name, digits, 64)
    assert str(error.value).startswith(f"model {name!r} on dataset 'digits'")
    assert "\n" not in str(error.value)


def test_batchnorm_on_a_last_batch_of_one_row_is_refused(digits: Dataset) -> None:
    assert len(digits.y_train) % 4 == 1
    with pytest.raises(
        ValueError,
        match=re.escape(
            "model 'mlp-bn' on dataset 'digits' (64 features, 10 classes): the forward pass on "
            "an epoch's last batch, of 1 row (1257 training rows in batches of 4), failed: "
            "ValueError: Expected more than 1 value per channel when training"
        ),
    ):
        check_model("mlp-bn", digits, 4)
    check_model("mlp", digits, 4)


@pytest.mark.parametrize("name", ["cnn", "mlp-bn", "mlp", f"{HERE}:too_few_outputs"])
def test_the_check_builds_seeded_and_leaves_the_global_random_state(
    digits: Dataset, name: str
) -> None:
    before = torch.get_rng_state()
    if name.endswith("too_few_outputs"):
        with pytest.raises(ValueError, match="outputs"):
            check_model(name, digits, 64, seed=3)
    else:
        check_model(name, digits, 64, seed=3)
    assert torch.equal(torch.get_rng_state(), before)


# --- factories that are not factories ---------------------------------------------------------


def boom(n_features: int, _n_classes: int) -> nn.Module:
    raise RuntimeError(f"no GPU for {n_features}\nfeatures")


def leaves(_n_features: int, _n_classes: int) -> nn.Module:
    sys.exit(3)


def keyword_only(*, n_features: int, n_classes: int) -> nn.Module:
    return nn.Linear(n_features, n_classes)


def not_a_module(_n_features: int, _n_classes: int) -> object:
    return "a model"


NOT_A_FACTORY = 42

FACTORIES = [
    (f"{HERE}:boom", "the factory failed: RuntimeError: no GPU for 64 features"),
    (f"{HERE}:leaves", "the factory failed: it called sys.exit(3)"),
    (
        f"{HERE}:keyword_only",
        "the factory must accept (n_features, n_classes) positionally; its signature is "
        "(*, n_features: 'int', n_classes: 'int')",
    ),
    (f"{HERE}:not_a_module", "the factory returned str, not a torch.nn.Module"),
    ("builtins:max", "the factory returned int, not a torch.nn.Module"),
    (f"{HERE}:NOT_A_FACTORY", "'NOT_A_FACTORY' is a int, not a function"),
    (f"{HERE}:nothing", f"module {HERE!r} has no attribute 'nothing'"),
    ("no_such_module_here:f", "cannot import 'no_such_module_here': No module named"),
    (f"{HERE}:", "give it as 'package.module:factory'"),
    (":f", "give it as 'package.module:factory'"),
]


@pytest.mark.parametrize(("name", "message"), FACTORIES)
def test_a_bad_factory_is_a_value_error_naming_the_model(name: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)) as error:
        build(name, n_features=64, n_classes=10)
    assert str(error.value).startswith(f"model {name!r}: ")
    assert "\n" not in str(error.value)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("raise ImportError('needs tensorflow')", "cannot import 'broken_mod': needs tensorflow"),
        ("import sys\nsys.exit(3)", "importing 'broken_mod' failed: it called sys.exit(3)"),
        ("def f(:\n", "importing 'broken_mod' failed: SyntaxError: invalid syntax"),
    ],
)
def test_a_module_that_fails_to_import_is_a_value_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str, message: str
) -> None:
    (tmp_path / "broken_mod.py").write_text(source + "\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "broken_mod", raising=False)
    with pytest.raises(ValueError, match=re.escape(f"model 'broken_mod:f': {message}")):
        build("broken_mod:f", n_features=4, n_classes=2)


def test_a_factory_in_the_current_directory_imports_without_it_on_the_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "here_mod.py").write_text(
        "import torch\n\ndef factory(n_features, n_classes):\n"
        "    return torch.nn.Linear(n_features, n_classes)\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", os.getcwd())])
    monkeypatch.delitem(sys.modules, "here_mod", raising=False)
    path = list(sys.path)
    assert build("here_mod:factory", n_features=3, n_classes=2)(torch.zeros(1, 3)).shape == (1, 2)
    assert sys.path == path


# --- through the command line -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (f"{HERE}:wrong_inputs", "the forward pass failed: RuntimeError: mat1 and mat2"),
        (f"{HERE}:too_few_outputs", "the model gives 2 outputs for 10 classes"),
        (f"{HERE}:frozen", "parameter tensors are frozen"),
        (f"{HERE}:boom", "the factory failed: RuntimeError: no GPU for 64 features"),
        (f"{HERE}:leaves", "it called sys.exit(3)"),
        (f"{HERE}:keyword_only", "positionally"),
        (f"{HERE}:NOT_A_FACTORY", "not a function"),
        (f"{HERE}:not_a_module", "not a torch.nn.Module"),
    ],
)
def test_compare_with_a_bad_model_exits_2_before_training(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, model: str, message: str
) -> None:
    out = tmp_path / "o"
    argv = ["compare", "--out", str(out), "--dataset", "digits", "--model", model]
    code = main([*argv, "--epochs", "2", "--seeds", "1", "--quiet"])
    stdout, err = capsys.readouterr()
    assert (code, stdout) == (2, "")
    assert err.startswith(f"lrlab: error: model {model!r}")
    assert message in err
    assert err.count("\n") == 1
    assert not (out / FILENAME).exists()  # no store: nothing trained


@pytest.mark.slow
def test_the_console_script_finds_a_factory_in_the_current_directory(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("lrlab")
    (tmp_path / "mymod.py").write_text(
        "import torch\n\ndef factory(n_features, n_classes):\n"
        "    return torch.nn.Sequential(torch.nn.Linear(n_features, 16), torch.nn.ReLU(),\n"
        "                               torch.nn.Linear(16, n_classes))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    argv = ["compare", "--out", "o", "--model", "mymod:factory", "--epochs", "1", "--seeds", "1"]
    argv += ["--schedule", "constant(value={lr})", "--batch-size", "256", "--quiet"]
    done = subprocess.run(
        [str(script), *argv], cwd=tmp_path, env=env, capture_output=True, text=True, check=False
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert (tmp_path / "o" / "report.html").exists()


def test_find_lr_refuses_a_model_that_does_not_fit_before_the_test(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "wide.py").write_text(
        "import torch\n"
        "def factory(n_features, n_classes):\n"
        "    return torch.nn.Linear(n_features + 3, n_classes)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    assert main(["find-lr", "--model", "wide:factory", "--steps", "20"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("lrlab: error: model 'wide:factory' on dataset 'digits'")
    assert main(["find-lr", "--dataset", "synthetic", "--batch-size", "100000"]) == 2
    assert "batch_size 100000 is larger than the training split" in capsys.readouterr().err
