"""The ranking: the paired test, Holm's correction, verdicts and the terminal table."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from lrlab.lab.experiment import Experiment, ScheduleEntry
from lrlab.lab.ranking import (
    Row,
    Summary,
    Verdict,
    header,
    headline,
    holm,
    paired_p_value,
    rank,
    ranking_text,
    table,
)

SEEDS = [0, 1, 2, 3]


def row(name: str, accs: list[float], **status: int) -> Row:
    """A schedule finished on every seed of ``SEEDS`` (or with the given status counts)."""
    return Row(
        schedule=name,
        seeds=SEEDS[: len(accs)] if accs else SEEDS,
        status=status or {"finished": len(accs)},
        final=accs,
    )


def summary(rows: list[Row]) -> Summary:
    entries = tuple(
        ScheduleEntry(name=r.schedule, spec=f"constant(value={i + 1}e-2)")
        for i, r in enumerate(rows)
    )
    return Summary(
        experiment=Experiment(seeds=tuple(SEEDS), schedules=entries),
        lr=0.1,
        lr_source="given",
        versions={},
        rows=rows,
        directory=Path("."),
    )


# --- the paired test -----------------------------------------------------------------------


def hand_p_value(a: list[float], b: list[float]) -> float:
    """The two-sided paired t-test written out: t = mean(d) / (sd(d) / sqrt(n)), df n - 1."""
    d = np.subtract(a, b)
    t = d.mean() / (d.std(ddof=1) / math.sqrt(d.size))
    return float(2 * stats.t.sf(abs(t), df=d.size - 1))


@given(st.lists(st.tuples(st.floats(0, 1), st.floats(0, 1)), min_size=2, max_size=8))
def test_paired_p_value_is_scipys_paired_t_test(pairs: list[tuple[float, float]]) -> None:
    a = [x for x, _ in pairs]
    b = [y for _, y in pairs]
    diff = np.subtract(a, b)
    got = paired_p_value(a, b)
    if not diff.any():
        assert got == 1.0
    elif got is None:  # the same gap on every pair, up to rounding
        assert np.std(diff, ddof=1) <= 1e-9 * np.abs(diff).max()
    else:
        assert got == pytest.approx(float(stats.ttest_rel(a, b).pvalue), rel=1e-12, abs=1e-15)
        assert got == pytest.approx(hand_p_value(a, b), rel=1e-9, abs=1e-12)


def test_paired_p_value_golden_numbers() -> None:
    a, b = [0.91, 0.92, 0.90, 0.93], [0.80, 0.82, 0.79, 0.80]
    assert paired_p_value(a, b) == pytest.approx(0.000381428718138643, rel=1e-12)
    assert paired_p_value(a, b) == pytest.approx(hand_p_value(a, b), rel=1e-12)
    assert paired_p_value([0.84, 0.86, 0.79], [0.91, 0.92, 0.90]) == pytest.approx(
        0.03457841594904429, rel=1e-12
    )


def test_paired_p_value_edges() -> None:
    assert paired_p_value([0.5], [0.4]) is None
    assert paired_p_value([], []) is None
    assert paired_p_value([0.5, 0.6], [0.4, 0.5]) is None  # the same gap twice
    assert paired_p_value([0.5, 0.6, 0.7], [0.5, 0.6, 0.7]) == 1.0
    with pytest.raises(
        ValueError, match=r"paired_p_value: a and b .* got shapes \(3,\) and \(2,\)"
    ):
        paired_p_value([0.1, 0.2, 0.3], [0.1, 0.2])


# --- Holm ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "adjusted"),
    [
        ([0.01, 0.04, 0.03], [0.03, 0.06, 0.06]),
        ([0.01, 0.02, 0.03, 0.04, 0.05], [0.05, 0.08, 0.09, 0.09, 0.09]),
        ([0.04, 0.001], [0.04, 0.002]),
        ([0.6, 0.9], [1.0, 1.0]),
        ([0.3], [0.3]),
        ([0.02, 0.02], [0.04, 0.04]),
        ([], []),
    ],
)
def test_holm_golden_values(raw: list[float], adjusted: list[float]) -> None:
    assert holm(raw) == pytest.approx(adjusted, abs=1e-15)


@given(st.lists(st.floats(0, 1), max_size=12))
def test_holm_is_the_step_down_rule(p: list[float]) -> None:
    """Checked against the definition: adj_(k) = max over j <= k of min(1, (m - j + 1) p_(j))."""
    got = holm(p)
    m = len(p)
    order = sorted(range(m), key=lambda i: p[i])
    expected = [0.0] * m
    running = 0.0
    for k, i in enumerate(order):
        running = max(running, min(1.0, (m - k) * p[i]))
        expected[i] = running
    assert got == pytest.approx(expected, abs=1e-15)
    assert all(a >= r for a, r in zip(got, p, strict=True))  # never below the raw p
    assert all(a <= 1.0 for a in got)


@pytest.mark.parametrize("bad", [[1.5], [-0.1], [math.nan], [[0.1, 0.2]]])
def test_holm_refuses_what_is_not_a_p_value(bad: list[float]) -> None:
    with pytest.raises(ValueError, match=r"holm: p_values must be numbers in \[0, 1\], got"):
        holm(bad)


# --- verdicts ------------------------------------------------------------------------------


def test_verdicts_and_order() -> None:
    ranked = rank(
        [
            row("boom", [], diverged=1, finished=3),
            row("broken", [], failed=2, finished=2),
            row("later", [], pending=1, finished=3),
            row("worse", [0.80, 0.82, 0.79, 0.81]),
            row("best", [0.91, 0.92, 0.90, 0.93]),
            row("close", [0.90, 0.93, 0.89, 0.92]),
            row("flat", [0.85, 0.86, 0.84, 0.87]),  # exactly 0.06 below "best" every seed
            row("short", [0.95, 0.94]),  # two seeds only: complete, but too few to pair
        ]
    )
    got = [(r.schedule, r.verdict, r.verdict_text) for r in ranked]
    assert got == [
        ("short", Verdict.BEST, "best"),
        ("best", Verdict.TOO_FEW_SEEDS, "2 seeds: too few to test"),
        ("close", Verdict.TOO_FEW_SEEDS, "2 seeds: too few to test"),
        ("flat", Verdict.TOO_FEW_SEEDS, "2 seeds: too few to test"),
        ("worse", Verdict.TOO_FEW_SEEDS, "2 seeds: too few to test"),
        ("boom", Verdict.DIVERGED, "diverged (1/4 seeds)"),
        ("broken", Verdict.FAILED, "failed (2/4 seeds)"),
        ("later", Verdict.UNFINISHED, "unfinished (3/4 seeds)"),
    ]
    ranked = rank([r for r in ranked if r.schedule != "short"])
    got = [(r.schedule, r.verdict) for r in ranked[:4]]
    assert got == [
        ("best", Verdict.BEST),
        ("close", Verdict.WITHIN_NOISE),
        ("flat", Verdict.UNTESTABLE),
        ("worse", Verdict.WORSE),
    ]
    flat, worse = ranked[2], ranked[3]
    assert flat.p_value is None
    assert flat.p_holm is None
    assert flat.verdict_text == "untestable: same gap every seed"
    assert worse.p_value is not None
    assert worse.p_holm is not None
    # the family is the two tested schedules (close and worse), not the untestable one
    assert worse.p_holm == pytest.approx(min(1.0, 2 * worse.p_value))
    assert ranked[0].p_value is None
    assert ranked[0].p_holm is None


def test_holm_turns_a_lone_small_p_into_seed_noise() -> None:
    ranked = rank(
        [
            row("b", [0.84, 0.86, 0.79]),
            row("a", [0.91, 0.92, 0.90]),
            row("c", [0.90, 0.90, 0.86]),
        ]
    )
    b = ranked[2]
    assert b.schedule == "b"
    assert b.p_value == pytest.approx(0.03457841594904429)
    assert b.p_holm == pytest.approx(2 * 0.03457841594904429)
    assert b.verdict is Verdict.WITHIN_NOISE  # uncorrected it would read "worse"
    alone = rank([row("b", [0.84, 0.86, 0.79]), row("a", [0.91, 0.92, 0.90])])
    assert alone[1].p_holm == alone[1].p_value
    assert alone[1].verdict is Verdict.WORSE


def test_ranking_again_gives_the_same_answer() -> None:
    rows = [row("b", [0.84, 0.86, 0.79]), row("a", [0.91, 0.92, 0.90])]
    first = [(r.schedule, r.p_value, r.p_holm, r.verdict) for r in rank(rows)]
    assert [(r.schedule, r.p_value, r.p_holm, r.verdict) for r in rank(rows)] == first


def test_no_leader_when_nothing_finished_on_every_seed() -> None:
    done = summary([row("a", [], pending=2, finished=2), row("b", [], diverged=4)])
    assert done.leader is None
    assert [r.verdict for r in done.rows] == [Verdict.UNFINISHED, Verdict.DIVERGED]
    assert headline(done) == "No schedule finished on every seed yet."
    ended = summary([row("b", [], diverged=4)])
    assert headline(ended) == "No schedule finished on every seed."


# --- the table and the headline --------------------------------------------------------------


def test_the_table_shows_both_p_values() -> None:
    done = summary(
        [
            row("b", [0.84, 0.86, 0.79]),
            row("a", [0.91, 0.92, 0.90]),
            row("c", [0.90, 0.90, 0.86]),
        ]
    )
    rows = table(done)
    assert rows[0] == header(done)
    assert rows[0][:5] == ["#", "schedule", "final val acc %", "best val acc %", "best epoch"]
    assert rows[0][-3:] == ["p", "p Holm", "vs best"]
    assert [r[1] for r in rows[1:]] == ["a", "c", "b"]
    assert rows[1][-3:] == ["-", "-", "best"]
    assert rows[2][-3:] == ["0.12", "0.12", "within seed noise"]
    assert rows[3][-3:] == ["0.03", "0.07", "within seed noise"]
    assert rows[1][2] == "91.00 ± 1.00"


def test_headline_names_the_leader_the_worse_and_the_untested() -> None:
    done = summary(
        [
            row("worse", [0.80, 0.82, 0.79, 0.81]),
            row("best", [0.91, 0.92, 0.90, 0.93]),
            row("close", [0.90, 0.93, 0.89, 0.92]),
            row("flat", [0.85, 0.86, 0.84, 0.87]),
            row("boom", [], diverged=4),
        ]
    )
    assert headline(done) == (
        "best ranks first: 91.50% ± 1.29 final validation accuracy over 4 seeds. "
        "1 schedule is worse beyond seed noise (by 11.00 points or more). "
        "Within seed noise of it: close. "
        "Not tested (the same gap on every seed): flat."
    )
    text = ranking_text(done)
    lines = text.splitlines()
    assert lines[0].split() == [
        "#", "schedule", "final", "val", "acc", "%", "best", "val", "acc", "%", "best",
        "epoch", "test", "acc", "%", "time", "s", "p", "p", "Holm", "vs", "best",
    ]  # fmt: skip
    assert set(lines[1]) == {"-", " "}
    assert lines[-1] == headline(done)
    assert "diverged (4/4 seeds)" in text


@pytest.mark.parametrize("df", [1, 2, 3, 4, 9, 49, 500])
def test_student_t_tail_is_scipys(df: int) -> None:
    from lrlab.lab.ranking import student_t_two_sided

    for t in [0.0, 0.01, 0.5, 1.0, 2.0, 3.5, 7.0, 15.0, 60.0, -2.5]:
        want = float(2 * stats.t.sf(abs(t), df))
        assert student_t_two_sided(t, df) == pytest.approx(want, rel=1e-12, abs=1e-300)


def test_reading_a_ranking_needs_no_scipy() -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from lrlab.lab.ranking import paired_p_value\n"
        "paired_p_value([0.91, 0.92, 0.90, 0.93], [0.80, 0.82, 0.79, 0.80])\n"
        "print('scipy.stats' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
