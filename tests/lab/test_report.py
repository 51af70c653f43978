"""The report: the summary read from a store, and the page (autoescaped, self-contained)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from lrlab.lab.experiment import Experiment, ScheduleEntry
from lrlab.lab.ranking import Row, Summary, Verdict
from lrlab.lab.records import Epoch, Member, Outcome
from lrlab.lab.report import render_html, summarise, write_report, write_summary
from lrlab.lab.store import FILENAME, Store, StoreError
from tests.web.stores import record_of

EVIL = "<script>alert(1)</script>"


def finished(name: str, accs: list[float], epochs: int = 4) -> Row:
    seeds = list(range(len(accs)))
    curve = np.linspace(0.5, 1.0, epochs)[None, :] * np.asarray(accs)[:, None]
    return Row(
        schedule=name,
        spec="constant(value={lr})",
        seeds=seeds,
        status={"finished": len(accs)},
        final=accs,
        best=accs,
        best_epoch=[epochs - 1] * len(accs),
        test_acc=accs,
        seconds=[1.5] * len(accs),
        curves={
            "train_loss": 1.1 - curve,
            "val_loss": 1.2 - curve,
            "val_accuracy": curve,
        },
        lr_epochs=np.arange(0, epochs, 0.5),
        lr_values=np.full(2 * epochs, 0.1),
    )


def summary(directory: Path) -> Summary:
    rows = [
        finished("constant", [0.90, 0.91, 0.92]),
        finished(EVIL, [0.80, 0.82, 0.79]),
        Row(schedule="boom", seeds=[0, 1, 2], status={"diverged": 3}),
    ]
    entries = (
        ScheduleEntry(name="constant", spec="constant(value={lr})"),
        ScheduleEntry(name=EVIL, spec="cosine(init={lr}, steps={steps})", per="batch"),
        ScheduleEntry(name="boom", spec="constant(value=50)"),
    )
    return Summary(
        experiment=Experiment(name="a<b", epochs=4, seeds=(0, 1, 2), schedules=entries),
        lr=0.1,
        lr_source="given",
        versions={"numpy": "2.0", "lrlab": "0.1.0"},
        rows=rows,
        directory=directory,
    )


# --- the page ------------------------------------------------------------------------------


def test_the_page_escapes_every_name_and_runs_nothing(tmp_path: Path) -> None:
    path = write_summary(summary(tmp_path))
    page = path.read_text(encoding="utf-8")
    assert path == tmp_path / "report.html"
    assert page.startswith("<!DOCTYPE html>")
    assert "<script" not in page.lower()
    assert EVIL not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # the table, the schedules...
    assert "lrlab report: a&lt;b" in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)  # nothing fetched
    assert not re.search(r"\bon[a-z]+=", page)  # no event handlers either


def test_the_page_shows_what_it_promises(tmp_path: Path) -> None:
    done = summary(tmp_path)
    page = write_summary(done).read_text(encoding="utf-8")
    assert page.count("<svg") == 2
    for name in ("lr.svg", "curves.svg"):
        svg = (tmp_path / name).read_text(encoding="utf-8")
        assert svg.startswith("<svg")
        assert svg in page  # the same figure, inline
        assert "<script" not in svg.lower()
    for needle in (
        "constant ranks first",  # the headline
        "<th>p Holm</th>",
        "adjusted with Holm's correction",  # the method note
        "paired t-test",
        "<h2>Learning rate</h2>",
        "<h2>Loss and accuracy</h2>",
        "0.1 (given)",  # configuration
        "<code>cosine(init={lr}, steps={steps})</code>",  # schedules, placeholders verbatim
        "lrlab 0.1.0, numpy 2.0",  # versions, sorted
        f"Experiment {done.experiment.id}",
        'class="best">best</td>',
        'class="worse">diverged (3/3 seeds)</td>',
    ):
        assert needle in page, needle


def test_render_html_marks_only_the_figures_safe(tmp_path: Path) -> None:
    page = render_html(summary(tmp_path), {"lr": "<svg>lr</svg>", "curves": "<svg id='c'/>"})
    assert "<svg>lr</svg>" in page
    assert "<svg id='c'/>" in page
    assert EVIL not in page


# --- from the store ------------------------------------------------------------------------


def write_store(directory: Path) -> Experiment:
    """An experiment of two schedules and three seeds, stored by hand (nothing trained)."""
    experiment = Experiment(
        epochs=3,
        seeds=(0, 1, 2),
        schedules=(
            ScheduleEntry(name="flat", spec="constant(value={lr})"),
            ScheduleEntry(name="boom", spec="constant(value=50)", per="batch"),
        ),
    )
    members = [
        Member(experiment=experiment.id, schedule=e.name, seed=s, run=f"{e.name}-{s}")
        for s in experiment.seeds
        for e in experiment.schedules
    ]
    record = record_of(experiment, lr_source="auto: steepest")
    with Store(directory) as store:
        store.add_experiment(record, [(m, {"seed": m.seed}) for m in members])
        for m in members:
            epochs = 3 if m.schedule == "flat" else 1
            for k in range(epochs):
                acc = 0.5 + 0.1 * k + 0.01 * m.seed
                metrics = {"train_loss": 1.0 - acc, "val_loss": 1.1 - acc, "val_accuracy": acc}
                store.save_epochs(
                    m.run, [Epoch(epoch=k, lr=0.05, seconds=0.25, metrics=metrics)], b""
                )
            store.finish(
                m.run,
                Outcome(
                    status="finished" if m.schedule == "flat" else "diverged",
                    steps_per_epoch=4,
                    lrs=((0, 0.05), (4, 0.05), (8, 0.04)),
                    final={"test_accuracy": 0.7 + 0.01 * m.seed},
                ),
            )
    return experiment


def test_summarise_reads_the_store_and_ranks(tmp_path: Path) -> None:
    experiment = write_store(tmp_path)
    before = (tmp_path / FILENAME).read_bytes()
    done = summarise(tmp_path)
    assert (tmp_path / FILENAME).read_bytes() == before  # a reader never writes
    assert done.experiment == experiment
    assert (done.lr, done.lr_source, done.versions) == (0.05, "auto: steepest", {"python": "3"})
    flat, boom = done.rows
    assert (flat.schedule, flat.spec, flat.per) == ("flat", "constant(value={lr})", "epoch")
    assert flat.seeds == [0, 1, 2]
    assert flat.final == pytest.approx([0.7, 0.71, 0.72])
    assert flat.best_epoch == [2, 2, 2]
    assert flat.test_acc == pytest.approx([0.7, 0.71, 0.72])
    assert flat.seconds == pytest.approx([0.75] * 3)
    assert flat.curves["val_accuracy"].shape == (3, 3)
    assert flat.lr_epochs.tolist() == [0.0, 1.0, 2.0]  # steps / steps_per_epoch
    assert flat.lr_values.tolist() == [0.05, 0.05, 0.04]
    assert flat.verdict is Verdict.BEST
    assert (boom.verdict, boom.final, boom.per) == (Verdict.DIVERGED, [], "batch")
    assert done.leader is flat
    assert summarise(tmp_path, experiment.id[:6]).experiment == experiment
    page = write_report(tmp_path).read_text(encoding="utf-8")
    assert "flat ranks first" in page
    assert "0.05 (auto: steepest)" in page


def test_summarise_says_what_is_missing(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no lrlab store"):
        summarise(tmp_path)
    Store(tmp_path).close()
    with pytest.raises(StoreError, match=r"no experiment in .*; run 'lrlab compare' first"):
        summarise(tmp_path)
    write_store(tmp_path)
    with pytest.raises(StoreError, match="no experiment with id 'nope' in the store"):
        summarise(tmp_path, "nope")


def test_a_report_with_nothing_tested_says_so(tmp_path: Path) -> None:
    from lrlab.cli import main
    from tests.web.stores import write_experiment

    write_experiment(tmp_path, seeds=2, epochs=3)  # 2 seeds: too few to test
    assert main(["report", str(tmp_path)]) == 0
    page = (tmp_path / "report.html").read_text()
    assert "No schedule was tested against the leader here" in page
    assert "Comparing 0 schedules" not in page
