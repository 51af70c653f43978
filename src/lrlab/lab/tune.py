"""`lrlab tune`: search a schedule's parameters with Optuna, then confirm on fresh seeds.

The search (`lrlab.lab.search.Search`) runs as an Optuna study: TPE proposes the
parameters, a pruner (successive halving by default, or Hyperband) stops a trial whose
per-epoch rank metric falls behind. Every trial trains through the lab into the store in
``DIR/search`` (so ``lrlab runs`` lists it); the study lives in ``DIR/study.db`` unless
a ``storage`` URL names a server database that several ``lrlab tune`` processes share.
Then the best trial's settings and the untuned baseline train on seeds the search never
saw, and the lab's paired test says whether tuning paid (``DIR/confirm``, with its
report). ``DIR/tune.html`` shows it all.

>>> import tempfile
>>> from lrlab.lab.experiment import Experiment
>>> from lrlab.lab.search import Search
>>> search = Search.from_mapping({
...     "schedule": "step=StepLR(lr={lr}, step_size=1, gamma={gamma})",
...     "space": {"gamma": {"uniform": [0.3, 0.9]}}})
>>> e = Experiment(model="mlp", epochs=2)
>>> with tempfile.TemporaryDirectory() as out:
...     tuned = tune(e, search, out, TuneSettings(trials=2, confirm_seeds=(100, 101)))
...     len(tuned.trials), sorted(tuned.best.params), tuned.report.name
(2, ['gamma'], 'tune.html')
"""

from __future__ import annotations

import dataclasses
import math
import time
import uuid
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lrlab.lab.compare import (
    ExperimentError,
    NoSuggestion,
    Progress,
    Trainable,
    auto_lr,
    check,
    compare,
    exclusive,
    train_runs,
)
from lrlab.lab.experiment import Experiment, ScheduleEntry
from lrlab.lab.ranking import ALPHA, MIN_SEEDS, mean_std, paired_p_value, percent
from lrlab.lab.records import stable_id
from lrlab.lab.runner import Commit, Executor, InProcess, Stop
from lrlab.lab.search import Search, Value, optimizer_code, torch_code
from lrlab.lab.storage import check as storage_check
from lrlab.lab.store import FILENAME, Store
from lrlab.lab.tune_report import Confirmation, Trial, write_report

if TYPE_CHECKING:
    import optuna

STUDY_FILE = "study.db"
"""The study's SQLite file in the output directory (the default storage)."""
SEARCH = "search"
"""The output directory's store of every trial's runs."""
CONFIRM = "confirm"
"""The output directory's store (and report) of the confirmation."""
WORKER_FILE = ".lrlab-tune-worker"
"""This output directory's worker id: the trials it left running are its to resume."""
PRUNERS = ("halving", "hyperband", "none")
"""`TuneSettings.pruner`'s choices."""
FAILURES_IN_A_ROW = 3
"""Failed trials in a row after which `tune` stops (each would fail the same way)."""
SCHEMA_ATTEMPTS = 5
"""Tries at opening a server study while another worker creates Optuna's tables."""
CONFIRM_SEEDS = (1000, 1001, 1002, 1003, 1004)
Log = Callable[[str], None]


