"""The designer's work without the web: curves as envelopes, errors as data, exports."""

from __future__ import annotations

import numpy as np
import pytest
import tomllib

import lrlab
from lrlab.lab.experiment import Experiment
from lrlab.schedules import torch_names
from lrlab.spec import parameters
from lrlab.web.designer import (
    EXACT_STEPS,
    MAX_WIDTH,
    DesignError,
    constructor_forms,
    curve_of,
    exports,
)


@pytest.mark.parametrize(
    ("spec", "steps", "width"),
    [
        ("cyclic(init=0.001, peak=0.1, up_steps=37)", 100_000, 777),
        ("StepLR(lr=0.1, step_size=30, gamma=0.5)", 1001, 10),
        ("warmup(cosine(init=0.1, steps=900), steps=100)", 5, 800),
        ("constant(value=0.1)", 1, 1),
    ],
)
def test_the_envelope_is_each_buckets_min_and_max(spec: str, steps: int, width: int) -> None:
    curve = curve_of(spec, steps=steps, width=width)
    values = lrlab.parse(spec).values(steps)
    assert len(curve.t) <= width
    assert curve.t[0] == 0
    assert curve.t[-1] + curve.bucket >= steps > curve.t[-1]
    assert np.all(np.diff(curve.t) == curve.bucket)
    for i, start in enumerate(curve.t):
        chunk = values[start : start + curve.bucket]
        assert curve.low[i] == chunk.min()
        assert curve.high[i] == chunk.max()
    assert curve.exact


def test_a_short_curve_is_every_value() -> None:
    curve = curve_of("step(init=1.0, period=2, gamma=0.5)", steps=5, width=800)
    assert curve.bucket == 1
    assert curve.low.tolist() == curve.high.tolist() == [1.0, 1.0, 0.5, 0.5, 0.25]
    assert curve.to_dict()["t"] == [0, 1, 2, 3, 4]


def test_the_default_length_is_the_schedules_own() -> None:
    assert curve_of("cosine(init=0.1, steps=300)", width=1000).steps == 300
    assert curve_of("StepLR(lr=0.1, step_size=3)", width=1000).steps == 10_000
    assert curve_of("StepLR(lr=0.1, step_size=3)").length is None


def test_a_huge_curve_is_sampled_and_says_so() -> None:
    curve = curve_of("cosine(init=0.1, steps=10**12, end=0.001)", width=500)
    assert curve.steps == 10**12
    assert not curve.exact
    assert len(curve.t) == 500
    assert curve.high[0] == 0.1
    assert 0.001 <= curve.low[-1] < 0.0011
    assert np.all(curve.low <= curve.high)
    assert curve_of("constant(value=0.1)", steps=EXACT_STEPS).exact


@pytest.mark.parametrize(
    ("spec", "parameter", "column", "text"),
    [
        ("cosine(init=0.1, steps=0)", "steps", 24, "steps must be a positive int, got 0"),
        ("cosine(init=0.1, step=10)", "step", 18, "did you mean 'steps'?"),
        ("StepLR(lr=0.1, step_size=-3)", "step_size", 26, "StepLR: step_size"),
        ("cosin(init=0.1, steps=10)", None, 1, "did you mean 'cosine'?"),
        ("cosine(init=().__class__, steps=3)", None, 13, "not allowed"),
        ("", None, 1, "empty spec"),
    ],
)
def test_a_bad_spec_is_an_error_naming_the_parameter(
    spec: str, parameter: str | None, column: int, text: str
) -> None:
    with pytest.raises(DesignError) as caught:
        curve_of(spec, steps=10)
    assert caught.value.parameter == parameter
    assert caught.value.column == column
    assert text in caught.value.message
    assert caught.value.to_dict() == {
        "message": caught.value.message,
        "parameter": parameter,
        "column": column,
    }


def test_a_metric_driven_schedule_has_no_curve() -> None:
    with pytest.raises(DesignError, match="metric-driven plateau"):
        curve_of("ReduceLROnPlateau(lr=0.1)", steps=10)


@pytest.mark.parametrize(
    ("steps", "width", "parameter"),
    [(0, 10, "steps"), (2**52 + 1, 10, "steps"), (True, 10, "steps"), (10, 0, "width"),
     (10, MAX_WIDTH + 1, "width"), (10, 2.5, "width")],
)  # fmt: skip
def test_bad_sizes_name_the_parameter_and_value(
    steps: object, width: object, parameter: str
) -> None:
    with pytest.raises(DesignError) as caught:
        curve_of("constant(value=0.1)", steps=steps, width=width)  # type: ignore[arg-type]
    assert caught.value.parameter == parameter
    assert repr(steps if parameter == "steps" else width) in caught.value.message


def test_the_toml_entry_reads_back_as_an_experiment_schedule() -> None:
    spec = "warmup(cosine(init=0.1, steps=900), steps=100)"
    text = exports(spec, per="batch", name='say "hi" \\ ünï')["toml"]
    entry = tomllib.loads(text)["schedules"][0]
    assert entry == {"name": 'say "hi" \\ ünï', "spec": spec, "per": "batch"}
    experiment = Experiment.from_mapping({"schedules": [entry]})
    assert experiment.schedules[0].spec == spec


def test_exports_use_the_drop_in_for_a_torch_name() -> None:
    out = exports("StepLR(lr=0.1, step_size=30, gamma=0.5)")
    assert out["spec"] == "step(init=0.1, period=30, gamma=0.5)"
    assert "lrlab.torch.StepLR(optimizer, step_size=30, gamma=0.5)" in out["torch"]
    assert "lr=0.1" in out["torch"]
    other = exports("cosine(init=0.1, steps=100)", per="batch")["torch"]
    assert "ScheduleLR(optimizer, lrlab.parse('cosine(init=0.1, steps=100)'))" in other
    assert "per batch" in other


def test_exports_refuse_what_cannot_be_drawn() -> None:
    with pytest.raises(DesignError) as caught:
        exports("constant(value=0.1)", per="week")
    assert caught.value.parameter == "per"
    with pytest.raises(DesignError, match="column 1"):
        exports("nope(x=1)")


def test_every_spec_name_has_a_form_with_its_signature() -> None:
    forms = {form["name"]: form for form in constructor_forms()}
    assert set(torch_names.__all__) <= set(forms)
    assert forms["cosine"]["kind"] == "lrlab"
    for name, form in forms.items():
        assert [p["name"] for p in form["parameters"]] == parameters(name)
        assert form["summary"]
    required = [p["name"] for p in forms["OneCycleLR"]["parameters"] if p["default"] is None]
    assert required == ["max_lr"]
    defaults = {p["name"]: p["default"] for p in forms["MultiStepLR"]["parameters"]}
    assert defaults["gamma"] == "0.1"
