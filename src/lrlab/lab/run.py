"""`Run`: the handle a training function gets, for the built-in trainer and your own.

A trainable is any function ``train(run) -> None``. The lab gives it a `Run` for one
(schedule, seed) and the function trains as it likes, with four calls:

- ``run.scheduler(optimizer, steps_per_epoch=...)``: the run's schedule as an lrlab
  drop-in (`RunScheduler`). Call its ``step()`` after every optimizer step, always: a
  schedule that steps per epoch advances once an epoch by itself, and a plateau phase is
  fed the experiment's plateau metric (default ``val_loss``) from `Run.report`.
- ``run.restore()``: None on a fresh run; after an interruption, what the last
  ``report(state=...)`` saved (the scheduler and torch's, numpy's and Python's random
  states are restored with it).
- ``for epoch in run.epochs():`` the epochs not committed yet.
- ``run.report(val_loss=..., state=...)``: ends the epoch; its metrics go to the store
  (`COMMIT_OVERHEAD`), and the state with them when a checkpoint is due
  (`CHECKPOINT_OVERHEAD`).

The handle also watches the optimizer (a step pre-hook): it samples the lr each step
really used, and warns when the loop disagrees with the schedule (a forgotten or an
extra ``scheduler.step()``, another scheduler changing the lr).

>>> import torch
>>> from lrlab.lab.config import TrainConfig
>>> from lrlab.lab.run import Run
>>> def train(run):
...     torch.manual_seed(run.seed)
...     w = torch.nn.Parameter(torch.ones(1))
...     optimizer = torch.optim.SGD([w], lr=run.lr)
...     scheduler = run.scheduler(optimizer, steps_per_epoch=4)
...     for epoch in run.epochs():
...         for _ in range(4):
...             optimizer.zero_grad()
...             (w**2).sum().backward()
...             optimizer.step()
...             scheduler.step()
...         run.report(val_loss=float(w.item() ** 2))
>>> run = Run(TrainConfig(epochs=3, schedule="StepLR(lr={lr}, step_size=1, gamma=0.5)",
...                       train="example:train"))
>>> run.execute(train).status
'finished'
>>> [round(e.lr, 3) for e in run.history]
[0.1, 0.05, 0.025]
"""

from __future__ import annotations

import io
import math
import numbers
import platform
import random
import time
import traceback
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch

from lrlab.lab.config import RESERVED_METRICS, TrainConfig, check_metric_name, schedule_for
from lrlab.lab.records import Epoch, Outcome
from lrlab.torch import ScheduleLR

LR_SAMPLES = 2000
"""At most this many (step, lr) pairs are kept per run; longer runs are sampled evenly."""
FORMAT = "lrlab-run/1"
"""The checkpoint format: ``{"format", "state" (the user's), "run" (the handle's)}``."""
MAX_WARNINGS = 5
"""A run keeps at most this many distinct warnings."""
CHECKPOINT_OVERHEAD = 0.01
"""Checkpoints take at most about this fraction of a run's training time.

The first reported state is always checkpointed; after that, a state is checkpointed once
the training since the last checkpoint took at least ``1 / CHECKPOINT_OVERHEAD`` times
as long as that checkpoint did. A resumed run trains again, from its checkpoint, the
epochs committed after it, and checks that they give the committed numbers (a warning
says where they do not): an interruption costs at most about ``1 / CHECKPOINT_OVERHEAD``
checkpoints' time, plus the epochs not committed yet."""
COMMIT_OVERHEAD = 0.01
"""Commits of epochs take at most about this fraction of a run's training time.

An epoch is committed when it is reported if the training since the last commit took at
least ``1 / COMMIT_OVERHEAD`` times as long as that commit did (epochs of a second or
more: every epoch; the tutorials' 8 ms epochs: a few at a time), always with a
checkpoint, and always before the run ends. Nothing a run reports is shown before it is
committed; an interrupted run trains its uncommitted epochs again."""

Trainable = Callable[["Run"], None]
Commit = Callable[[Sequence[Epoch], bytes | None], None]


class RunError(Exception):
    """The training function used its `Run` wrongly (the run fails, saying how)."""