@dataclass(frozen=True, kw_only=True)
class TuneSettings:
    """How to search: the trials to finish, the seeds (search and fresh), pruning, where
    the study lives."""

    trials: int = 30
    """Trials to end (finished or pruned) in the study, over every worker."""
    search_seeds: tuple[int, ...] = (0,)
    """The seeds each trial trains (its value: the mean final rank metric)."""
    confirm_seeds: tuple[int, ...] = CONFIRM_SEEDS
    """The fresh seeds of the confirmation: none of them a search seed."""
    pruner: str = "halving"
    """``halving`` (asynchronous successive halving: one bracket, rungs at
    ``min_epochs * reduction_factor**k`` epochs), ``hyperband`` (several such brackets,
    from that one to one that prunes late) or ``none`` (every trial to its last epoch)."""
    reduction_factor: int = 2
    """Each rung keeps about 1 in this many trials (larger prunes harder)."""
    min_epochs: int | None = None
    """The first rung: no trial is pruned before it trained this many epochs; default
    a tenth of the experiment's epochs (at least 1)."""
    storage: str | None = None
    """An Optuna storage URL (e.g. ``postgresql://...``); default ``DIR/study.db``."""
    study: str | None = None
    """The study's name; default: derived from the experiment and the search."""
    sampler_seed: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.trials, bool) or not isinstance(self.trials, int) or self.trials < 1:
            raise ValueError(f"tune: trials must be a positive int, got {self.trials!r}")
        if self.pruner not in PRUNERS:
            raise ValueError(
                f"tune: pruner must be one of {', '.join(PRUNERS)}, got {self.pruner!r}"
            )
        first = self.min_epochs
        if first is not None and (
            isinstance(first, bool) or not isinstance(first, int) or first < 1
        ):
            raise ValueError(f"tune: min_epochs must be a positive int, got {first!r}")
        factor = self.reduction_factor
        if isinstance(factor, bool) or not isinstance(factor, int) or factor < 2:
            raise ValueError(f"tune: reduction_factor must be an int >= 2, got {factor!r}")
        for name in ("search_seeds", "confirm_seeds"):
            seeds = getattr(self, name)
            if not seeds or not all(isinstance(s, int) and s >= 0 for s in seeds):
                raise ValueError(f"tune: {name} must be seeds (ints >= 0), got {seeds!r}")
        if len(self.confirm_seeds) < 2:
            raise ValueError(
                f"tune: confirm_seeds must hold at least 2 seeds (a paired test), "
                f"got {self.confirm_seeds!r}"
            )
        shared = sorted(set(self.search_seeds) & set(self.confirm_seeds))
        if shared:
            raise ValueError(
                f"tune: confirm_seeds must be fresh, but seed {shared[0]} is a search seed"
            )


@dataclass(frozen=True)
class Tuned:
    """What `tune` leaves: the trials, the best one as a schedule, the confirmation."""

    study: str
    storage: str
    trials: list[Trial]
    best: Trial
    tuned: ScheduleEntry
    baseline: ScheduleEntry
    confirmation: Confirmation
    importance: dict[str, float] = field(default_factory=dict)
    search_seconds: float = 0.0
    """Wall time of this call's search (0 when the study had its trials already)."""
    find_lr: tuple[float | None, str] | None = None
    """For a search of the lr alone: the range test's suggestion and how it was found (or
    ``None`` and why there is none)."""
    report: Path = Path()

    def code_entry(self, experiment: Experiment) -> ScheduleEntry:
        """The tuned schedule with the experiment's lr where it still says ``{lr}``."""
        spec = self.tuned.spec.replace("{lr}", repr(float(experiment.lr)))
        return dataclasses.replace(self.tuned, spec=spec)


