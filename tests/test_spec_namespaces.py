"""Prefixed names in specs: ``hf.*``, ``timm.*``, ``keras.*`` through the reader, the CLI
and the lab's TOML."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

import lrlab
from lrlab.cli import main
from lrlab.lab.config import schedule_for
from lrlab.lab.experiment import Experiment
from lrlab.schedules.hf_names import NAMES as HF_NAMES
from lrlab.schedules.keras_names import CLASSES
from lrlab.schedules.namespaces import NAMESPACES, names
from lrlab.schedules.timm_names import SCHEDS
from lrlab.spec import SpecError, parameters


@pytest.mark.parametrize(
    ("spec", "direct"),
    [
        (
            "hf.cosine(lr=3e-4, num_warmup_steps=100, num_training_steps=1000)",
            lrlab.from_hf("cosine", lr=3e-4, num_warmup_steps=100, num_training_steps=1000),
        ),
        (
            "hf.polynomial(lr=1.0, num_warmup_steps=0, num_training_steps=4, lr_end=0.0, power=2.0)",
            lrlab.from_hf(
                "polynomial",
                lr=1.0,
                num_warmup_steps=0,
                num_training_steps=4,
                lr_end=0.0,
                power=2.0,
            ),
        ),
        (
            "hf.reduce_lr_on_plateau(lr=0.1, patience=2)",
            lrlab.from_hf("reduce_lr_on_plateau", lr=0.1, patience=2),
        ),
        (
            "timm.cosine(lr=0.1, num_epochs=100, warmup_epochs=5, cycle_limit=2, cycle_mul=2.0)",
            lrlab.from_timm(
                lr=0.1,
                sched="cosine",
                num_epochs=100,
                warmup_epochs=5,
                cycle_limit=2,
                cycle_mul=2.0,
            ),
        ),
        (
            "timm.multistep(lr=0.1, decay_milestones=[30, 60], step_on_epochs=False, updates_per_epoch=10)",
            lrlab.from_timm(
                lr=0.1,
                sched="multistep",
                decay_milestones=[30, 60],
                step_on_epochs=False,
                updates_per_epoch=10,
            ),
        ),
        (
            "keras.CosineDecay(initial_learning_rate=0.0, decay_steps=900, warmup_target=0.1, warmup_steps=100)",
            lrlab.from_keras(
                "CosineDecay",
                initial_learning_rate=0.0,
                decay_steps=900,
                warmup_target=0.1,
                warmup_steps=100,
            ),
        ),
        (
            "warmup(keras.PiecewiseConstantDecay(boundaries=[10], values=[0.1, 0.01]), steps=5)",
            lrlab.warmup(
                lrlab.from_keras("PiecewiseConstantDecay", boundaries=[10], values=[0.1, 0.01]),
                steps=5,
            ),
        ),
    ],
)
def test_a_prefixed_call_is_the_bridge_function(spec: str, direct: lrlab.Schedule) -> None:
    parsed = lrlab.parse(spec)
    assert parsed == direct
    assert lrlab.parse(lrlab.spec.format(parsed)) == parsed  # the canonical spec is lrlab's


def test_every_bridge_name_is_a_spec_name() -> None:
    expected = (
        {f"hf.{n}" for n in HF_NAMES}
        | {f"timm.{s}" for s in SCHEDS}
        | {f"keras.{c}" for c in CLASSES}
    )
    assert set(names()) == expected
    assert {name.split(".")[0] for name in names()} == set(NAMESPACES)


def test_spec_parameters_are_the_librarys_own() -> None:
    assert parameters("timm.cosine") == [
        p for p in inspect.signature(lrlab.from_timm).parameters if p != "sched"
    ]
    assert parameters("keras.CosineDecayRestarts") == [
        "initial_learning_rate",
        "first_decay_steps",
        "t_mul",
        "m_mul",
        "alpha",
        "name",
    ]
    assert parameters("hf.warmup_stable_decay")[:3] == [
        "lr",
        "num_warmup_steps",
        "num_training_steps",
    ]
    assert "patience" in parameters("hf.reduce_lr_on_plateau")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            "timm.cosine(lr=0.1, num_epoch=10)",
            "column 21: timm.cosine has no parameter 'num_epoch'; did you mean 'num_epochs'? parameters: lr, num_epochs, decay_epochs,",
        ),
        (
            "hf.linear(lr=0.1, num_warmup_steps=1, num_training_steps=9, power=2.0)",
            "column 61: hf.linear has no parameter 'power'; parameters: lr, num_warmup_steps, num_training_steps",
        ),
        (
            "keras.CosineDecay(initial_learning_rate=0.1, decay_steps=0)",
            "column 58: CosineDecay: decay_steps must be a positive int, got 0",
        ),
        ("timm.cosine(lr=0.1, noise=0.5)", "column 27: from_timm: noise is not supported"),
        (
            "timm.cosin(lr=0.1)",
            "column 1: unknown schedule 'timm.cosin'; did you mean 'timm.cosine'?",
        ),
        (
            "keras.cosinedecay(initial_learning_rate=0.1)",
            "column 1: unknown schedule 'keras.cosinedecay'; did you mean 'keras.CosineDecay'?",
        ),
        ("os.system(lr=1)", "column 1: attribute access is not allowed; expected a schedule name"),
        ("hf.cosine.x(lr=1)", "column 1: attribute access is not allowed"),
        ("timm.cosine", "column 1: 'timm.cosine' needs its parameters: timm.cosine(lr=...)"),
    ],
)
def test_bad_prefixed_calls_are_spec_errors(spec: str, message: str) -> None:
    with pytest.raises(SpecError) as caught:
        lrlab.parse(spec)
    assert str(caught.value).startswith(message)


def test_the_cli_reads_prefixed_names(capsys: pytest.CaptureFixture[str]) -> None:
    spec = "timm.step(lr=1.0, decay_epochs=2, decay_rate=0.5)"
    assert main(["values", spec, "--steps", "5"]) == 0
    out, _ = capsys.readouterr()
    assert out.splitlines() == ["step,lr", "0,1.0", "1,1.0", "2,0.5", "3,0.5", "4,0.25"]
    assert main(["plot", spec, "--steps", "5"]) == 0
    out, _ = capsys.readouterr()
    assert out.splitlines()[-1] == "[1] step(init=1.0, period=2, gamma=0.5)"
    assert main(["show", "hf.cosine(lr=0.1, num_warmup_steps=0, num_training_steps=0)"]) == 2
    _, err = capsys.readouterr()
    assert err.startswith(
        "lrlab: error: column 58: from_hf: num_training_steps must be a positive int, got 0 in"
    )


def test_a_toml_experiment_takes_prefixed_names(tmp_path: Path) -> None:
    path = tmp_path / "e.toml"
    path.write_text(
        "lr = 0.1\nepochs = 4\nschedules = [\n"
        "  'timm.cosine(lr={lr}, num_epochs={epochs}, warmup_epochs=1, warmup_lr=0.0)',\n"
        "  'keras.InverseTimeDecay(initial_learning_rate={lr}, decay_steps=1, decay_rate=1.0)',\n"
        "]\n"
    )
    experiment = Experiment.from_toml(path)
    assert [s.name for s in experiment.schedules] == ["timm.cosine", "keras.InverseTimeDecay"]
    first = schedule_for(experiment.configs()[0], steps_per_epoch=10)
    assert first.values(5).round(6).tolist() == [0.0, 0.085355, 0.05, 0.014645, 0.0]


def test_list_names_the_prefixed_names(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list"]) == 0
    out, _ = capsys.readouterr()
    listed = out.split("other libraries' names (their own keywords; see docs/ecosystem.md):\n")[1]
    assert set(listed.replace(",", " ").split()) == set(names())
    assert (
        "\n  timm.cosine, timm.tanh, timm.step, timm.multistep, timm.plateau, timm.poly\n" in listed
    )
