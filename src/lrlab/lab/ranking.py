"""The ranking: which schedule leads, and which differences are seed noise (numbers only).

Schedules are ranked by the mean over seeds of a reported metric's final value (the
experiment's ``rank_by``, smaller or larger better by its ``mode``; the built-in
trainer's default is the validation accuracy, own training's the validation loss). Each complete
schedule is compared with the leader by a two-sided *paired t-test* across seeds
(`paired_p_value`, which is `scipy.stats.ttest_rel`): the same seed gives both runs the
same data split, initial weights and batch order, so the per-seed difference isolates
the schedule. Comparing many schedules with one leader is many tests, so the p values
are adjusted with Holm's step-down correction (`holm`), and the verdict reads the
adjusted one: ``p_holm >= ALPHA`` is "within seed noise". Both p values are shown. A
schedule with a diverged, failed or unfinished seed is ranked last and named as such.

This module needs numpy and scipy only: no store, no figures, no torch.

>>> from lrlab.lab.ranking import Row, format_p, rank
>>> def row(name, accs):
...     return Row(schedule=name, seeds=[0, 1, 2], status={"finished": 3}, final=accs)
>>> ranked = rank([
...     row("b", [0.84, 0.86, 0.79]),
...     row("a", [0.91, 0.92, 0.90]),
...     row("c", [0.90, 0.90, 0.86]),
... ])
>>> for r in ranked:
...     print(r.schedule, format_p(r.p_value), format_p(r.p_holm), r.verdict_text)
a - - best
c 0.12 0.12 within seed noise
b 0.03 0.07 within seed noise

Alone, b's p = 0.035 would read "worse"; as one of two comparisons it does not.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from lrlab.lab.experiment import Experiment

ALPHA = 0.05
"""Differences with a Holm-adjusted p value at or above this are called seed noise."""
MIN_SEEDS = 3
"""Fewer paired seeds than this are not tested (a t-test on two pairs means little)."""

Array = npt.NDArray[np.float64]


class Verdict(enum.Enum):
    """How a schedule stands against the leader; `Row.verdict_text` says it in words.

    >>> Verdict.WITHIN_NOISE.value
    'within seed noise'
    """

    BEST = "best"
    """The leader: the top-ranked complete schedule."""
    WITHIN_NOISE = "within seed noise"
    """Holm-adjusted p >= `ALPHA`."""
    WORSE = "worse"
    """Holm-adjusted p < `ALPHA`."""
    UNTESTABLE = "untestable: same gap every seed"
    """The paired test is undefined: the same nonzero difference on every seed."""
    TOO_FEW_SEEDS = "too few to test"
    """Fewer than `MIN_SEEDS` seeds shared with the leader."""
    DIVERGED = "diverged"
    FAILED = "failed"
    UNFINISHED = "unfinished"


@dataclass(eq=False, kw_only=True)
class Row:
    """One schedule's results over seeds; `rank` fills in the comparison with the leader.

    >>> row = Row(schedule="cos", seeds=[0, 1], status={"finished": 1, "diverged": 1})
    >>> row.complete, row.diverged
    (False, 1)
    """

    schedule: str
    spec: str = ""
    per: str = "epoch"
    seeds: list[int] = field(default_factory=list)
    status: dict[str, int] = field(default_factory=dict)
    """How many of its runs are in each status (``finished``, ``diverged``...)."""
    final: list[float] = field(default_factory=list)
    """The rank metric's last value, per finished seed."""
    best: list[float] = field(default_factory=list)
    """The rank metric's best value over the epochs, per finished seed."""
    best_epoch: list[int] = field(default_factory=list)
    test_acc: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    curves: dict[str, Array] = field(default_factory=dict)
    """Per metric, an array (seeds x epochs) of the finished runs."""
    lr_epochs: Array = field(default_factory=lambda: np.zeros(0))
    lr_values: Array = field(default_factory=lambda: np.zeros(0))
    p_value: float | None = None
    """The paired test's p value against the leader (None: not tested)."""
    p_holm: float | None = None
    """``p_value`` after Holm's correction over every tested schedule."""
    paired: int = 0
    """How many seeds it shares with the leader."""
    verdict: Verdict | None = None
    """Set by `rank`."""

    @property
    def complete(self) -> bool:
        """Every seed finished (none diverged, failed or still to run)."""
        return bool(self.seeds) and self.status.get("finished", 0) == len(self.seeds)

    @property
    def diverged(self) -> int:
        """How many seeds diverged."""
        return self.status.get("diverged", 0)

    @property
    def verdict_text(self) -> str:
        """The verdict in words, with the counts it rests on ("" before ranking).

        >>> Row(schedule="x", seeds=[0, 1], status={"failed": 1, "finished": 1},
        ...     verdict=Verdict.FAILED).verdict_text
        'failed (1/2 seeds)'
        """
        if self.verdict is None:
            return ""
        n = len(self.seeds)
        counts = {
            Verdict.DIVERGED: self.diverged,
            Verdict.FAILED: self.status.get("failed", 0),
            Verdict.UNFINISHED: self.status.get("finished", 0),
        }
        text: str = self.verdict.value
        if self.verdict in counts:
            return f"{text} ({counts[self.verdict]}/{n} seeds)"
        if self.verdict is Verdict.TOO_FEW_SEEDS:
            return f"{_count(self.paired, 'seed')}: {text}"
        return text


