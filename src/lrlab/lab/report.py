"""The comparison's answer, from the store alone: a ranking, curves and a static HTML page.

`summarise` reads an experiment back from the store; `ranking_text` is the terminal
table; `write_report` writes ``report.html`` (inline SVG figures, no scripts, nothing
fetched) plus the figures as ``.svg`` files next to it.

**How the ranking decides what is noise.** Schedules are ranked by mean final validation
accuracy over seeds. Each is compared with the leader by a two-sided *paired t-test*
across seeds: the same seed gives both runs the same data split, initial weights and
batch order, so the per-seed difference isolates the schedule. ``p >= 0.05`` reads
"within seed noise". With few seeds the test only detects large, consistent differences;
there is no correction for comparing many schedules with the leader, so read a lone
``p`` just under 0.05 with care. A schedule with a diverged seed is ranked last.
"""

from __future__ import annotations

import html
import io
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from lrlab.lab.experiment import Experiment
from lrlab.lab.store import Store, StoreError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

ALPHA = 0.05
"""Differences with a paired-test p-value at or above this are called seed noise."""
MIN_SEEDS = 3
"""Fewer paired seeds than this are not tested (a t-test on two pairs means little)."""

Array = npt.NDArray[np.float64]


@dataclass
class Row:
    """One schedule's results over seeds."""

    schedule: str
    spec: str
    per: str
    seeds: list[int]
    status: dict[str, int]
    final_acc: list[float] = field(default_factory=list)
    best_acc: list[float] = field(default_factory=list)
    best_epoch: list[int] = field(default_factory=list)
    final_val_loss: list[float] = field(default_factory=list)
    test_acc: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    p_value: float | None = None
    verdict: str = ""
    curves: dict[str, Array] = field(default_factory=dict)
    """Per metric, an array (seeds x epochs) of the finished runs."""
    lr_epochs: Array = field(default_factory=lambda: np.zeros(0))
    lr_values: Array = field(default_factory=lambda: np.zeros(0))

    @property
    def complete(self) -> bool:
        """Every seed finished (none diverged, failed or still to run)."""
        return self.status.get("finished", 0) == len(self.seeds)

    @property
    def diverged(self) -> int:
        """How many seeds diverged."""
        return self.status.get("diverged", 0)


@dataclass
class Summary:
    """An experiment read back from the store, ranked."""

    experiment: Experiment
    lr: float
    lr_source: str
    versions: dict[str, str]
    rows: list[Row]
    directory: Path

    @property
    def leader(self) -> Row | None:
        """The top-ranked complete schedule, if any."""
        return self.rows[0] if self.rows and self.rows[0].complete else None


def _mean_std(values: list[float]) -> tuple[float, float]:
    if not values:
        return math.nan, math.nan
    std = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
    return float(np.mean(values)), std


def paired_p_value(a: list[float], b: list[float]) -> float | None:
    """Two-sided paired t-test p-value of ``a - b``.

    None when it is undefined: fewer than two pairs, or the same nonzero difference on
    every pair (common with few seeds and a small validation set).

    >>> paired_p_value([0.9, 0.8, 0.85], [0.9, 0.8, 0.85])
    1.0
    >>> round(paired_p_value([0.91, 0.92, 0.90, 0.93], [0.80, 0.82, 0.79, 0.80]), 5)
    0.00038
    """
    diff = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    if diff.size < 2:
        return None
    spread = float(np.std(diff, ddof=1))
    mean = float(np.mean(diff))
    if not diff.any():
        return 1.0
    if spread <= 1e-9 * float(np.abs(diff).max()):  # the same gap every time: no noise to test
        return None
    from scipy import stats

    t = mean / (spread / math.sqrt(diff.size))
    return float(2 * stats.t.sf(abs(t), df=diff.size - 1))


def summarise(directory: str | Path, experiment_id: str | None = None) -> Summary:
    """Read an experiment (default: the most recently run) back from the store and rank it."""
    store = Store(directory, create=False)
    try:
        experiments = store.experiments()
        if not experiments:
            raise StoreError(f"no experiment in {str(directory)!r}; run 'lrlab compare' first")
        chosen = experiments[0]
        if experiment_id is not None:
            matches = [e for e in experiments if e["id"].startswith(experiment_id)]
            if len(matches) != 1:
                raise StoreError(f"no single experiment with id {experiment_id!r} in the store")
            chosen = matches[0]
        experiment = Experiment.from_mapping(chosen["config"])
        runs = {r["id"]: r for r in store.runs()}
        entries = {e.name: e for e in experiment.schedules}
        rows: dict[str, Row] = {}
        for schedule, seed, run_id in store.members(chosen["id"]):
            entry = entries[schedule]
            row = rows.setdefault(
                schedule,
                Row(schedule=schedule, spec=entry.spec, per=entry.per, seeds=[], status={}),
            )
            _add_run(row, store, runs[run_id], seed)
        summary = Summary(
            experiment=experiment,
            lr=float(chosen["lr"]),
            lr_source=str(chosen["lr_source"]),
            versions=dict(chosen["versions"]),
            rows=list(rows.values()),
            directory=Path(directory),
        )
    finally:
        store.close()
    _rank(summary.rows)
    return summary