def tune(
    experiment: Experiment,
    search: Search,
    directory: str | Path,
    settings: TuneSettings | None = None,
    *,
    train: Trainable | None = None,
    executor: Executor | None = None,
    progress: Progress | None = None,
    log: Log | None = None,
    checkpoint_dir: str | None = None,
) -> Tuned:
    """Search ``search``'s space on ``experiment``, confirm the best, write the report.

    Everything is checked before anything trains (`ExperimentError`): the settings, the
    schedule at both ends of every range, the baseline, the data and model. Re-running
    continues the study; trials this directory left running (a killed process) are
    marked failed and run again with the same parameters, resuming from their last
    checkpoint; finished and pruned ones are never repeated. Trials train in this
    process (``executor`` trains the confirmation); for parallel search run several
    processes, each with its own directory, on one ``storage``. ``checkpoint_dir``: as
    `lrlab.lab.compare.compare`'s, for the trials and the confirmation.
    """
    import optuna

    settings = settings or TuneSettings()
    directory = Path(directory)
    if experiment.lr == "auto":
        raise ExperimentError("tune: lr 'auto' is not supported; give an lr (or search lr)")
    with exclusive(directory):
        try:
            checked = dataclasses.replace(
                experiment,
                schedules=(*search.corner_entries(), search.baseline),
                seeds=settings.search_seeds,
            )
            check(checked, train)
            if checkpoint_dir is not None:
                storage_check(checkpoint_dir)
        except (ValueError, TypeError, OSError, ImportError) as error:
            raise ExperimentError(str(error)) from None
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        storage = settings.storage or f"sqlite:///{(directory / STUDY_FILE).absolute()}"
        worker = _worker(directory)
        study = _study(experiment, search, settings, storage, worker)
        _resume_interrupted(study, worker)
        started = time.perf_counter()
        failed = 0  # in a row: failed trials do not count, so a broken setup would go on
        while _taken(study) < settings.trials:
            trial = study.ask()
            trial.set_user_attr("worker", worker)
            if _taken(study, before=trial.number) >= settings.trials:
                # another worker asked between our count and our ask: it has the last trial
                trial.set_user_attr("error", "surplus: the study had its trials")
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
                break
            params = {p.name: _suggest(trial, p) for p in search.space}
            _run_trial(
                study, trial, params, experiment, search, settings, directory, train, checkpoint_dir
            )
            ended = study.trials[trial.number]
            if log is not None:
                log(_line(ended, experiment.rank_metric))
            failed = failed + 1 if ended.state.name == "FAIL" else 0
            if failed == FAILURES_IN_A_ROW:
                raise ExperimentError(
                    f"tune: {failed} trials in a row failed, the last with: "
                    f"{ended.user_attrs.get('error', 'no error recorded')}"
                )
        trials = [_trial(t) for t in study.get_trials(deepcopy=False)]
        complete = [t for t in trials if t.state == "complete"]
        if not complete:
            raise ExperimentError(f"tune: no trial of study {study.study_name!r} finished")
        best = _trial(study.best_trial)
        tuned = search.fill(best.params, name="tuned")
        seconds = time.perf_counter() - started
        suggested = None if train is not None else _find_lr(experiment, settings, directory, search)
    confirmed = dataclasses.replace(
        experiment,
        name=f"{study.study_name} confirm",
        schedules=(tuned, search.baseline),
        seeds=settings.confirm_seeds,
    )
    compare(
        confirmed,
        directory / CONFIRM,
        train=train,
        executor=executor,
        progress=progress,
        checkpoint_dir=checkpoint_dir,
    )
    result = Tuned(
        study=study.study_name,
        storage=storage if settings.storage else STUDY_FILE,
        trials=trials,
        best=best,
        tuned=tuned,
        baseline=search.baseline,
        confirmation=confirmation(directory / CONFIRM, confirmed),
        importance=_importance(study),
        search_seconds=seconds,
        find_lr=suggested,
    )
    report = write_report(
        directory / "tune.html",
        study=result.study,
        metric=experiment.rank_metric,
        mode=experiment.rank_mode,
        search=search,
        trials=trials,
        best=best,
        tuned=tuned,
        code=torch_code(result.code_entry(experiment), **optimizer_code(experiment)),
        confirmation=result.confirmation,
        importance=result.importance,
        find_lr=suggested,
    )
    return dataclasses.replace(result, report=report)


def _find_lr(
    experiment: Experiment, settings: TuneSettings, directory: Path, search: Search
) -> tuple[float | None, str] | None:
    """Where the search is of the lr alone (and the built-in trainer trains), the range
    test's suggestion beside it: run once on the first search seed, kept in the search's
    store."""
    if [p.name for p in search.space] != ["lr"]:
        return None
    seeded = dataclasses.replace(
        experiment, schedules=(search.baseline,), seeds=settings.search_seeds[:1]
    )
    try:
        return auto_lr(seeded, directory / SEARCH)
    except NoSuggestion as error:
        return None, str(error)