@dataclass(eq=False, kw_only=True)
class Summary:
    """An experiment read back from the store; its rows are ranked when it is made."""

    experiment: Experiment
    lr: float
    lr_source: str
    versions: dict[str, str]
    rows: list[Row]
    directory: Path
    warnings: list[tuple[str, int, str]] = field(default_factory=list)
    """``(schedule, seed, text)``: what looked wrong in a run's training loop."""

    def __post_init__(self) -> None:
        self.rows = rank(self.rows, mode=self.experiment.rank_mode)

    @property
    def metric(self) -> str:
        """The metric that ranks the schedules."""
        return self.experiment.rank_metric

    @property
    def others(self) -> list[str]:
        """Up to three more reported metrics, in the order they were reported."""
        names: dict[str, None] = {}
        for row in self.rows:
            names.update(dict.fromkeys(row.curves))
        return [n for n in names if n != self.metric][:3]

    @property
    def leader(self) -> Row | None:
        """The top-ranked complete schedule, if any."""
        return self.rows[0] if self.rows and self.rows[0].complete else None


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for one value, NaN for none).

    >>> mean_std([1.0, 3.0]), mean_std([2.0])
    ((2.0, 1.4142135623730951), (2.0, 0.0))
    """
    if not values:
        return math.nan, math.nan
    std = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
    return float(np.mean(values)), std


def paired_p_value(a: Sequence[float], b: Sequence[float]) -> float | None:
    """Two-sided paired t-test p value of ``a - b``: the p value of `scipy.stats.ttest_rel`.

    It is computed here in closed form (`student_t_two_sided`), equal to scipy's to
    ~1e-12 (tested against it), so that reading a store need not import scipy.stats
    (about 1.5 s). 1.0 when the pairs are identical; None when the test is undefined: fewer than two
    pairs, or the same nonzero difference on every pair (common with few seeds and a
    small validation set).

    >>> paired_p_value([0.9, 0.8, 0.85], [0.9, 0.8, 0.85])
    1.0
    >>> round(paired_p_value([0.91, 0.92, 0.90, 0.93], [0.80, 0.82, 0.79, 0.80]), 5)
    0.00038
    >>> paired_p_value([0.5, 0.6], [0.4, 0.5]) is None  # the same gap twice
    True
    """
    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    if x.ndim != 1 or x.shape != y.shape:
        raise ValueError(
            f"paired_p_value: a and b must be 1-d and of one length, got shapes "
            f"{x.shape} and {y.shape}"
        )
    diff = x - y
    if diff.size < 2:
        return None
    if not diff.any():
        return 1.0
    spread = float(np.std(diff, ddof=1))
    if spread <= 1e-9 * float(np.abs(diff).max()):
        return None  # the same gap every time: no noise to test against
    t = float(np.mean(diff)) / (spread / math.sqrt(diff.size))
    return student_t_two_sided(t, diff.size - 1)


def student_t_two_sided(t: float, df: int) -> float:
    """``P(|T| >= |t|)`` for Student's t with ``df`` degrees of freedom.

    That is ``I_x(df / 2, 1 / 2)`` with ``x = df / (df + t**2)``, the regularized
    incomplete beta function, evaluated by its continued fraction (modified Lentz).

    >>> round(student_t_two_sided(2.0, 4), 10), student_t_two_sided(0.0, 3)
    (0.1161165235, 1.0)
    """
    if df < 1:
        raise ValueError(f"student_t_two_sided: df must be an int >= 1, got {df!r}")
    if not math.isfinite(t):
        return 0.0
    square = t * t
    return _incomplete_beta(df / 2, 0.5, df / (df + square), square / (df + square))


def _incomplete_beta(a: float, b: float, x: float, rest: float) -> float:
    """The regularized incomplete beta function ``I_x(a, b)``; ``rest`` is ``1 - x``,
    given exactly (near ``x = 1``, ``1 - x`` computed by subtraction loses digits)."""
    if x <= 0.0:
        return 0.0
    if rest <= 0.0:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log(rest)
    )
    if x > (a + 1) / (a + b + 2):  # the fraction converges fast on this side only
        return 1.0 - math.exp(log_front) * _beta_fraction(b, a, rest) / b
    return math.exp(log_front) * _beta_fraction(a, b, x) / a


def _beta_fraction(a: float, b: float, x: float) -> float:
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    value = d
    for m in range(1, 1000):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            value *= c * d
        if abs(c * d - 1.0) < 1e-15:
            break
    return value


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjustment of p values from a family of tests, in their order.

    The ``k``-th smallest of ``m`` p values is multiplied by ``m - k + 1``, then made
    non-decreasing along the sorted order, and capped at 1. Rejecting where the
    adjusted p is below ``alpha`` keeps the chance of any false "worse" below ``alpha``.

    >>> [round(p, 10) for p in holm([0.01, 0.04, 0.03])]
    [0.03, 0.06, 0.06]
    >>> holm([0.2, 0.3]), holm([0.6, 0.9]), holm([])
    ([0.4, 0.4], [1.0, 1.0], [])
    """
    p = np.asarray(p_values, dtype=np.float64)
    if p.ndim != 1 or not np.all((p >= 0) & (p <= 1)):
        raise ValueError(f"holm: p_values must be numbers in [0, 1], got {list(p_values)!r}")
    order = np.argsort(p, kind="stable")
    scaled = (p.size - np.arange(p.size)) * p[order]
    adjusted = np.empty_like(p)
    adjusted[order] = np.minimum(1.0, np.maximum.accumulate(scaled))
    return [float(v) for v in adjusted]


