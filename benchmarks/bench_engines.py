"""The batched engine against the sequential one: ``lrlab compare`` end to end.

Each engine runs the same comparison as a user would, ``lrlab compare ... --engine X``
in a fresh process (start-up, checks, store, checkpoints and report included), with
``--jobs 1`` (one torch thread for both). The two alternate, best of ``--repeats``;
each process's peak RSS is read from the OS (``wait4``). The verdicts of the two rankings
(each schedule's "vs best" column) are compared: the engines must agree on the answer.
The training alone (the epochs' seconds in the store) is reported beside the totals: both
engines pay the same start-up (importing torch, scikit-learn and torch._dynamo, which
torch's optimizers load: about 9 s here) and the same report.

Targets: the tutorials' MLP (``--model mlp-bn --epochs 30 --seeds 3``) batched >= 3x
faster; the default CNN experiment (``--model cnn --epochs 20 --seeds 5``) >= 1.5x.

Run: ``.venv/bin/python benchmarks/bench_engines.py [--model cnn] [--epochs 20]
[--seeds 5] [--repeats 2] [--device cpu]``.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

from lrlab.lab.store import Store


def one(engine: str, args: argparse.Namespace) -> tuple[float, float, float, dict[str, str]]:
    """Wall seconds, training seconds (the store's epochs), peak RSS (MiB) and the
    ranking's verdicts of one ``lrlab compare`` with ``engine``."""
    with tempfile.TemporaryDirectory() as out:
        command = [
            sys.executable,
            "-m",
            "lrlab",
            "compare",
            "--model",
            args.model,
            "--epochs",
            str(args.epochs),
            "--seeds",
            str(args.seeds),
            "--engine",
            engine,
            "--device",
            args.device,
            "--out",
            out,
            "--quiet",
        ]
        start = time.perf_counter()
        with tempfile.TemporaryFile("w+") as table:
            process = subprocess.Popen(command, stdout=table)
            _, status, usage = os.wait4(process.pid, 0)
            seconds = time.perf_counter() - start
            if os.waitstatus_to_exitcode(status) != 0:
                raise SystemExit(f"{' '.join(command)} failed")
            table.seek(0)
            with Store(out, read_only=True) as store:
                training = sum(e.seconds for r in store.runs() for e in store.epochs(r.id))
            return seconds, training, usage.ru_maxrss / 1024, verdicts(table.read())


def verdicts(table: str) -> dict[str, str]:
    """Each schedule's verdict in the printed ranking (its rows: rank, name, ..., verdict)."""
    out = {}
    for line in table.splitlines():
        cells = re.split(r"\s{2,}", line.strip())
        if cells and cells[0].isdigit() and len(cells) > 2:
            out[cells[1]] = cells[-1]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="cnn")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    times: dict[str, list[float]] = {"sequential": [], "batched": []}
    training: dict[str, list[float]] = {"sequential": [], "batched": []}
    memory: dict[str, float] = {"sequential": 0.0, "batched": 0.0}
    answers: dict[str, dict[str, str]] = {}
    for _ in range(args.repeats):
        for engine, seen in times.items():
            seconds, trained, peak, answers[engine] = one(engine, args)
            seen.append(seconds)
            training[engine].append(trained)
            memory[engine] = max(memory[engine], peak)
    sequential, batched = min(times["sequential"]), min(times["batched"])
    trained = {engine: min(seconds) for engine, seconds in training.items()}
    target = 3.0 if args.model.startswith("mlp") else 1.5
    print(
        f"lrlab compare --model {args.model} --epochs {args.epochs} --seeds {args.seeds} "
        f"(10 schedules, --jobs 1, {args.device}), best of {args.repeats}"
    )
    for engine, total in (("sequential", sequential), ("batched", batched)):
        print(
            f"  {engine:10} {total:.1f} s end to end, {trained[engine]:.1f} s of it training, "
            f"peak RSS {memory[engine]:.0f} MiB"
        )
    print(f"  ratio sequential/batched {sequential / batched:.2f} (target >= {target})")
    print(f"  training alone {trained['sequential'] / trained['batched']:.2f}")
    same = answers["sequential"] == answers["batched"]
    print(f"  verdicts agree: {same}")
    for name, verdict in answers["sequential"].items():
        print(f"    {name:28} sequential: {verdict:18} batched: {answers['batched'].get(name)}")


if __name__ == "__main__":
    main()
