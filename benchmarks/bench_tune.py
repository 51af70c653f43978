"""Pruning must pay: the same search with and without a pruner, side by side.

Both run ``lrlab.lab.tune.tune`` on the plateau preset (the default experiment: the CNN
on digits, 20 epochs), the same number of trials and the same TPE seed, in this process,
one after the other; each in a fresh directory. Reported: each search's wall time (the
search alone, not the confirmation), its best value on the search seed, and each
confirmation's tuned result on the fresh seeds with the seeds' standard deviation (the
"seed noise" the two best values are held against).

Target: the pruned search reaches a best value within seed noise of the unpruned one in
<= 0.5x its time.

Run: ``.venv/bin/python benchmarks/bench_tune.py [--trials 30] [--epochs 20] [--model cnn]
[--pruner halving|hyperband]`` (the pruned search's pruner: lrlab's default, successive
halving, unless told).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile

from lrlab.lab.experiment import Experiment
from lrlab.lab.search import preset
from lrlab.lab.tune import Tuned, TuneSettings, tune


def one(args: argparse.Namespace, *, pruner: str) -> Tuned:
    """One whole search (and its confirmation) in a fresh directory."""
    experiment = Experiment(model=args.model, epochs=args.epochs)
    settings = TuneSettings(
        trials=args.trials, pruner=pruner, confirm_seeds=tuple(range(1000, 1000 + args.seeds))
    )
    with tempfile.TemporaryDirectory() as out:
        return tune(experiment, preset("plateau", args.epochs), out, settings)


def main() -> None:
    """Run both searches and print the table and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--model", default="cnn")
    parser.add_argument("--seeds", type=int, default=5, help="fresh seeds of each confirmation")
    parser.add_argument("--pruner", choices=("halving", "hyperband"), default="halving")
    args = parser.parse_args()
    results = {"unpruned": one(args, pruner="none"), "pruned": one(args, pruner=args.pruner)}
    print("| search | search s | finished | pruned | best (search seed) | tuned on fresh seeds |")
    print("|---|---|---|---|---|---|")
    for name, r in results.items():
        states = [t.state for t in r.trials]
        tuned = r.confirmation.tuned
        spread = statistics.stdev(tuned) if len(tuned) > 1 else 0.0
        print(
            f"| {name} | {r.search_seconds:.1f} | {states.count('complete')} | "
            f"{states.count('pruned')} | {r.best.value:.4f} | "
            f"{statistics.fmean(tuned):.4f} ± {spread:.4f} |"
        )
    plain, pruned = results["unpruned"], results["pruned"]
    noise = statistics.stdev(plain.confirmation.baseline + plain.confirmation.tuned)
    gap = abs((plain.best.value or 0.0) - (pruned.best.value or 0.0))
    ratio = pruned.search_seconds / plain.search_seconds
    print(
        f"\nSUMMARY ({args.pruner}): time ratio pruned/unpruned {ratio:.2f} (target <= 0.5); "
        "best values "
        f"{gap:.4f} apart, seed noise (std over fresh seeds) {noise:.4f}: "
        f"{'within' if gap <= noise else 'outside'} seed noise"
    )


if __name__ == "__main__":
    main()
