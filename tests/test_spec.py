"""Spec strings: parse/format round trip, torch names, precise errors, and a fuzz test."""

from __future__ import annotations

import contextlib
import os
import tempfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lrlab
from lrlab.spec import SpecError, format, parse
from tests.strategies import schedules


@given(schedules())
def test_parse_format_round_trip(s: lrlab.Schedule) -> None:
    text = format(s)
    assert text == repr(s)
    assert parse(text) == s


def test_plateau_and_composites_round_trip() -> None:
    s = lrlab.join(
        [lrlab.warmup(lrlab.constant(value=0.1), steps=5), lrlab.plateau(init=0.1, mode="max")],
        at=[5],
    )
    assert parse(format(s)) == s


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("StepLR(lr=0.1, step_size=30, gamma=0.5)", lrlab.step(init=0.1, period=30, gamma=0.5)),
        (
            "CosineAnnealingWarmRestarts(lr=0.1, T_0=10, T_mult=2, eta_min=1e-5)",
            lrlab.cosine_restarts(init=0.1, period=10, mult=2, end=1e-5),
        ),
        ("CosineAnnealingLR(lr=1e-3, T_max=10)", lrlab.cosine(init=1e-3, steps=10, periodic=True)),
        (
            "MultiStepLR(lr=0.1, milestones=[80, 30])",
            lrlab.multistep(init=0.1, milestones=[30, 80]),
        ),
        (
            "ConstantLR(lr=0.3, factor=1/3, total_iters=2)",
            lrlab.piecewise_constant(boundaries=[2], lrs=[0.3 / 3, 0.3]),
        ),
        ("  cosine( init = 0.1 , steps = 10 )  ", lrlab.cosine(init=0.1, steps=10)),
        ("cosine(init=2**-3, steps=4*25)", lrlab.cosine(init=0.125, steps=100)),
        ("exponential(init=+1, gamma=(0.5))", lrlab.exponential(init=1.0, gamma=0.5)),
        (
            "join((constant(value=1), constant(value=2)), at=(3,))",
            lrlab.join([lrlab.constant(value=1.0), lrlab.constant(value=2.0)], at=[3]),
        ),
        (
            "warmup(inner=constant(value=1.0), steps=3)",
            lrlab.warmup(lrlab.constant(value=1.0), steps=3),
        ),
    ],
)
def test_parse_examples(spec: str, expected: lrlab.Schedule) -> None:
    assert parse(spec) == expected


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("cosin(init=0.1, steps=10)", "column 1: unknown schedule 'cosin'; did you mean 'cosine'?"),
        (
            "steplr(lr=0.1, step_size=3)",
            "column 1: unknown schedule 'steplr'; did you mean 'StepLR'?",
        ),
        ("zzz(a=1)", "column 1: unknown schedule 'zzz'; run `lrlab list` for the schedules"),
        (
            "cosine(init=0.1, step=10)",
            "column 18: cosine has no parameter 'step'; did you mean 'steps'? parameters: init, steps, end, periodic",
        ),
        (
            "StepLR(lr=0.1, stepsize=3)",
            "column 16: StepLR has no parameter 'stepsize'; did you mean 'step_size'? parameters: lr, step_size, gamma",
        ),
        ("cosine(init=0.1, steps=0)", "column 24: cosine: steps must be a positive int, got 0"),
        ("cosine(init=-0.1, steps=10)", "column 13: cosine: init must be >= 0, got -0.1"),
        (
            "warmup(cosine(init=0.1, steps=10), steps=0)",
            "column 42: warmup: steps must be a positive int, got 0",
        ),
        (
            "cosine(0.1, 10)",
            "column 8: cosine takes its parameters by name, like cosine(init=...); parameters: init, steps, end, periodic",
        ),
        ("cosine(init=0.1, steps=10", "column 7: not a valid spec: '(' was never closed"),
        ("", "column 1: empty spec; expected a schedule such as cosine(init=0.1, steps=100)"),
        ("1 + 2", "column 1: expected a schedule call, got '1 + 2'"),
        ("cosine(init=0.1, steps=10, steps=20)", "column 28: cosine: steps given twice"),
        ("cosine(init=1/0, steps=10)", "column 13: cannot compute '1 / 0': division by zero"),
        ("cosine(init=10**10**10, steps=1)", "column 13: power too large in '10 ** 10 ** 10'"),
        ("cosine(init=foo, steps=1)", "column 13: unknown name 'foo'; names are not values here"),
        ("cosine(**{'init': 1})", "column 10: ** is not allowed in a spec"),
    ],
)
def test_errors_give_column_and_hint(spec: str, message: str) -> None:
    with pytest.raises(SpecError) as info:
        parse(spec)
    assert str(info.value) == message
    assert isinstance(info.value, ValueError)
    assert info.value.pointer().splitlines()[1] == " " * (info.value.column - 1) + "^"