def _study(
    experiment: Experiment, search: Search, settings: TuneSettings, storage: str, worker: str
) -> optuna.Study:
    import optuna

    key = {
        "experiment": {
            k: v for k, v in experiment.to_dict().items() if k not in ("name", "schedules")
        }
        | {"seeds": list(settings.search_seeds)},
        "search": search.to_dict(),
    }
    name = settings.study or f"tune-{stable_id(key)}"
    first = settings.min_epochs or max(1, experiment.epochs // 10)
    pruner: optuna.pruners.BasePruner = optuna.pruners.NopPruner()
    if settings.pruner == "halving":
        pruner = optuna.pruners.SuccessiveHalvingPruner(
            min_resource=first, reduction_factor=settings.reduction_factor
        )
    elif settings.pruner == "hyperband":
        pruner = optuna.pruners.HyperbandPruner(
            min_resource=first,
            max_resource=experiment.epochs,
            reduction_factor=settings.reduction_factor,
        )
    from sqlalchemy.exc import IntegrityError, ProgrammingError

    if settings.storage is None and settings.study is None:  # the directory's own study.db
        try:
            others = [n for n in optuna.get_all_study_names(storage) if n != name]
        except Exception as error:  # an unreadable study.db
            raise ExperimentError(f"tune: storage {storage!r}: {_first_line(error)}") from None
        if others:
            raise ExperimentError(
                f"tune: this --out holds another search (study {others[0]!r}, of another "
                "experiment or space); give another --out, or --study NAME to keep several"
            )
    for attempt in range(SCHEMA_ATTEMPTS):
        try:
            study = optuna.create_study(
                storage=storage,
                study_name=name,
                direction="maximize" if experiment.rank_mode == "max" else "minimize",
                pruner=pruner,
                load_if_exists=True,
            )
            break
        except (IntegrityError, ProgrammingError) as error:
            # Workers started together on a fresh database race to create Optuna's
            # tables; the loser sees "already exists" and finds them there on a retry.
            if attempt == SCHEMA_ATTEMPTS - 1:
                raise ExperimentError(f"tune: storage {storage!r}: {_first_line(error)}") from None
            time.sleep(0.2 * (attempt + 1))
        except Exception as error:  # a bad URL, an unreachable server, a missing driver
            raise ExperimentError(f"tune: storage {storage!r}: {_first_line(error)}") from None
    saved = study.user_attrs.get("lrlab")
    if saved is None:
        study.set_user_attr("lrlab", key)
    elif saved != key:
        raise ExperimentError(
            f"tune: study {name!r} in {storage!r} holds another search (its experiment or "
            "space differs); give another --study or --out"
        )
    seed = settings.sampler_seed + len(study.trials)  # a continued study draws anew
    if settings.storage is not None:  # workers that share a study draw apart
        seed += int(worker[:8], 16)
    study.sampler = optuna.samplers.TPESampler(seed=seed)
    return study


def _first_line(error: BaseException) -> str:
    """An error's first line (SQLAlchemy's add a line pointing at their docs)."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _worker(directory: Path) -> str:
    path = directory / WORKER_FILE
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    worker = uuid.uuid4().hex
    path.write_text(worker + "\n", encoding="utf-8")
    return worker


def _resume_interrupted(study: optuna.Study, worker: str) -> None:
    """This directory's trials left running: failed (never counted) and asked again with
    the same parameters (their runs resume from the store)."""
    from optuna.trial import TrialState

    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if trial.user_attrs.get("worker") == worker:
            study.tell(trial.number, state=TrialState.FAIL)
            study.enqueue_trial(trial.params, user_attrs={"resumes": trial.number})


def _taken(study: optuna.Study, *, before: int | None = None) -> int:
    """Trials ended (finished, pruned) or still running somewhere (``before``: of those
    numbered below it, the trials asked earlier)."""
    from optuna.trial import TrialState

    states = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING)
    trials = study.get_trials(deepcopy=False, states=states)
    return len(trials if before is None else [t for t in trials if t.number < before])


def _suggest(trial: optuna.Trial, param: Any) -> Value:
    if param.kind == "choice":
        return trial.suggest_categorical(param.name, list(param.values))  # type: ignore[no-any-return]
    if param.kind == "int":
        return trial.suggest_int(param.name, *param.values)
    return trial.suggest_float(param.name, *param.values, log=param.kind == "log")


def _run_trial(  # noqa: PLR0917 - one private step of tune
    study: optuna.Study,
    trial: optuna.Trial,
    params: dict[str, Value],
    experiment: Experiment,
    search: Search,
    settings: TuneSettings,
    directory: Path,
    train: Trainable | None,
    checkpoint_dir: str | None,
) -> None:
    from optuna.trial import TrialState

    entry = search.fill(params, name=f"trial {trial.number}")
    trial_experiment = dataclasses.replace(
        experiment,
        name=f"{study.study_name} trial {trial.number}",
        schedules=(entry,),
        seeds=settings.search_seeds,
    )
    runs = [config.run_id for config in trial_experiment.configs()]
    trial.set_user_attr("runs", runs)
    metric = experiment.rank_metric
    reported: set[int] = set()

    def watch(commit: Commit) -> None:
        if commit.run != runs[0]:
            return
        for epoch in commit.epochs:
            value = epoch.metrics.get(metric)
            if value is not None and math.isfinite(value) and epoch.epoch + 1 not in reported:
                reported.add(epoch.epoch + 1)
                trial.report(value, epoch.epoch + 1)
        last = commit.epochs[-1].epoch + 1 if commit.epochs else 0
        if last < experiment.epochs and trial.should_prune():
            raise Stop(f"pruned by the search after epoch {max(reported)}")

    search_dir = directory / SEARCH
    if (search_dir / FILENAME).exists():
        with Store(search_dir, read_only=True) as store:
            watch(Commit(run=runs[0], epochs=tuple(store.epochs(runs[0]))))
    ends = train_runs(
        trial_experiment,
        search_dir,
        lr=(float(experiment.lr), "given"),
        executor=InProcess(),
        train=train,
        watch=watch,
        checkpoint_dir=checkpoint_dir,
    )
    statuses = {end.status for end in ends}
    if "pruned" in statuses:
        study.tell(trial, state=TrialState.PRUNED)
    elif "failed" in statuses:
        error = next(end.error for end in ends if end.status == "failed")
        trial.set_user_attr("error", error)
        study.tell(trial, state=TrialState.FAIL)
    else:
        study.tell(trial, _value(search_dir, runs, metric, experiment.rank_mode))


def _line(trial: optuna.trial.FrozenTrial, metric: str) -> str:
    """A trial's end in one line, e.g. ``trial 3: pruned after epoch 2 (val_loss 0.31)``."""
    state = trial.state.name.lower()
    steps = trial.intermediate_values
    if state == "pruned" and steps:
        last = max(steps)
        return f"trial {trial.number}: pruned after epoch {last} ({metric} {steps[last]:.4g})"
    if state == "complete" and trial.value is not None:
        return f"trial {trial.number}: {metric} {trial.value:.4g}"
    return f"trial {trial.number}: {trial.user_attrs.get('error', state)}"


def _value(directory: Path, runs: Sequence[str], metric: str, mode: str) -> float:
    """The mean final rank metric of the runs; a diverged run counts as the worst."""
    worst = -math.inf if mode == "max" else math.inf
    values = []
    with Store(directory, read_only=True) as store:
        for record in store.runs(list(runs)):
            epochs = store.epochs(record.id)
            last = epochs[-1].metrics.get(metric) if epochs else None
            fine = record.status == "finished" and last is not None and math.isfinite(last)
            values.append(float(last) if fine and last is not None else worst)
    return float(sum(values) / len(values))


def _trial(trial: optuna.trial.FrozenTrial) -> Trial:
    intermediate = trial.intermediate_values
    value = trial.value if trial.value is not None and math.isfinite(trial.value) else None
    return Trial(
        number=trial.number,
        state=trial.state.name.lower(),
        value=value,
        params=dict(trial.params),
        curve=tuple(intermediate[k] for k in sorted(intermediate)),
        diverged=trial.value is not None and not math.isfinite(trial.value),
    )


def _importance(study: optuna.Study) -> dict[str, float]:
    """Optuna's parameter importance (fANOVA), or none with too few finished trials (or
    all of one value: nothing to attribute)."""
    import optuna
    from optuna.trial import TrialState

    values = {t.value for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))}
    if len(values) < 2:
        return {}

    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        try:
            found = optuna.importance.get_param_importances(study)
        except (RuntimeError, ValueError):
            return {}
    if any("too small" in str(w.message) for w in said):
        return {}  # optuna's fallback then: every parameter equal, which says nothing
    return {name: float(value) for name, value in found.items()}