def _add_run(row: Row, store: Store, run: dict[str, Any], seed: int) -> None:
    row.seeds.append(seed)
    row.status[run["status"]] = row.status.get(run["status"], 0) + 1
    if row.lr_epochs.size == 0 and run["steps_per_epoch"]:
        lrs = store.lrs(run["id"])
        per_epoch = float(run["steps_per_epoch"])
        row.lr_epochs = np.array([s for s, _ in lrs], dtype=np.float64) / per_epoch
        row.lr_values = np.array([v for _, v in lrs], dtype=np.float64)
    if run["status"] != "finished":
        return
    epochs = store.epochs(run["id"])
    acc = [e.val_accuracy for e in epochs]
    best = int(np.argmax(acc))
    row.final_acc.append(acc[-1])
    row.best_acc.append(acc[best])
    row.best_epoch.append(best)
    row.final_val_loss.append(epochs[-1].val_loss)
    row.test_acc.append(float(run["test_accuracy"]))
    row.seconds.append(float(run["seconds"] or 0.0))
    for name in ("train_loss", "val_loss", "val_accuracy"):
        line = np.array([getattr(e, name) for e in epochs], dtype=np.float64)
        old = row.curves.get(name)
        row.curves[name] = line[None, :] if old is None else np.vstack([old, line])


def _rank(rows: list[Row]) -> None:
    def key(row: Row) -> tuple[int, float]:
        mean = _mean_std(row.final_acc)[0] if row.complete else -math.inf
        return (0 if row.complete else 1, -mean)

    rows.sort(key=key)
    if not rows or not rows[0].complete:
        for row in rows:
            row.verdict = _incomplete(row) or "no complete schedule to compare with"
        return
    leader = rows[0]
    leader.verdict = "best"
    by_seed = dict(zip(leader.seeds, leader.final_acc, strict=True))
    for row in rows[1:]:
        reason = _incomplete(row)
        if reason:
            row.verdict = reason
            continue
        ours = dict(zip(row.seeds, row.final_acc, strict=True))
        common = sorted(set(ours) & set(by_seed))
        if len(common) < MIN_SEEDS:
            row.verdict = f"{len(common)} seed{'s' if len(common) != 1 else ''}: too few to test"
            continue
        row.p_value = paired_p_value([by_seed[s] for s in common], [ours[s] for s in common])
        if row.p_value is None:
            row.verdict = "untestable: same gap every seed"
        elif row.p_value >= ALPHA:
            row.verdict = f"within seed noise (p={row.p_value:.2f})"
        else:
            row.verdict = f"worse (p={row.p_value:.3f})"


def _incomplete(row: Row) -> str:
    if row.diverged:
        return f"diverged ({row.diverged}/{len(row.seeds)} seeds)"
    failed = row.status.get("failed", 0)
    if failed:
        return f"failed ({failed}/{len(row.seeds)} seeds)"
    if not row.complete:
        return f"unfinished ({row.status.get('finished', 0)}/{len(row.seeds)} seeds)"
    return ""


def _pct(values: list[float]) -> str:
    mean, std = _mean_std(values)
    return "-" if math.isnan(mean) else f"{100 * mean:.2f} ± {100 * std:.2f}"


def table(summary: Summary) -> list[list[str]]:
    """The ranking as rows of text, with a header row."""
    out = [
        [
            "#",
            "schedule",
            "final val acc %",
            "best val acc %",
            "best epoch",
            "test acc %",
            "time s",
            "vs best",
        ]
    ]
    for i, row in enumerate(summary.rows, start=1):
        epoch = f"{np.mean(row.best_epoch) + 1:.1f}" if row.best_epoch else "-"
        seconds = f"{np.mean(row.seconds):.1f}" if row.seconds else "-"
        out.append(
            [
                str(i),
                row.schedule,
                _pct(row.final_acc),
                _pct(row.best_acc),
                epoch,
                _pct(row.test_acc),
                seconds,
                row.verdict,
            ]
        )
    return out


