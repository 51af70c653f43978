"""`lrlab tune` on a server database: two workers on one PostgreSQL study at once.

A real server (`tests.lab.postgres`) for the module; without PostgreSQL the tests skip,
unless ``LRLAB_REQUIRE_POSTGRES`` is set (as CI sets it), and then they fail.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from lrlab.lab.store import Store
from lrlab.lab.tune import SEARCH, WORKER_FILE
from tests.lab.postgres import REQUIRE, Server, Unavailable, running

TRIALS = 6
STUDY = "shared"


@pytest.fixture(scope="module")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    try:
        with running(tmp_path_factory.mktemp("postgres")) as server:
            yield server
    except Unavailable as why:
        if os.environ.get(REQUIRE):
            pytest.fail(f"{REQUIRE} is set, but PostgreSQL cannot run here: {why}")
        pytest.skip(f"PostgreSQL cannot run here ({why}); set {REQUIRE}=1 to fail instead")


def _worker(out: Path, storage: str) -> subprocess.Popen[str]:
    argv = [
        sys.executable,
        "-m",
        "lrlab",
        "tune",
        "--preset",
        "step",
        "--model",
        "mlp",
        "--epochs",
        "3",
        "--trials",
        str(TRIALS),
        "--confirm-seeds",
        "2",
        "--storage",
        storage,
        "--study",
        STUDY,
        "--quiet",
        "--out",
        str(out),
    ]
    return subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


@pytest.mark.slow
def test_two_workers_share_one_study_on_postgres(postgres: Server, tmp_path: Path) -> None:
    storage = postgres.create_database("tune_two_workers")  # fresh: no optuna tables yet
    outs = [tmp_path / "a", tmp_path / "b"]
    workers = [_worker(out, storage) for out in outs]  # at once: both create the study
    said = []
    try:
        said = [w.communicate(timeout=300) for w in workers]
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
                w.communicate()
    for out, w, (stdout, stderr) in zip(outs, workers, said, strict=True):
        assert w.returncode == 0, f"worker {out.name} exited {w.returncode}:\n{stdout}{stderr}"

    rdb = optuna.storages.RDBStorage(storage)
    try:
        trials = optuna.load_study(study_name=STUDY, storage=rdb).get_trials(deepcopy=False)
    finally:
        rdb.engine.dispose()  # close the pool's connections now, not at interpreter exit
    states = [t.state for t in trials]
    ended = [t for t in trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    summary = [(t.number, t.state.name, t.user_attrs.get("worker", "?")[:6]) for t in trials]
    assert len(ended) == TRIALS, f"{len(ended)} trials ended, not {TRIALS}: {summary}"
    assert TrialState.RUNNING not in states, summary
    # a worker that asked for a trial the other had taken meanwhile gives it up, untrained
    surplus = [t for t in trials if t.state == TrialState.FAIL]
    assert all(t.user_attrs.get("error", "").startswith("surplus") for t in surplus), summary
    assert len(surplus) <= 1, summary
    assert not any("runs" in t.user_attrs for t in surplus), summary
    assert sorted(t.number for t in trials) == list(range(len(trials)))

    ids = [(out / WORKER_FILE).read_text(encoding="utf-8").strip() for out in outs]
    assert len(set(ids)) == 2
    by = {t.number: t.user_attrs["worker"] for t in trials}
    assert set(by.values()) == set(ids), f"not both workers took part: {summary}"

    stored: list[dict[str, str]] = []
    for out in outs:
        with Store(out / SEARCH, read_only=True) as store:
            stored.append({record.id: record.status for record in store.runs()})
    runs = {t.number: list(t.user_attrs["runs"]) for t in ended}
    every = [run for numbers in runs.values() for run in numbers]
    assert len(every) == len(set(every)), f"two trials share a run: {runs}"
    for t in ended:
        mine = ids.index(by[t.number])
        for run in runs[t.number]:
            holders = [i for i, s in enumerate(stored) if run in s]
            assert holders == [mine], (
                f"trial {t.number} ({t.state.name}) of worker {outs[mine].name}: "
                f"run {run} is in the stores of {[outs[i].name for i in holders]}"
            )
            # a trial whose run diverged is complete, with the worst value
            want = ("finished", "diverged") if t.state == TrialState.COMPLETE else ("pruned",)
            assert stored[mine][run] in want, (t.number, t.state.name, run, stored[mine][run])
    for out, s in zip(outs, stored, strict=True):  # nothing trained but the trials' runs
        assert set(s) <= set(every), f"{out.name} trained runs of no trial"