@pytest.mark.parametrize(
    "spec",
    [
        "__import__('os').system('echo pwned')",
        "os.system('ls')",
        "cosine(init=(lambda: 1)(), steps=3)",
        "cosine(init=[x for x in range(3)][0], steps=3)",
        "cosine(init=().__class__, steps=3)",
        "cosine(init={'a': 1}, steps=3)",
        "cosine(init=f'{1}', steps=3)",
        "cosine(init=1 if True else 2, steps=3)",
        "cosine(init=(x := 1), steps=3)",
        "cosine(*[0.1, 3])",
        "eval('1')",
        "cosine(init=b'1', steps=3)",
        "cosine(init=1j, steps=3)",
        "cosine(init=0.1, steps=10)[0]",
        "cosine(init=0.1, steps=10) and 1",
    ],
)
def test_code_is_never_executed(spec: str) -> None:
    with pytest.raises(SpecError):
        parse(spec)


def test_type_errors_for_non_strings() -> None:
    with pytest.raises(TypeError, match="parse: spec must be a string, got int"):
        parse(3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="format: expected a schedule, got 3"):
        format(3)  # type: ignore[arg-type]


def test_too_long_and_too_deep_specs_are_spec_errors() -> None:
    with pytest.raises(SpecError, match="longer than"):
        parse("constant(value=1)" + " " * 30_000 + "x")
    deep = "clip(" * 5000 + "constant(value=1)" + ", low=0)" * 5000
    with pytest.raises(SpecError):
        parse(deep)


VALID = [
    "cosine(init=0.1, steps=1000, end=1e-5)",
    "warmup(cosine(init=0.1, steps=900), steps=100, mode='overlay')",
    "join([linear(init=0, end=0.1, steps=5), plateau(init=0.1, factor=0.5)], at=[5])",
    "StepLR(lr=0.1, step_size=30, gamma=0.5)",
    "OneCycleLR(max_lr=0.1, total_steps=100)",
]
ALPHABET = st.sampled_from(
    list("()[]=,.'\"_ +-*/0123456789eEabcdijklmnoprstuvwxyz\\:;{}@!#\n\t\x00")
)


@st.composite
def mutated_specs(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(VALID))
    for _ in range(draw(st.integers(1, 4))):
        position = draw(st.integers(0, len(text)))
        action = draw(st.sampled_from(["insert", "delete", "replace"]))
        piece = draw(st.text(ALPHABET, min_size=1, max_size=3))
        if action == "insert":
            text = text[:position] + piece + text[position:]
        elif action == "delete":
            text = text[:position] + text[position + len(piece) :]
        else:
            text = text[:position] + piece + text[position + len(piece) :]
    return text