class _Stop(BaseException):
    """Ends the training function at once: the run diverged (not an error)."""


class _StoreFailed(_Stop):
    """Ends the training function at once: a commit failed (every run trained with it
    stops too)."""


@dataclass(frozen=True, kw_only=True)
class Ending:
    """How `Run.execute` ended: an outcome to record, or a failure with its traceback."""

    status: Literal["finished", "diverged", "failed"]
    outcome: Outcome | None = None
    error: str | None = None
    """One line: what went wrong (failed runs)."""
    details: str | None = None
    """The traceback of an exception in the training function (failed runs)."""


class RunScheduler(ScheduleLR):
    """The run's schedule on the user's optimizer; made by `Run.scheduler`.

    ``step()`` after every optimizer step. With ``per = "batch"`` each call advances the
    schedule, but the last of each epoch waits for `Run.report` (a plateau phase needs
    the epoch's metric). With ``per = "epoch"`` the calls only count, and `Run.report`
    advances the schedule once.
    """

    def __init__(
        self, optimizer: torch.optim.Optimizer, schedule: Any, *, run: Run, steps_per_epoch: int
    ) -> None:
        self._run: Run | None = None  # the initial step (inside torch's __init__) is plain
        super().__init__(optimizer, schedule)
        self._run = run
        self._per_epoch = run.config.per == "epoch"
        self.steps_per_epoch = steps_per_epoch
        self.calls = 0
        """``step()`` calls in the current epoch."""
        self.deferred = False

    def step(self, metrics: Any = None, epoch: float | None = None) -> None:  # type: ignore[override]
        """Advance after an optimizer step (see the class); arguments are refused."""
        if self._run is None:
            super().step(metrics, epoch)
            return
        if metrics is not None or epoch is not None:
            raise RunError(
                "scheduler.step(): the lab feeds the plateau metric from run.report(); "
                "call step() without arguments"
            )
        self.calls += 1
        if self._per_epoch:
            return
        if self.calls == self.steps_per_epoch:
            self.deferred = True  # the epoch's last step: run.report() takes it
            return
        super().step()

    def end_epoch(self, metric: float | None) -> None:
        """The step at the end of an epoch (from `Run.report`)."""
        assert self._run is not None
        if self._per_epoch or self.deferred:
            if self._step_count > 1:  # torch checks the order at the first step only
                self._advance(metric)
            else:
                with warnings.catch_warnings():  # no optimizer step yet: ours says so
                    warnings.filterwarnings(
                        "ignore", "Detected call of `lr_scheduler.step", UserWarning
                    )
                    self._advance(metric)
        self.calls = 0
        self.deferred = False

    def _advance(self, metric: float | None) -> None:
        if self.metric_driven:
            super().step(metric)
        else:
            super().step()


class Cadence:
    """When reported epochs are committed, and when with a checkpoint: the writes take at
    most about ``checkpoint_overhead`` and ``commit_overhead`` of the training time (see
    `CHECKPOINT_OVERHEAD`, `COMMIT_OVERHEAD`; ``math.inf``: every epoch).

    Runs trained together in one pass share one, so they commit the same epochs: the
    first to report an epoch decides for all, and the writes of all count as its cost.

    >>> cadence = Cadence(math.inf, math.inf)
    >>> cadence.due(0, seconds=0.5)
    (True, True)
    """

    def __init__(
        self,
        checkpoint_overhead: float = CHECKPOINT_OVERHEAD,
        commit_overhead: float = COMMIT_OVERHEAD,
    ) -> None:
        self.checkpoint_overhead = checkpoint_overhead
        self.commit_overhead = commit_overhead
        self._since_checkpoint = self._since_commit = 0.0
        self._checkpoint_cost: float | None = None
        self._commit_cost: float | None = None
        self._epoch: int | None = None
        self._decision = (False, False)
        self._spent: float | None = None  # the writes of the epoch decided last
        self._checkpointed = False

    def due(self, epoch: int, seconds: float) -> tuple[bool, bool]:
        """Whether a checkpoint and whether a commit are due after ``epoch``, trained in
        ``seconds`` (counted once per epoch, by the first run to ask)."""
        if epoch == self._epoch:
            return self._decision
        if self._spent is not None:
            if self._checkpointed:
                self._checkpoint_cost, self._since_checkpoint = self._spent, 0.0
            else:
                self._commit_cost = self._spent
            self._since_commit = 0.0
        self._epoch, self._spent, self._checkpointed = epoch, None, False
        self._since_checkpoint += seconds
        self._since_commit += seconds
        self._decision = (
            _due(self._checkpoint_cost, self._since_checkpoint, self.checkpoint_overhead),
            _due(self._commit_cost, self._since_commit, self.commit_overhead),
        )
        return self._decision

    def spent(self, seconds: float, *, checkpoint: bool) -> None:
        """A run's write after the epoch decided last took ``seconds``."""
        self._spent = (self._spent or 0.0) + seconds
        self._checkpointed |= checkpoint


