"""The process pool when a worker dies: no hang, the others go on, nothing lost or repeated."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import pytest

from lrlab.lab.config import TrainConfig
from lrlab.lab.runner import WORKER_DIED, ProcessPool, run_all
from lrlab.lab.store import Store
from lrlab.lab.train import train

pytestmark = pytest.mark.slow

KILLER = """
import multiprocessing, os, signal
import torch

def factory(n_features, n_classes):
    # in a pool worker, seed 1's runs die as the OOM killer would kill them
    if multiprocessing.parent_process() is not None and torch.initial_seed() == 1:
        os.kill(os.getpid(), signal.SIGKILL)
    return torch.nn.Linear(n_features, n_classes)
"""


def test_a_worker_that_always_dies_fails_its_run_and_the_rest_go_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "killer.py").write_text(KILLER)
    monkeypatch.syspath_prepend(str(tmp_path))
    configs = [
        TrainConfig(model="killer:factory", epochs=2, seed=seed, schedule=spec)
        for seed in (0, 1)
        for spec in ("constant(value={lr})", "cosine(init={lr}, steps={epochs})")
    ]
    ends = {e.id: e for e in run_all(str(tmp_path / "out"), configs, ProcessPool(2))}
    assert {c.seed: ends[c.run_id].status for c in configs} == {0: "finished", 1: "failed"}
    assert {ends[c.run_id].error for c in configs if c.seed == 1} == {WORKER_DIED}
    with Store(tmp_path / "out", read_only=True) as store:
        stored = {r.id: (r.status, r.error) for r in store.runs()}
    assert stored == {e.id: (e.status, e.error) for e in ends.values()}


def test_a_worker_killed_once_is_resumed_in_a_fresh_one(tmp_path: Path) -> None:
    out = tmp_path / "out"
    configs = [
        TrainConfig(model="mlp-bn", epochs=30, seed=0, schedule=spec)
        for spec in ("constant(value={lr})", "cosine(init={lr}, steps={epochs})")
    ]
    killed: list[int] = []

    def kill_one_worker() -> None:  # once a few epochs are committed, as `kill -9` would
        import multiprocessing
        import time

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not killed:
            if (out / "lrlab.sqlite").exists():
                with Store(out, read_only=True) as store:
                    done = store.epochs_done()
                children = multiprocessing.active_children()
                if done >= 3 and children:
                    os.kill(children[0].pid or 0, signal.SIGKILL)
                    killed.append(done)
            time.sleep(0.01)

    Store(out).close()
    killer = threading.Thread(target=kill_one_worker)
    killer.start()
    ends = list(run_all(str(out), configs, ProcessPool(2)))
    killer.join()
    assert killed, "the test never killed a worker"
    # every run ends (the pool does not hang); a run caught in the broken pool is tried
    # again alone, and only a second death there may fail it
    assert len(ends) == 2, ends
    assert all(e.status == "finished" or e.error == WORKER_DIED for e in ends), ends
    assert any(e.status == "finished" for e in ends), ends
    finished = {e.id for e in ends if e.status == "finished"}
    with Store(out, read_only=True) as store:
        for config in configs:
            if config.run_id not in finished:
                continue
            got = store.epochs(config.run_id)
            assert [e.epoch for e in got] == list(range(30))  # nothing lost, nothing twice
            assert [e.metrics for e in got] == [e.metrics for e in train(config).epochs]


def test_the_pool_works_with_spawn(tmp_path: Path) -> None:
    config = TrainConfig(model="mlp-bn", epochs=2)
    (end,) = run_all(str(tmp_path), [config], ProcessPool(1, start_method="spawn"))
    assert end.status == "finished"