def confirmation(directory: Path, experiment: Experiment) -> Confirmation:
    """The confirmation's paired comparison: tuned minus baseline on every fresh seed
    where both finished (a larger value is better where the rank metric is ``max``)."""
    tuned_entry, baseline_entry = experiment.schedules
    tuned, baseline, seeds = [], [], []
    with Store(directory, read_only=True) as store:
        for seed in experiment.seeds:
            pair = []
            for entry in (tuned_entry, baseline_entry):
                run = experiment.config(entry, seed).run_id
                record = store.runs([run])[0]
                epochs = store.epochs(run)
                pair.append(
                    epochs[-1].metrics.get(experiment.rank_metric)
                    if record.status == "finished" and epochs
                    else None
                )
            if pair[0] is not None and pair[1] is not None:
                tuned.append(float(pair[0]))
                baseline.append(float(pair[1]))
                seeds.append(seed)
    return _verdict(experiment.rank_metric, experiment.rank_mode, seeds, tuned, baseline)


def _verdict(
    metric: str, mode: str, seeds: list[int], tuned: list[float], baseline: list[float]
) -> Confirmation:
    """The verdict in words.

    >>> print(_verdict("val_accuracy", "max", [1, 2, 3], [0.9, 0.92, 0.91], [0.9, 0.91, 0.9])
    ...       .verdict)
    tuned is better by 0.67 ± 0.33 points (paired t-test, 3 fresh seeds, p=0.18): within seed noise
    """
    sign = 1.0 if mode == "max" else -1.0
    gaps = [sign * (a - b) for a, b in zip(tuned, baseline, strict=True)]
    mean, std = mean_std(gaps)
    p = paired_p_value(tuned, baseline) if len(gaps) >= MIN_SEEDS else None
    scale, unit = (100.0, " points") if percent(metric) else (1.0, "")
    se = std / math.sqrt(len(gaps)) if gaps else math.nan
    word = "better" if mean >= 0 else "worse"
    size = f"{abs(mean) * scale:.2f} ± {se * scale:.2f}{unit}" if gaps else ""
    if len(gaps) < MIN_SEEDS:  # as compare's ranking: too few to test
        verdict = (
            f"too few fresh seeds finished to test ({len(gaps)}; the paired test needs {MIN_SEEDS})"
        )
        if len(gaps) > 1:
            verdict = f"tuned is {word} by {size} on {len(gaps)} fresh seeds: {verdict}"
    elif not any(gaps):
        verdict = f"tuned and the baseline are identical on all {len(gaps)} fresh seeds"
    elif p is None:
        verdict = f"tuned is {word} by {size} on every seed alike: the paired test is undefined"
    else:
        test = f"(paired t-test, {len(gaps)} fresh seeds, p={p:.2g})"
        noise = "within seed noise" if p >= ALPHA else f"tuned is {word}"
        verdict = f"tuned is {word} by {size} {test}: {noise}"
    return Confirmation(
        metric=metric,
        mode=mode,
        seeds=seeds,
        tuned=tuned,
        baseline=baseline,
        gap=mean,
        gap_se=se,
        p_value=p,
        verdict=verdict,
    )