class Run:
    """One (schedule, seed) run, handed to a training function; see the module docs.

    ``checkpoint``: the run's latest checkpoint (resume after its epoch);
    ``history``: the epochs committed so far (default: those the checkpoint holds), the
    ones after the checkpoint are trained again and checked, never committed twice;
    ``commit(epochs, checkpoint or None)`` gets the epochs not committed yet, in order,
    with the checkpoint after the last of them when one is due, and must make both
    durable before it returns; ``required``: metrics every report must include;
    ``checkpoint_overhead``, ``commit_overhead``: see `CHECKPOINT_OVERHEAD` and
    `COMMIT_OVERHEAD` (``math.inf``: every epoch); ``cadence``: a `Cadence` shared with
    runs trained together (default: the run's own, with those overheads).
    """

    def __init__(
        self,
        config: TrainConfig,
        *,
        checkpoint: bytes | None = None,
        history: Sequence[Epoch] | None = None,
        commit: Commit | None = None,
        required: tuple[str, ...] = (),
        checkpoint_overhead: float = CHECKPOINT_OVERHEAD,
        commit_overhead: float = COMMIT_OVERHEAD,
        cadence: Cadence | None = None,
    ) -> None:
        self.config = config
        self._commit = commit
        self._required = required
        self._saved: dict[str, Any] | None = None
        if checkpoint is not None:
            saved = read_checkpoint(checkpoint)
            if saved.get("format") != FORMAT:
                saved = _legacy(saved)
            self._saved = saved
        self._scheduler: RunScheduler | None = None
        self._optimizer: torch.optim.Optimizer | None = None
        self._restored = False
        self._epoch: int | None = None
        self._reported = True
        self._started = 0.0
        self._epoch_lr = 0.0
        self._steps = 0
        self._epoch_start = 0  # the optimizer steps taken when the epoch began
        self._sample_every = 1
        self.lrs: list[tuple[int, float]] = []
        self.warnings: list[str] = []
        self.final: dict[str, float] = {}
        self.status: Literal["running", "finished", "diverged"] = "running"
        self.diverged_at: int | None = None
        self.failure: str | None = None
        self.store_error: Exception | None = None
        """A commit that failed: `execute` raises it (the run cannot be recorded)."""
        self._checked_state = False
        self._names: set[str] = set()  # metric names already checked
        self._pending: list[Epoch] = []  # reported, not committed yet
        self.cadence = cadence or Cadence(checkpoint_overhead, commit_overhead)
        """When epochs are committed and checkpointed (runs trained together share one)."""
        self.share = 1
        """How many runs train in one pass with this one: an epoch's ``seconds`` are its
        share of the pass's time."""
        covered: list[Epoch] = []
        if self._saved is not None:
            mine = self._saved["run"]
            self.lrs = [(int(s), float(v)) for s, v in mine["lrs"].tolist()]
            self.warnings = list(mine["warnings"])
            self._steps = int(mine["steps"] or 0)
            covered = _unpack_epochs(mine["epochs"])
        self._covered = len(covered)
        """Epochs the checkpoint holds: training goes on after them."""
        self.history: list[Epoch] = list(covered if history is None else history)
        """Every reported epoch, those of an earlier session (resumed) included."""
        self._resumed = len(self.history) or None
        if len(self.history) < self._covered:
            raise ValueError(
                f"the checkpoint holds {self._covered} epochs, the history {len(self.history)}"
            )

    # --- what the training function reads ---------------------------------------------

    @property
    def seed(self) -> int:
        """The run's seed: seed everything with it (``torch.manual_seed(run.seed)``)."""
        return self.config.seed

    @property
    def lr(self) -> float:
        """The run's initial lr (give it to the optimizer)."""
        return self.config.lr

    @property
    def total_epochs(self) -> int:
        """How many epochs the run has in all."""
        return self.config.epochs

    @property
    def epoch(self) -> int | None:
        """The epoch being trained (None outside ``run.epochs()``)."""
        return self._epoch

    @property
    def covered(self) -> int:
        """The epochs the checkpoint holds: training goes on after them."""
        return self._covered

    @property
    def resumed_from(self) -> int | None:
        """Epochs an earlier session committed (None: a fresh run)."""
        return self._resumed

    @property
    def id(self) -> str:
        """The run's id in the store."""
        return self.config.run_id

    # --- the four calls ---------------------------------------------------------------

    def scheduler(self, optimizer: torch.optim.Optimizer, *, steps_per_epoch: int) -> RunScheduler:
        """The run's schedule on ``optimizer`` (placeholders filled for this run).

        ``steps_per_epoch``: optimizer steps in one epoch (``len(loader)``). Call its
        ``step()`` after every optimizer step.
        """
        if self._scheduler is not None:
            raise RunError("run.scheduler() was called twice; a run has one scheduler")
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise RunError(
                f"run.scheduler(): optimizer must be a torch optimizer, got {optimizer!r}"
            )
        if (
            isinstance(steps_per_epoch, bool)
            or not isinstance(steps_per_epoch, int)
            or steps_per_epoch < 1
        ):
            raise RunError(
                f"run.scheduler(): steps_per_epoch must be an int >= 1, got {steps_per_epoch!r}"
            )
        schedule = schedule_for(self.config, steps_per_epoch)
        scheduler = RunScheduler(optimizer, schedule, run=self, steps_per_epoch=steps_per_epoch)
        self._scheduler, self._optimizer = scheduler, optimizer
        self._sample_every = max(1, self.config.epochs * steps_per_epoch // LR_SAMPLES)
        optimizer.register_step_pre_hook(self._before_step)
        if self._saved is not None and self._saved["run"]["steps"] is None:  # legacy
            self._steps = self._covered * steps_per_epoch
        if self._restored and self._saved is not None:
            self._load_scheduler(self._saved["run"])
        return scheduler

    def restore(self) -> Any:
        """What the last ``report(state=...)`` saved, or None on a fresh run.

        Also restores the run's scheduler and torch's, numpy's and Python's global random
        states as they were after that epoch.
        """
        if self._restored:
            raise RunError("run.restore() was called twice")
        self._restored = True
        if self._saved is None:
            return None
        mine = self._saved["run"]
        torch.set_rng_state(mine["torch_rng"])
        if "numpy_rng" not in mine:  # legacy: the built-in trainer's, which needs neither
            if self._scheduler is not None:
                self._load_scheduler(mine)
            return self._saved["state"]
        np.random.set_state(  # noqa: NPY002 - the user's code may use the legacy global
            (
                "MT19937",
                mine["numpy_rng"]["keys"].numpy().astype(np.uint32),
                int(mine["numpy_rng"]["pos"]),
                int(mine["numpy_rng"]["has_gauss"]),
                float(mine["numpy_rng"]["gauss"]),
            )
        )
        version, internal, gauss = mine["python_rng"]
        if isinstance(internal, torch.Tensor):
            internal = internal.tolist()
        random.setstate((int(version), tuple(int(v) for v in internal), gauss))
        if self._scheduler is not None:
            self._load_scheduler(mine)
        return self._saved["state"]

    def epochs(self) -> Iterator[int]:
        """The epochs still to train, in order; report each before the next."""
        if self._scheduler is None:
            raise RunError(
                "call run.scheduler(optimizer, steps_per_epoch=...) before run.epochs(): "
                "the lab compares schedules, so the run must use its schedule"
            )
        if self._saved is not None and not self._restored:
            raise RunError(
                "this run resumes after an interruption: call run.restore() before "
                "run.epochs() and load what it returns"
            )
        for epoch in range(self._covered, self.config.epochs):
            self._epoch, self._reported = epoch, False
            self._epoch_start = self._steps
            assert self._optimizer is not None
            # the scheduler's lr: a state saved before the epoch's last step, loaded on
            # resume, holds the lr of the step before
            for group, lr in zip(
                self._optimizer.param_groups, self._scheduler.get_last_lr(), strict=False
            ):
                group["lr"] = lr
            self._epoch_lr = float(self._optimizer.param_groups[0]["lr"])
            self._started = time.perf_counter()
            yield epoch
            if not self._reported:
                raise RunError(f"epoch {epoch} ended without run.report()")
        self._epoch = None

    def report(self, *, state: Any = None, **metrics: Any) -> None:
        """End the epoch: its metrics (numbers, any names) and, for resuming, ``state``
        (anything ``torch.save`` writes and ``torch.load(weights_only=True)`` reads:
        state dicts, tensors, numbers, strings, lists, dicts). Committed before it returns.

        A NaN or infinite rank metric or loss ends the run as diverged.
        """
        if self._epoch is None or self._reported:
            where = "outside run.epochs()" if self._epoch is None else "twice in one epoch"
            raise RunError(f"run.report() was called {where} (epoch {self._epoch})")
        values = self._metrics(metrics)
        seconds = (time.perf_counter() - self._started) / self.share
        self._reported = True
        epoch = self._epoch
        if any(
            not math.isfinite(v) and (name in self._required or "loss" in name)
            for name, v in values.items()
        ):
            self._diverge(self._steps - 1)
        assert self._scheduler is not None
        self._check_steps(epoch)
        plateau = None
        if self._scheduler.metric_driven:
            name = self.config.plateau_metric
            if name not in values:
                raise RunError(
                    f"run.report(): the schedule has a plateau phase fed by {name!r} "
                    "(plateau_metric); report it every epoch"
                )
            plateau = values[name]
        self._scheduler.end_epoch(plateau)
        checkpoint_due, commit_due = self.cadence.due(epoch, seconds)
        if epoch < len(self.history):  # trained again after resuming: committed already
            self._check_again(self.history[epoch], values)
            return
        row = Epoch(epoch=epoch, lr=self._epoch_lr, seconds=seconds, metrics=values)
        if self._commit is None:
            self.history.append(row)
            return
        checkpoint = state is not None and checkpoint_due
        start = time.perf_counter()
        data = self._checkpoint(state, row) if checkpoint else None  # may fail: nothing kept
        self.history.append(row)
        self._pending.append(row)
        if checkpoint or commit_due:
            self._send(data)
            self.cadence.spent(time.perf_counter() - start, checkpoint=checkpoint)

    def stepped(self) -> None:
        """Count an optimizer step taken without the optimizer (sampling its lr as the
        step pre-hook does): the batched engine updates every member in one step."""
        if self._optimizer is None:
            raise RunError("run.stepped(): call run.scheduler(optimizer, ...) first")
        self._before_step(self._optimizer, (), {})

    def diverge(self, step: int | None = None) -> None:
        """Stop the run now as diverged (at optimizer step ``step``, default the last)."""
        self._diverge(self._steps - 1 if step is None else step)

    def record_final(self, **metrics: float) -> None:
        """End-of-run results (e.g. a test score): stored with the run, never ranked."""
        self.final.update(self._metrics(metrics, required=False))

    # --- running a trainable ----------------------------------------------------------

    def execute(self, function: Trainable) -> Ending:
        """Call ``function(self)`` and say how the run ended; its exceptions are failures
        (with the traceback), never raised; a failed commit is raised (the store failed).
        torch runs with ``config.threads`` threads."""
        return execute_together([self], lambda runs: function(runs[0]))[0]

    def _ending(self, crash: Ending | None) -> Ending:
        """How the run ended, once its training function returned (or ``crash``ed)."""
        if self.store_error is None and self._pending:
            with suppress(_Stop):  # what was reported is committed, however the run ended
                self._send(None)
        if self.store_error is not None:
            raise self.store_error
        if crash is not None:
            return crash
        if self.failure is not None:
            return Ending(status="failed", error=self.failure)
        if self.status == "running":
            reported = len(self.history)
            if reported < self.config.epochs:
                return Ending(
                    status="failed",
                    error=(
                        f"the training function returned after {reported} of "
                        f"{self.config.epochs} epochs; report every epoch of run.epochs()"
                    ),
                )
            self.status = "finished"
        return Ending(status=self.status, outcome=self.outcome())

    def outcome(self) -> Outcome:
        """The run's end as the store records it."""
        assert self.status != "running"
        return Outcome(
            status=self.status,
            steps_per_epoch=self._scheduler.steps_per_epoch if self._scheduler else 0,
            lrs=tuple(self.lrs),
            diverged_at=self.diverged_at,
            final=dict(self.final),
            engine=self.config.engine,
            node=platform.node(),
            warnings=tuple(self.warnings),
        )

    # --- inside -----------------------------------------------------------------------

    def _fail(self, message: str) -> RunError:
        self.failure = message
        return RunError(message)

    def _diverge(self, step: int) -> None:
        self.status, self.diverged_at = "diverged", max(step, 0)
        raise _Stop

    def _metrics(self, metrics: Mapping[str, Any], *, required: bool = True) -> dict[str, float]:
        values: dict[str, float] = {}
        for name, value in metrics.items():
            if name not in self._names:
                try:
                    check_metric_name("run.report()", "a metric", name)
                except ValueError as error:
                    message = f"{error} (reserved: {', '.join(RESERVED_METRICS)})"
                    raise self._fail(message) from None
                self._names.add(name)
            values[name] = self._number(name, value)
        missing = [name for name in self._required if name not in values] if required else []
        if missing:
            raise self._fail(
                f"run.report() did not report {missing[0]!r}, which the experiment ranks by "
                f"(rank_by); it reported {sorted(values) or 'nothing'}"
            )
        return values

    def _number(self, name: str, value: Any) -> float:
        if isinstance(value, torch.Tensor) and value.numel() == 1:
            return float(value.detach().cpu().item())
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise self._fail(f"run.report(): metric {name!r} must be a number, got {value!r}")
        return float(value)

    def _before_step(self, optimizer: Any, args: Any, kwargs: Any) -> None:
        step = self._steps
        self._steps = step + 1
        groups = optimizer.param_groups
        if step % self._sample_every == 0:
            self.lrs.append((step, float(groups[0]["lr"])))
        assert self._scheduler is not None
        for group, expected in zip(groups, self._scheduler._last_lr, strict=False):
            have = group["lr"]
            if have != expected and not math.isclose(float(have), expected, rel_tol=1e-6):
                self._warn(
                    "lr",
                    f"step {step}: the optimizer's lr was {float(have):.6g} where the schedule "
                    f"set {expected:.6g} (does other code, or a second scheduler, change it?)",
                )
                break

    def _send(self, checkpoint: bytes | None) -> None:
        """Commit the pending epochs (and the checkpoint after them); a failing store
        stops the run, whatever the training function catches."""
        assert self._commit is not None
        try:
            self._commit(tuple(self._pending), checkpoint)
        except Exception as error:
            self.store_error = error
            raise _StoreFailed from None
        self._pending.clear()

    def _check_again(self, committed: Epoch, values: Mapping[str, float]) -> None:
        for name, value in values.items():
            before = committed.metrics.get(name)
            if before is not None and not (
                value == before or (math.isnan(value) and math.isnan(before))
            ):
                self._warn(
                    "resume",
                    f"epoch {committed.epoch}, trained again after resuming, gave {name} "
                    f"{value:.6g} where the first pass committed {before:.6g}: the training "
                    "is not deterministic (the run keeps the committed epochs)",
                )
                return

    def _check_steps(self, epoch: int) -> None:
        assert self._scheduler is not None
        calls, steps = self._scheduler.calls, self._steps - self._epoch_start
        if calls != steps:
            self._warn(
                "calls",
                f"epoch {epoch}: scheduler.step() was called {calls} times for {steps} "
                "optimizer steps; call it once after every optimizer step",
            )
        if steps != self._scheduler.steps_per_epoch:
            self._warn(
                "steps",
                f"epoch {epoch}: {steps} optimizer steps, but run.scheduler() was told "
                f"steps_per_epoch={self._scheduler.steps_per_epoch}",
            )

    def _warn(self, kind: str, message: str) -> None:
        if len(self.warnings) < MAX_WARNINGS and not any(
            w.startswith(f"[{kind}]") for w in self.warnings
        ):
            self.warnings.append(f"[{kind}] {message}")

    def _load_scheduler(self, mine: Mapping[str, Any]) -> None:
        assert self._scheduler is not None
        self._scheduler.load_state_dict(dict(mine["scheduler"]))

    def _checkpoint(self, state: Any, row: Epoch) -> bytes:
        assert self._scheduler is not None
        numpy_rng: tuple[Any, ...] = tuple(np.random.get_state())  # noqa: NPY002 - the user's code may use it
        python_rng = random.getstate()
        mine = {
            "scheduler": self._scheduler.state_dict(),
            "steps": self._steps,
            "lrs": torch.tensor(self.lrs, dtype=torch.float64).reshape(-1, 2),
            "warnings": list(self.warnings),
            "epochs": _pack_epochs([*self.history, row]),
            "torch_rng": torch.get_rng_state(),
            "numpy_rng": {
                "keys": torch.from_numpy(np.asarray(numpy_rng[1], dtype=np.int64)),
                "pos": int(numpy_rng[2]),
                "has_gauss": int(numpy_rng[3]),
                "gauss": float(numpy_rng[4]),
            },
            "python_rng": [
                python_rng[0],
                torch.tensor(python_rng[1], dtype=torch.int64),
                python_rng[2],
            ],
        }
        buffer = io.BytesIO()
        try:
            torch.save({"format": FORMAT, "state": state, "run": mine}, buffer)
        except Exception as error:
            raise self._fail(
                f"run.report(state=...): torch.save cannot write the state: {_one_line(error)}"
            ) from None
        data = buffer.getvalue()
        if not self._checked_state:  # once: a state that cannot come back fails now
            self._checked_state = True
            refused = torch.serialization.get_unsafe_globals_in_checkpoint(io.BytesIO(data))
            if refused:
                raise self._fail(
                    "run.report(state=...): torch.load(weights_only=True) cannot read the "
                    f"state back: it holds {', '.join(refused)}; save tensors, state dicts, "
                    "numbers, strings, lists and dicts"
                )
        return data


def execute_together(
    runs: Sequence[Run], function: Callable[[Sequence[Run]], None]
) -> list[Ending]:
    """Call ``function(runs)``, which trains them all in one pass, and say how each ended.

    Inside, wrap each run's own calls in `stopped` (a run that diverges stops alone). An
    exception from ``function`` fails every run still running, with the traceback; a
    failed commit is raised. torch runs with the first config's ``threads`` threads.
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(runs[0].config.threads)
    crash: Ending | None = None
    misuse = False
    try:
        function(runs)
    except _Stop:  # a single run's stop
        pass
    except (Exception, SystemExit) as error:  # a model may call sys.exit(): a failure
        misuse = isinstance(error, RunError)  # where the function misused a handle
        crash = Ending(
            status="failed",
            error=str(error) if misuse else _one_line(error),
            details="".join(traceback.format_exception(error)),
        )
    finally:
        torch.set_num_threads(previous)
    endings = [_ended(run, crash, misuse=misuse) for run in runs]
    for ending in endings:  # every run's pending epochs were committed first
        if isinstance(ending, Exception):
            raise ending
    return [ending for ending in endings if isinstance(ending, Ending)]


def _ended(run: Run, crash: Ending | None, *, misuse: bool) -> Ending | Exception:
    """How ``run`` ended in a pass that ended with ``crash``, or its store's error."""
    try:
        if crash is None or run.status != "running":
            return run._ending(None)
        if misuse:
            run.failure = crash.error
            return run._ending(crash)
        return run._ending(crash if run.failure is None else None)  # the handle's own stands
    except Exception as error:
        return error


def stopped(call: Callable[[], object]) -> bool:
    """Make one run's call (``report``, ``diverge``, a scheduler's ``step``) in a pass
    that trains several: True when it stopped that run (it diverged); the other runs go
    on. A failed commit stops them all (the store failed).

    >>> from lrlab.lab.config import TrainConfig
    >>> stopped(Run(TrainConfig()).diverge)
    True
    """
    try:
        call()
    except _StoreFailed:
        raise
    except _Stop:
        return True
    return False


def _legacy(saved: dict[str, Any]) -> dict[str, Any]:
    """A checkpoint of lrlab 0.x's built-in trainer (stores of schema 1 and 2) in this
    format: its run resumes instead of starting over."""
    known = {"model", "optimizer", "scheduler", "shuffle", "torch_rng", "epochs", "lrs"}
    if not known <= set(saved):
        raise ValueError(f"not a {FORMAT} checkpoint")
    epochs = [
        e
        if "metrics" in e
        else {
            "epoch": e["epoch"],
            "lr": e["lr"],
            "seconds": e["seconds"],
            "metrics": {k: v for k, v in e.items() if k not in ("epoch", "lr", "seconds")},
        }
        for e in saved["epochs"]
    ]
    state = {k: saved[k] for k in ("model", "optimizer", "shuffle")}
    state["limit"] = saved.get("limit")
    run = {
        "scheduler": saved["scheduler"],
        "steps": None,
        "lrs": saved["lrs"],
        "warnings": [],
        "epochs": epochs,
        "torch_rng": saved["torch_rng"],
    }
    return {"format": FORMAT, "state": state, "run": run}


def _due(cost: float | None, since: float, overhead: float) -> bool:
    """Whether the next write is due: never measured yet, or ``since`` (seconds of training
    since the last) is at least ``cost / overhead``."""
    return cost is None or math.isinf(overhead) or cost <= overhead * since


def _pack_epochs(epochs: Sequence[Epoch]) -> dict[str, Any]:
    """Epochs as one table (cheap to save however many there are): a row per epoch of
    epoch, lr, seconds and the metrics in ``names`` order, NaN where not ``present``."""
    names = list(dict.fromkeys(name for e in epochs for name in e.metrics))
    nan = math.nan
    values = torch.tensor(
        [[e.epoch, e.lr, e.seconds, *(e.metrics.get(n, nan) for n in names)] for e in epochs],
        dtype=torch.float64,
    ).reshape(len(epochs), 3 + len(names))
    present = torch.tensor(
        [[n in e.metrics for n in names] for e in epochs], dtype=torch.bool
    ).reshape(len(epochs), len(names))
    return {"names": names, "values": values, "present": present}


def _unpack_epochs(packed: Any) -> list[Epoch]:
    if isinstance(packed, list):  # as lrlab 0.x and the first lrlab-run/1 wrote them
        return [Epoch(**e) for e in packed]
    names = packed["names"]
    return [
        Epoch(
            epoch=int(row[0]),
            lr=row[1],
            seconds=row[2],
            metrics={n: v for n, v, here in zip(names, row[3:], flags, strict=True) if here},
        )
        for row, flags in zip(packed["values"].tolist(), packed["present"].tolist(), strict=True)
    ]


def read_checkpoint(checkpoint: bytes) -> dict[str, Any]:
    """A checkpoint's contents (raises if it is not one): tensors and plain data only."""
    state: dict[str, Any] = torch.load(
        io.BytesIO(checkpoint), weights_only=True, map_location="cpu"
    )
    return state


def _one_line(error: BaseException) -> str:
    if isinstance(error, SystemExit):
        return f"it called sys.exit({error.code!r})"
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[-1] if text else ''}".rstrip(": ")
