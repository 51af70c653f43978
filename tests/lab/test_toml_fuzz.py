"""The experiment reader under random input: only ValueError, bounded time, never a write."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from lrlab.lab.experiment import Experiment, read_toml

KEYS = [f.name for f in dataclasses.fields(Experiment)]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(["auto", "sgd", "adamw", "digits", "mlp-bn", "constant(value={lr})"]),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
entries = st.one_of(
    st.text(max_size=40),
    st.fixed_dictionaries(
        {"spec": st.one_of(st.text(max_size=40), scalars)},
        optional={"name": values, "per": values, "other": values},
    ),
    values,
)
mappings = st.dictionaries(
    st.one_of(st.sampled_from(KEYS), st.text(max_size=10)),
    st.one_of(values, st.lists(entries, max_size=3)),
    max_size=6,
)


@settings(max_examples=150, deadline=2000)
@given(mappings)
def test_any_mapping_is_an_experiment_or_a_value_error(data: dict[str, object]) -> None:
    before = sorted(os.listdir("."))
    message = ""
    try:
        experiment = Experiment.from_mapping(data, source="fuzz")
    except ValueError as error:
        message = str(error)
    else:
        assert Experiment.from_mapping(experiment.to_dict()) == experiment
    assert sorted(os.listdir(".")) == before
    if message:  # it names where the problem is
        assert message.startswith(("fuzz: ", "experiment: ", "schedules: ", "config: "))


@settings(max_examples=200, deadline=2000)
@given(st.text(max_size=200))
def test_any_toml_text_reads_or_is_a_value_error(text: str) -> None:
    directory = Path(os.environ.get("TMPDIR", "/tmp")) / "lrlab-toml-fuzz"
    directory.mkdir(exist_ok=True)
    path = directory / "e.toml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    before = sorted(os.listdir(directory))
    message = "read"
    try:
        Experiment.from_mapping(read_toml(path), source=str(path))
    except ValueError as error:
        message = str(error)
    assert sorted(os.listdir(directory)) == before
    assert message
