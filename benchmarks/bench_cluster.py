"""The lab on local Ray against the process pool, and what checkpoint traffic costs.

1. The default experiment (CNN on digits, 10 schedules x 5 seeds, 20 epochs) with
   ``--jobs 2`` on a local Ray instance against the process pool, interleaved, best of
   ``--repeats``; target <= 1.15. Ray's start-up (``ray.init`` and the first task's
   worker) is timed apart: each timed comparison reuses one running instance, as a
   cluster would be running.
2. Checkpoint traffic: a Ray task streams checkpoints of 1 MB to ``--max-mb`` to the
   driver, which commits each to a store (`Store.save_epochs`, the real path); against
   writing them to a ``--checkpoint-dir`` path and streaming only the reference.

Run: ``.venv/bin/python benchmarks/bench_cluster.py [--repeats 2] [--skip-compare]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Iterator

import ray

from lrlab.lab import storage
from lrlab.lab.cluster import RayExecutor
from lrlab.lab.compare import compare
from lrlab.lab.experiment import Experiment
from lrlab.lab.records import CheckpointRef, Epoch
from lrlab.lab.runner import ProcessPool
from lrlab.lab.store import Store


def compare_both(repeats: int) -> None:
    experiment = Experiment()
    start = time.perf_counter()
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    warm = ray.remote(lambda: None)
    ray.get([warm.remote() for _ in range(2)])
    startup = time.perf_counter() - start
    on_ray, pooled = [], []
    try:
        for _ in range(repeats):
            for executor, times in ((RayExecutor(2), on_ray), (ProcessPool(2), pooled)):
                with tempfile.TemporaryDirectory() as out:
                    start = time.perf_counter()
                    compare(experiment, out, executor=executor)
                    times.append(time.perf_counter() - start)
    finally:
        ray.shutdown()
    runs = len(experiment.configs())
    print(f"default experiment: {runs} runs x {experiment.epochs} epochs, --jobs 2")
    print(f"  process pool {min(pooled):.2f} s, local Ray {min(on_ray):.2f} s (best of {repeats})")
    print(f"  ratio ray/pool {min(on_ray) / min(pooled):.3f} (target <= 1.15)")
    print(f"  Ray start-up apart: {startup:.2f} s (ray.init and two workers)")


def _checkpoints(size: int, count: int, where: str | None) -> Iterator[object]:
    data = bytes(size)
    for epoch in range(count):
        if where is None:
            yield data
        else:
            yield storage.put(where, "r", epoch, data)


def traffic(max_mb: int, count: int) -> None:
    ray.init(address="local", num_cpus=1, include_dashboard=False, log_to_driver=False)
    stream = ray.remote(num_returns="streaming")(_checkpoints)
    print(f"\ncheckpoint traffic ({count} checkpoints per size, driver commit included)")
    print("  size MB   streamed s/ckpt   MB/s    by reference s/ckpt")
    try:
        sizes = [1, 10, 100, 300, 1000]
        for mb in (s for s in sizes if s <= max_mb):
            times = {}
            for mode in ("stream", "dir"):
                with (
                    tempfile.TemporaryDirectory() as out,
                    tempfile.TemporaryDirectory() as ck,
                    Store(out) as store,
                ):
                    store.register("r", {"epochs": count})
                    start = time.perf_counter()
                    for epoch, ref in enumerate(
                        stream.remote(mb * 2**20, count, None if mode == "stream" else ck)
                    ):
                        checkpoint = ray.get(ref)
                        assert isinstance(checkpoint, (bytes, CheckpointRef))
                        row = Epoch(epoch=epoch, lr=0.1, seconds=1.0, metrics={})
                        store.save_epochs("r", [row], checkpoint)
                    times[mode] = (time.perf_counter() - start) / count
            rate = mb / times["stream"]
            print(f"  {mb:7d}   {times['stream']:15.3f}   {rate:6.0f}   {times['dir']:19.3f}")
    finally:
        ray.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--skip-compare", action="store_true")
    parser.add_argument("--max-mb", type=int, default=1000)
    parser.add_argument("--count", type=int, default=4)
    args = parser.parse_args()
    if not args.skip_compare:
        compare_both(args.repeats)
    traffic(args.max_mb, args.count)


if __name__ == "__main__":
    main()