def headline(summary: Summary) -> str:
    """One sentence: who won, by how much, and what is within noise."""
    leader = summary.leader
    if leader is None:
        pending = any(r.status.get("pending", 0) + r.status.get("running", 0) for r in summary.rows)
        return "No schedule finished on every seed" + (" yet." if pending else ".")
    mean, std = _mean_std(leader.final_acc)
    tied = [r.schedule for r in summary.rows[1:] if r.p_value is not None and r.p_value >= ALPHA]
    worse = [r for r in summary.rows[1:] if r.p_value is not None and r.p_value < ALPHA]
    n = len(leader.seeds)
    text = (
        f"{leader.schedule} ranks first: {100 * mean:.2f}% ± {100 * std:.2f} final validation "
        f"accuracy over {n} seed{'s' if n != 1 else ''}."
    )
    if worse:
        margin = min(mean - _mean_std(r.final_acc)[0] for r in worse)
        text += (
            f" {len(worse)} schedule{'s are' if len(worse) != 1 else ' is'} worse beyond seed "
            f"noise (by {100 * margin:.2f} points or more)."
        )
    if tied:
        text += f" Within seed noise of it: {', '.join(tied)}."
    untested = [r.schedule for r in summary.rows[1:] if r.complete and r.p_value is None]
    if untested:
        text += f" Not tested ({untested_reason(summary)}): {', '.join(untested)}."
    return text


def untested_reason(summary: Summary) -> str:
    """Why some complete schedules have no p-value."""
    if len(summary.experiment.seeds) < MIN_SEEDS:
        return f"fewer than {MIN_SEEDS} seeds"
    return "the same gap on every seed"


def ranking_text(summary: Summary) -> str:
    """The ranking as an aligned plain-text table, with the headline under it."""
    rows = table(summary)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join([*lines, "", headline(summary)])


# --- figures -------------------------------------------------------------------------------


def _colors(n: int) -> list[str]:
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    cmap = colormaps["tab10" if n <= 10 else "tab20"]
    return [to_hex(cmap(i % cmap.N)) for i in range(n)]


def _label(name: str) -> str:
    """A schedule name as matplotlib shows it verbatim (no math text, not hidden)."""
    text = name.replace("$", r"\$")
    return "\u200b" + text if text.startswith("_") else text


def _svg(figure: Figure) -> str:
    from matplotlib import rc_context

    buffer = io.StringIO()
    with rc_context({"svg.fonttype": "none"}):  # text stays text: smaller and 3x faster
        figure.savefig(buffer, format="svg")
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def lr_figure(summary: Summary) -> Figure:
    """Every schedule's learning rate against epochs (small multiples, first seed)."""
    from matplotlib.figure import Figure

    rows = sorted(
        summary.rows, key=lambda r: [e.name for e in summary.experiment.schedules].index(r.schedule)
    )
    columns = min(5, len(rows))
    lines = math.ceil(len(rows) / columns)
    figure = Figure(figsize=(2.6 * columns, 1.9 * lines))
    figure.subplots_adjust(left=0.06, right=0.99, bottom=0.12, top=0.92, wspace=0.3, hspace=0.4)
    axes = figure.subplots(lines, columns, squeeze=False, sharex=True)
    for ax, row, color in zip(axes.flat, rows, _colors(len(rows)), strict=False):
        ax.plot(row.lr_epochs, row.lr_values, color=color, linewidth=1.2, drawstyle="steps-post")
        ax.set_title(_label(row.schedule), fontsize=9)
        ax.tick_params(labelsize=7)
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(rows) :]:
        ax.set_visible(False)
    figure.supxlabel("epoch", fontsize=9)
    figure.supylabel("learning rate", fontsize=9)
    return figure


def curves_figure(summary: Summary) -> Figure:
    """Train loss, validation loss and validation accuracy: mean over seeds, min-max band."""
    from matplotlib.figure import Figure

    order = [e.name for e in summary.experiment.schedules]
    rows = sorted(summary.rows, key=lambda r: order.index(r.schedule))
    figure = Figure(figsize=(15, 4.2))
    figure.subplots_adjust(left=0.04, right=0.99, bottom=0.13, top=0.93, wspace=0.18)
    axes = figure.subplots(1, 3)
    panels = [
        ("train_loss", "train loss", True),
        ("val_loss", "validation loss", True),
        ("val_accuracy", "validation accuracy", False),
    ]
    for ax, (key, title, log) in zip(axes, panels, strict=True):
        for row, color in zip(rows, _colors(len(rows)), strict=True):
            data = row.curves.get(key)
            if data is None:
                continue
            x = np.arange(1, data.shape[1] + 1)
            ax.plot(x, data.mean(axis=0), color=color, linewidth=1.3, label=_label(row.schedule))
            ax.fill_between(x, data.min(axis=0), data.max(axis=0), color=color, alpha=0.12)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("epoch", fontsize=9)
        if log:
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
    if summary.experiment.epochs > 4:
        low = min(
            (
                float(r.curves["val_accuracy"][:, -1].min())
                for r in rows
                if "val_accuracy" in r.curves
            ),
            default=0.0,
        )
        axes[2].set_ylim(max(0.0, low - 0.05), 1.0)
    axes[2].legend(fontsize=7, loc="lower right")
    return figure