def rank(rows: Sequence[Row], *, mode: str = "max") -> list[Row]:
    """``rows`` best first, each with its p values and verdict against the leader.

    Complete schedules come first, by the mean of ``final`` (largest first with ``mode``
    ``"max"``, smallest with ``"min"``); the rest follow in their order. The complete
    ones with a defined paired test form the family that Holm's correction adjusts.
    """
    sign = -1.0 if mode == "max" else 1.0

    def key(row: Row) -> tuple[int, float]:
        return (0, sign * mean_std(row.final)[0]) if row.complete else (1, 0.0)

    ranked = sorted(rows, key=key)
    for row in ranked:
        row.p_value = row.p_holm = None
        row.paired = 0
        row.verdict = _incomplete(row)
    if not ranked or not ranked[0].complete:
        return ranked
    leader = ranked[0]
    leader.verdict = Verdict.BEST
    by_seed = dict(zip(leader.seeds, leader.final, strict=True))
    tested: list[tuple[Row, float]] = []
    for row in ranked[1:]:
        if row.verdict is not None:
            continue
        ours = dict(zip(row.seeds, row.final, strict=True))
        common = [s for s in leader.seeds if s in ours]
        row.paired = len(common)
        if row.paired < MIN_SEEDS:
            row.verdict = Verdict.TOO_FEW_SEEDS
            continue
        p = paired_p_value([by_seed[s] for s in common], [ours[s] for s in common])
        if p is None:
            row.verdict = Verdict.UNTESTABLE
        else:
            row.p_value = p
            tested.append((row, p))
    for (row, _), adjusted in zip(tested, holm([p for _, p in tested]), strict=True):
        row.p_holm = adjusted
        row.verdict = Verdict.WITHIN_NOISE if adjusted >= ALPHA else Verdict.WORSE
    return ranked


def _incomplete(row: Row) -> Verdict | None:
    if row.diverged:
        return Verdict.DIVERGED
    if row.status.get("failed", 0):
        return Verdict.FAILED
    return None if row.complete else Verdict.UNFINISHED


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _pct(values: Sequence[float]) -> str:
    mean, std = mean_std(values)
    return "-" if math.isnan(mean) else f"{100 * mean:.2f} ± {100 * std:.2f}"


def percent(metric: str) -> bool:
    """Whether a metric is a fraction shown in percent (an accuracy)."""
    return metric.endswith(("accuracy", "acc"))


def label(metric: str) -> str:
    """A metric's column title (``val_accuracy``: ``val acc %``)."""
    if not percent(metric):
        return metric
    return metric.replace("accuracy", "acc").replace("_", " ") + " %"