@given(st.one_of(st.text(max_size=80), st.text(ALPHABET, max_size=80), mutated_specs()))
def test_fuzz_parse_raises_only_spec_errors(text: str) -> None:
    try:
        result = parse(text)
    except SpecError as error:
        column = error.column
    else:
        assert isinstance(result, lrlab.Schedule)
        assert parse(format(result)) == result
        return
    assert 1 <= column <= max(len(text), 1) + 1


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("-" * 335 + "1", "column 1: spec nested too deeply"),
        ("constant(value=1000000**64)", "column 16: '1000000 ** 64' is not a finite number"),
        (
            "constant(value=1" + "0" * 400 + ")",
            "column 16: constant: value must be finite, got 10000000000000000000...0000000000 (401 digits)",
        ),
        (
            "ChainedScheduler(lr=1.0, schedulers=[])",
            "column 37: ChainedScheduler: schedulers must not be empty, got []",
        ),
        (
            "cosine(init=0.1, steps=10**17)",
            "column 24: cosine: steps must be at most 2**52, got 100000000000000000",
        ),
        (
            "ExponentialLR(lr=-1.0, gamma=0.5)",
            "column 18: ExponentialLR: lr must be >= 0, got -1.0",
        ),
        (
            "CosineAnnealingLR(lr=0.1, T_max=10, eta_min=-1)",
            "column 45: CosineAnnealingLR: eta_min must be >= 0, got -1",
        ),
        (
            "OneCycleLR(max_lr=0.1, total_steps=100, pct_start=1.5)",
            "column 51: OneCycleLR: pct_start must be >= 0 and <= 1, got 1.5",
        ),
        (
            "MultiStepLR(lr=0.1, milestones=[], gamma=5.0)",
            "column 42: MultiStepLR: gamma must be >= 0 and <= 1, got 5.0",
        ),
        (
            "ｃｏｓｉｎｅ(init=0.1, steps=0)",  # noqa: RUF001 - full-width letters on purpose
            "column 24: cosine: steps must be a positive int, got 0",
        ),
        (
            "cosine(\ninit=0.1,\nsteps=0)",
            "line 3, column 7: cosine: steps must be a positive int, got 0",
        ),
    ],
)
def test_hostile_and_torch_named_specs(spec: str, message: str) -> None:
    with pytest.raises(SpecError) as info:
        parse(spec)
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("spec", "message", "pointer"),
    [
        (
            "cosine(init=0.1,\n  steps=10 10)",
            "line 2, column 9: not a valid spec: invalid syntax. Perhaps you forgot a comma?",
            "  steps=10 10)\n        ^",
        ),
        (
            "  \n cosine(init=0.1, steps=)",
            "line 2, column 25: not a valid spec: invalid syntax",
            " cosine(init=0.1, steps=)\n                        ^",
        ),
        ("cosine", "column 1: 'cosine' needs its parameters: cosine(init=..., steps=...)", None),
        (
            "join",
            "column 1: 'join' needs its parameters: join(phases=..., at=...)",
            None,
        ),
        (
            "StepLR(lr=0.1, step_size=3, gamma=cosine)",
            "column 35: 'cosine' needs its parameters: cosine(init=..., steps=...)",
            None,
        ),
        (
            "cosine(init=0.1 // 2, steps=3)",
            "column 13: the operator '//' is not allowed in a spec; "
            "arithmetic on numbers may use + - * / ** only",
            None,
        ),
        (
            "cosine(init=not 0, steps=3)",
            "column 13: the operator 'not' is not allowed in a spec; "
            "arithmetic on numbers may use + - * / ** only",
            None,
        ),
        (
            "warmup(" * 33 + "constant(value=1)" + ", steps=1)" * 33,
            "column 225: schedules nested more than 32 deep",
            None,
        ),
    ],
)
def test_positions_and_messages_in_the_users_terms(
    spec: str, message: str, pointer: str | None
) -> None:
    with pytest.raises(SpecError) as info:
        parse(spec)
    assert str(info.value) == message
    if pointer is not None:
        assert info.value.pointer() == pointer


NAMES = st.sampled_from(
    [*lrlab.spec.constructors(), "x", "os", "__import__", "eval", "lambda", "True", "None"]
)
KEYS = st.sampled_from(["init", "steps", "end", "lr", "step_size", "inner", "at", "phases", "x"])
OPERATORS = st.sampled_from(["+", "-", "*", "/", "**", "%", "//", "@", "<<", "|", "and", "<"])


def _expressions() -> st.SearchStrategy[str]:
    """Random Python expressions: the spec grammar and much that is outside it."""
    leaves = st.one_of(
        st.integers(-(10**30), 10**30).map(str),
        st.floats(allow_nan=True, allow_infinity=True).map(repr),
        st.sampled_from(["'linear'", "'prefix'", "None", "True", "1j", "b'x'", "...", "x"]),
        NAMES,
    )

    def grow(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        call = st.tuples(
            NAMES, st.lists(inner, max_size=2), st.lists(st.tuples(KEYS, inner), max_size=4)
        ).map(lambda c: f"{c[0]}({', '.join([*c[1], *(f'{k}={v}' for k, v in c[2])])})")
        return st.one_of(
            call,
            st.lists(inner, max_size=4).map(lambda items: f"[{', '.join(items)}]"),
            st.tuples(inner, OPERATORS, inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
            st.tuples(st.sampled_from(["-", "+", "~", "not "]), inner).map("".join),
            inner.map(lambda e: f"{e}.__class__"),
            inner.map(lambda e: f"{e}[0]"),
            inner.map(lambda e: f"(lambda: {e})()"),
        )

    return st.recursive(leaves, grow, max_leaves=30)


def _outcome(text: str) -> lrlab.Schedule | SpecError:
    try:
        return parse(text)
    except SpecError as error:
        return error


@settings(max_examples=300, deadline=2000)  # a generous bound per input: nothing may hang
@given(st.one_of(_expressions(), st.text(max_size=200)))
def test_fuzz_random_expressions_raise_only_spec_errors(text: str) -> None:
    with tempfile.TemporaryDirectory() as where, contextlib.chdir(where):
        outcome = _outcome(text)
        assert os.listdir(where) == []  # reading a spec never writes
    if isinstance(outcome, SpecError):
        assert 1 <= outcome.line <= text.count("\n") + 1
        assert outcome.column >= 1
    else:
        assert parse(format(outcome)) == outcome
        assert lrlab.from_dict(outcome.to_dict()) == outcome