# --- HTML ----------------------------------------------------------------------------------

_STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1200px;padding:0 1em;color:#222}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:1.8em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:13px}td,th{padding:3px 9px;text-align:left}
th{background:#f3f3f3}tr:nth-child(even) td{background:#fafafa}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.lead{font-size:1.1em;background:#eef6ee;padding:.6em .9em;border-left:4px solid #4a4}
.noise,.other{color:#666}.worse{color:#a33}.best{color:#262;font-weight:600}
code,pre{font-size:12px;background:#f6f6f6}pre{padding:.6em;overflow-x:auto}
svg{max-width:100%;height:auto}
"""


def _cls(verdict: str) -> str:
    if verdict == "best":
        return "best"
    if verdict.startswith("within"):
        return "noise"
    return "worse" if verdict.startswith(("worse", "diverged", "failed")) else "other"


def render_html(summary: Summary, figures: dict[str, str]) -> str:
    """The report page (figures are inline SVG strings)."""
    e = summary.experiment
    esc = html.escape
    rows = table(summary)
    head = "".join(f"<th>{esc(c)}</th>" for c in rows[0])
    body = []
    for cells in rows[1:]:
        tds = [f"<td class='num'>{esc(c)}</td>" for c in cells[:-1]]
        tds[1] = f"<td>{esc(cells[1])}</td>"
        tds.append(f"<td class='{_cls(cells[-1])}'>{esc(cells[-1])}</td>")
        body.append("<tr>" + "".join(tds) + "</tr>")
    settings = [
        ("dataset", e.dataset),
        ("model", e.model),
        ("optimizer", e.optimizer),
        ("learning rate", f"{summary.lr:g} ({summary.lr_source})"),
        ("momentum", f"{e.momentum:g}" if e.optimizer == "sgd" else "-"),
        ("weight decay", f"{e.weight_decay:g}"),
        ("epochs", str(e.epochs)),
        ("batch size", str(e.batch_size)),
        ("seeds", ", ".join(map(str, e.seeds))),
    ]
    setting_rows = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in settings)
    spec_rows = "".join(
        f"<tr><td>{esc(s.name)}</td><td><code>{esc(s.spec)}</code></td><td>{esc(s.per)}</td></tr>"
        for s in e.schedules
    )
    versions = ", ".join(f"{esc(k)} {esc(v)}" for k, v in sorted(summary.versions.items()))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>lrlab report: {esc(e.name)}</title><style>{_STYLE}</style></head><body>
<h1>lrlab report: {esc(e.name)}</h1>
<p>{esc(e.model)} on {esc(e.dataset)}, {esc(e.optimizer)} at lr {summary.lr:g},
{e.epochs} epochs, {len(e.schedules)} schedules &times; {len(e.seeds)} seeds.</p>
<p class="lead">{esc(headline(summary))}</p>
<h2>Ranking</h2>
<table><tr>{head}</tr>{"".join(body)}</table>
<p class="noise">Ranked by mean final validation accuracy (± is the standard deviation over
seeds). "vs best": a two-sided paired t-test across seeds against the leader (same seed =
same split, initial weights and batch order); p &ge; {ALPHA} is called seed noise. No
correction for the number of schedules compared; with few seeds only large, consistent
differences show. Test accuracy is reported, never used to rank.</p>
<h2>Learning rate</h2>{figures["lr"]}
<h2>Loss and accuracy</h2>
<p class="noise">Lines: mean over seeds; bands: min to max over seeds.</p>{figures["curves"]}
<h2>Configuration</h2>
<table>{setting_rows}</table>
<h3>Schedules</h3>
<p class="noise">Placeholders are filled per run: {{lr}}, {{epochs}}, {{steps}} (scheduler
steps in the run), {{steps_per_epoch}}.</p>
<table><tr><th>name</th><th>spec</th><th>steps per</th></tr>{spec_rows}</table>
<h2>Versions</h2><p>{versions}</p>
<p class="noise">Experiment {esc(e.id)}; store {esc(str(summary.directory))}.</p>
</body></html>
"""


def write_report(directory: str | Path, experiment_id: str | None = None) -> Path:
    """Write ``report.html`` (and its figures as .svg) into ``directory``; returns its path."""
    return write_summary(summarise(directory, experiment_id))


def write_summary(summary: Summary) -> Path:
    """Write an already-read summary's report into its directory; returns its path."""
    figures = {"lr": _svg(lr_figure(summary)), "curves": _svg(curves_figure(summary))}
    for name, svg in figures.items():
        (summary.directory / f"{name}.svg").write_text(svg, encoding="utf-8")
    path = summary.directory / "report.html"
    path.write_text(render_html(summary, figures), encoding="utf-8")
    return path