def format_mean(metric: str, values: Sequence[float]) -> str:
    """Mean ± std over seeds, in percent for an accuracy.

    >>> format_mean("val_mse", [0.0251, 0.0262]), format_mean("val_accuracy", [0.9, 0.92])
    ('0.02565 ± 0.00078', '91.00 ± 1.41')
    """
    if percent(metric):
        return _pct(values)
    mean, std = mean_std(values)
    return "-" if math.isnan(mean) else f"{mean:.4g} ± {std:.2g}"


def format_p(p: float | None) -> str:
    """A p value for a table: two decimals, three below 0.01, then ``<0.001``.

    >>> format_p(0.2149), format_p(0.0042), format_p(2e-7), format_p(None)
    ('0.21', '0.004', '<0.001', '-')
    """
    if p is None:
        return "-"
    if p >= 0.01:
        return f"{p:.2f}"
    return f"{p:.3f}" if p >= 0.001 else "<0.001"


def header(summary: Summary) -> list[str]:
    """The ranking table's columns: the rank metric's final and best value, up to three
    other metrics, the test accuracy (when there is one), the time and the test's p values
    (``p``: the paired test; ``p Holm``: after the correction)."""
    metric = label(summary.metric)
    tests = ["test acc %"] if _tests(summary) else []
    others = [f"{label(name)}" for name in summary.others]
    return [
        "#",
        "schedule",
        f"final {metric}",
        f"best {metric}",
        "best epoch",
        *others,
        *tests,
        "time s",
        "p",
        "p Holm",
        "vs best",
    ]


def _tests(summary: Summary) -> bool:
    """Whether the table has a test accuracy column (the built-in trainer's)."""
    return summary.experiment.train is None or any(r.test_acc for r in summary.rows)


def table(summary: Summary) -> list[list[str]]:
    """The ranking as rows of text, with `header` first."""
    out = [header(summary)]
    tests = _tests(summary)
    for i, row in enumerate(summary.rows, start=1):
        epoch = f"{np.mean(row.best_epoch) + 1:.1f}" if row.best_epoch else "-"
        seconds = f"{np.mean(row.seconds):.1f}" if row.seconds else "-"
        others = [
            format_mean(name, list(row.curves[name][:, -1]) if name in row.curves else [])
            for name in summary.others
        ]
        out.append(
            [
                str(i),
                row.schedule,
                format_mean(summary.metric, row.final),
                format_mean(summary.metric, row.best),
                epoch,
                *others,
                *([_pct(row.test_acc)] if tests else []),
                seconds,
                format_p(row.p_value),
                format_p(row.p_holm),
                row.verdict_text,
            ]
        )
    return out


def headline(summary: Summary) -> str:
    """One sentence: who won, by how much, and what is within noise."""
    leader = summary.leader
    if leader is None:
        pending = any(r.status.get("pending", 0) + r.status.get("running", 0) for r in summary.rows)
        return "No schedule finished on every seed" + (" yet." if pending else ".")
    metric = summary.metric
    mean, std = mean_std(leader.final)
    by = {v: [r for r in summary.rows if r.verdict is v] for v in Verdict}
    seeds = _count(len(leader.seeds), "seed")
    if metric == "val_accuracy":
        value = f"{100 * mean:.2f}% ± {100 * std:.2f} final validation accuracy"
    elif percent(metric):
        value = f"{100 * mean:.2f}% ± {100 * std:.2f} final {metric}"
    else:
        value = f"{mean:.4g} ± {std:.2g} final {metric}"
    text = f"{leader.schedule} ranks first: {value} over {seeds}."
    worse = by[Verdict.WORSE]
    if worse:
        margin = min(abs(mean - mean_std(r.final)[0]) for r in worse)
        by_how_much = f"{100 * margin:.2f} points" if percent(metric) else f"{margin:.3g}"
        text += (
            f" {len(worse)} schedule{'s are' if len(worse) != 1 else ' is'} worse beyond seed "
            f"noise (by {by_how_much} or more)."
        )
    if by[Verdict.WITHIN_NOISE]:
        text += f" Within seed noise of it: {_names(by[Verdict.WITHIN_NOISE])}."
    if by[Verdict.TOO_FEW_SEEDS]:
        text += f" Not tested (fewer than {MIN_SEEDS} seeds): {_names(by[Verdict.TOO_FEW_SEEDS])}."
    if by[Verdict.UNTESTABLE]:
        text += f" Not tested (the same gap on every seed): {_names(by[Verdict.UNTESTABLE])}."
    return text


def _names(rows: Sequence[Row]) -> str:
    return ", ".join(r.schedule for r in rows)


def ranking_text(summary: Summary) -> str:
    """The ranking as an aligned plain-text table, with the headline under it."""
    rows = table(summary)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join([*lines, "", headline(summary)])
