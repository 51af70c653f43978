"""Lab data, models and trainer: determinism, exact resume, divergence, plateau."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from lrlab.lab import TrainConfig, build, load, train
from lrlab.lab.config import schedule_for
from lrlab.lab.records import Epoch
from lrlab.lab.train import Checkpoint


def test_digits_split_is_deterministic_stratified_and_standardised() -> None:
    a, b, c = load("digits", seed=1), load("digits", seed=1), load("digits", seed=2)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    assert not np.array_equal(a.y_train, c.y_train)
    assert (len(a.y_train), len(a.y_val), len(a.y_test)) == (1257, 270, 270)
    assert abs(float(a.x_train.mean())) < 1e-5
    assert set(np.bincount(a.y_val)) <= {26, 27, 28}
    assert a.image_shape == (1, 8, 8)


def test_user_files_npz_and_csv(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(60, 3)), np.repeat(["cat", "dog", "eel"], 20)
    np.savez(tmp_path / "d.npz", x=x, y=y)
    npz = load(str(tmp_path / "d.npz"), seed=0)
    assert (npz.n_features, npz.n_classes) == (3, 3)
    with (tmp_path / "d.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["a", "b", "c", "label"])
        writer.writerows(
            [[*row, label] for row, label in zip(x.tolist(), [0, 1, 2] * 20, strict=True)]
        )
    assert load(str(tmp_path / "d.csv"), seed=0).n_classes == 3
    with pytest.raises(ValueError, match="is neither a built-in dataset"):
        load(str(tmp_path / "missing.npz"), seed=0)
    np.savez(tmp_path / "bad.npz", features=x)
    with pytest.raises(ValueError, match=r"needs arrays 'x' and 'y', has \['features'\]"):
        load(str(tmp_path / "bad.npz"), seed=0)


def test_models() -> None:
    assert build("cnn", n_features=64, n_classes=10, image_shape=(1, 8, 8))(
        torch.zeros(2, 64)
    ).shape == (2, 10)
    assert build("tests.lab.test_train:tiny", n_features=4, n_classes=2)(
        torch.zeros(1, 4)
    ).shape == (1, 2)
    with pytest.raises(ValueError, match="model: 'cnn' needs an image dataset"):
        build("cnn", n_features=20, n_classes=5)
    with pytest.raises(ValueError, match="model: unknown model 'resnet'"):
        build("resnet", n_features=20, n_classes=5)


def tiny(n_features: int, n_classes: int) -> torch.nn.Module:
    return torch.nn.Linear(n_features, n_classes)


def test_schedule_placeholders() -> None:
    config = TrainConfig(
        epochs=10,
        lr=0.05,
        per="batch",
        schedule="warmup(cosine(init={lr}, steps={steps}-{steps_per_epoch}), steps={steps_per_epoch})",
    )
    assert repr(schedule_for(config, 20)) == "warmup(cosine(init=0.05, steps=180), steps=20)"
    with pytest.raises(
        ValueError,
        match=r"config: schedule 'cosine\(init=\{base\}, steps=3\)' has an unknown placeholder '\{base\}'",
    ):
        schedule_for(TrainConfig(schedule="cosine(init={base}, steps=3)"), 1)


def test_bad_config_names_key_and_value() -> None:
    with pytest.raises(
        ValueError, match="config: optimizer must be one of 'sgd', 'adam', 'adamw', got 'rmsprop'"
    ):
        TrainConfig(optimizer="rmsprop")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="config: epochs must be a positive int, got 0"):
        TrainConfig(epochs=0)


def test_same_seed_same_numbers_and_the_schedule_is_followed() -> None:
    config = TrainConfig(epochs=3, schedule="StepLR(lr={lr}, step_size=1, gamma=0.5)")
    a, b = train(config), train(config)
    assert a.epochs[-1]["val_loss"] == b.epochs[-1]["val_loss"]
    assert [e.lr for e in a.epochs] == [0.1, 0.05, 0.025]
    assert a.test_accuracy is not None
    assert a.test_accuracy > 0.8


def test_resume_from_a_checkpoint_equals_an_uninterrupted_run() -> None:
    config = TrainConfig(
        epochs=4, optimizer="adam", lr=0.003, schedule="cosine(init={lr}, steps={epochs})"
    )
    full = train(config)
    saved: list[Checkpoint] = []

    def keep(_: Epoch, checkpoint: Checkpoint) -> None:
        saved.append(checkpoint)

    train(TrainConfig(**{**config.to_dict(), "epochs": 4}), on_epoch=keep)
    resumed = train(config, resume=saved[1])
    assert [e["val_loss"] for e in resumed.epochs] == [e["val_loss"] for e in full.epochs]
    assert resumed.test_accuracy == full.test_accuracy
    assert resumed.lrs == full.lrs


def test_divergence_is_reported_not_raised() -> None:
    result = train(
        TrainConfig(epochs=3, lr=1e5, momentum=0.0, model="mlp", schedule="constant(value={lr})")
    )
    assert result.status == "diverged"
    assert result.diverged_at is not None
    assert result.test_accuracy is None


def test_plateau_after_warmup_per_batch() -> None:
    config = TrainConfig(
        epochs=4,
        per="batch",
        schedule="join([linear(init={lr}/10, end={lr}, steps={steps_per_epoch}), plateau(init={lr}, patience=0, factor=0.5)], at=[{steps_per_epoch}])",
    )
    result = train(config)
    assert result.status == "finished"
    assert result.epochs[0].lr == pytest.approx(0.01)
    assert all(math.isfinite(e["val_loss"]) for e in result.epochs)
