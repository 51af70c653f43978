"""What checkpoint traffic costs on Ray: streamed to the driver, or by reference.

A Ray task streams checkpoints of 1 MB to ``--max-mb`` to the driver, which commits each
to a store (`Store.save_epochs`, the real path); against writing them to a
``--checkpoint-dir`` path and streaming only the reference. (Local Ray against the
process pool on the default experiment: ``bench_lab.py --ray``.)

Run: ``.venv/bin/python benchmarks/bench_cluster.py [--max-mb 1000] [--count 4]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Iterator

import ray

from lrlab.lab import storage
from lrlab.lab.records import CheckpointRef, Epoch
from lrlab.lab.store import Store


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
    parser.add_argument("--max-mb", type=int, default=1000)
    parser.add_argument("--count", type=int, default=4)
    args = parser.parse_args()
    traffic(args.max_mb, args.count)


if __name__ == "__main__":
    main()
