"""``lrlab serve``: request-to-response times of a real server, and the page in Chromium.

Starts ``lrlab serve`` in a process on a demo-like store written by hand (the demo's ten
schedules x 5 seeds x 20 epochs, 2000 sampled lrs a run: what ``make demo`` leaves, with
nothing trained) and times, over HTTP, the designer's curve of a 100,000-step schedule
(target <= 100 ms), a 10^12-step one (sampled), the stores list and the experiment's
document (target <= 300 ms). With a Chromium (``/usr/bin/chromium``) and Playwright, it
also times in the page: keystroke to redrawn curve at 100,000 steps (target <= 100 ms),
and click to the rendered experiment (target <= 300 ms). ``--screenshot DIR`` saves the
page's two views as ``DIR/serve.png`` and ``DIR/serve-experiments.png``.

Run: ``.venv/bin/python benchmarks/bench_serve.py [--repeats N] [--quick] [--screenshot docs]``.
"""

from __future__ import annotations

import argparse
import math
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import quote, urlencode

import numpy as np

from lrlab.lab.config import schedule_for
from lrlab.lab.experiment import Experiment
from lrlab.lab.records import Epoch, ExperimentRecord, Member, Outcome
from lrlab.lab.store import Store

SPEC_100K = "warmup(cosine(init=0.1, steps=90000, end=1e-5), steps=10000)"
WIDTH = 1200
STEPS_PER_EPOCH = 23
SAMPLED_LRS = 2000


def write_demo_like(directory: Path, *, epochs: int, seeds: int) -> None:
    """The demo's experiment as `compare` commits it, with made-up metrics and each
    schedule's own lr (its closed form; the plateau held at its initial lr)."""
    experiment = Experiment(epochs=epochs, seeds=tuple(range(seeds)), name="demo-like")
    runs = experiment.runs(lr=0.05)
    record = ExperimentRecord(
        id=experiment.id,
        name=experiment.name,
        config=experiment.to_dict(),
        lr=0.05,
        lr_source="given",
        versions={},
        created=time.time(),
        updated=time.time(),
    )
    members = [
        (Member(experiment=experiment.id, schedule=e.name, seed=seed, run=c.run_id), c.to_dict())
        for e, seed, c in runs
    ]
    steps = epochs * STEPS_PER_EPOCH
    sampled = np.arange(0, steps, max(1, math.ceil(steps / SAMPLED_LRS)))
    order = [e.name for e in experiment.schedules]
    noise = random.Random(0)
    with Store(directory) as store:
        store.add_experiment(record, members)
        for entry, _, config in runs:
            schedule = schedule_for(config, STEPS_PER_EPOCH)
            t = sampled if entry.per == "batch" else sampled // STEPS_PER_EPOCH
            lrs = np.full(t.size, 0.05) if schedule.metric_driven else schedule(t)
            rows = []
            for k in range(epochs):
                acc = 1 - 0.5 / (k + 2) - 0.002 * order.index(entry.name) + noise.gauss(0, 0.002)
                metrics = {"train_loss": 1 - acc, "val_loss": 1.1 - acc, "val_accuracy": acc}
                rows.append(Epoch(epoch=k, lr=0.05, seconds=0.4, metrics=metrics))
            store.save_epochs(config.run_id, rows, b"")
            store.finish(
                config.run_id,
                Outcome(
                    status="finished",
                    steps_per_epoch=STEPS_PER_EPOCH,
                    lrs=tuple(zip(sampled.tolist(), lrs.tolist(), strict=True)),
                    final={"test_accuracy": 0.98 + noise.gauss(0, 0.003)},
                ),
            )
        store.settle()


def timed_get(url: str, repeats: int) -> tuple[float, float, int]:
    """(median ms, max ms, bytes) of ``repeats`` GETs of ``url``, after one warm-up."""
    with urllib.request.urlopen(url) as response:
        size = len(response.read())
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        with urllib.request.urlopen(url) as response:
            response.read()
        times.append(1000 * (time.perf_counter() - start))
    return statistics.median(times), max(times), size


def in_the_page(url: str, repeats: int, screenshots: Path | None) -> list[tuple[str, float, float]]:
    """Keystroke -> redraw and click -> experiment, timed in the page (ms)."""
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    rows = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1180, "height": 640})
        spec = "cosine(init=0.1, steps=100000, end=0.001)"
        page.goto(url + "#" + urlencode({"s": spec, "steps": 100_000}, quote_via=quote))
        page.wait_for_selector("#plot path.curve")
        page.evaluate(
            """() => {
              window.lags = [];
              const plot = document.querySelector('#plot');
              new MutationObserver(() => {
                if (!window.pressed) return;
                lags.push(performance.now() - window.pressed);
                window.pressed = 0;
              }).observe(plot, {attributes: true, attributeFilter: ['data-revision']});
              document.querySelector('.row .spec').addEventListener(
                'keydown', () => { window.pressed = performance.now(); }, true);
            }"""
        )
        field = page.locator(".row .spec").first
        field.click()
        field.press("End")
        for k in range(repeats):
            field.press("Backspace")  # ... end=0.00) -> end=0.0) and back: each one valid
            page.wait_for_function(f"() => window.lags.length >= {2 * k + 1}")
            field.press(str(1 + k % 9))
            page.wait_for_function(f"() => window.lags.length >= {2 * k + 2}")
        lags = page.evaluate("() => window.lags")
        rows.append(("keystroke -> redraw, 100,000 steps", statistics.median(lags), max(lags)))
        if screenshots is not None:
            field.fill(spec)
            page.click("#add")
            page.locator(".row .spec").nth(1).fill("StepLR(lr=0.1, step_size=20000, gamma=0.5)")
            page.click("#add")
            page.locator(".row .spec").nth(2).fill("OneCycleLR(max_lr=0.1, total_steps=100000)")
            page.wait_for_selector('#plot[data-curves="3"]')
            page.locator("#plot .hit").hover(position={"x": 420, "y": 120})
            page.screenshot(path=str(screenshots / "serve.png"))
        times = []
        for _ in range(repeats):
            page.goto(url + "#tab=experiments")
            page.wait_for_selector(".experiment-link")
            start = page.evaluate("() => performance.now()")
            page.click(".experiment-link")
            page.wait_for_selector("#ranking tbody tr >> nth=9")
            page.wait_for_selector("#metric-chart path.curve")
            times.append(page.evaluate("() => performance.now()") - start)
        rows.append(("click -> experiment drawn (50 runs)", statistics.median(times), max(times)))
        if screenshots is not None:
            page.screenshot(path=str(screenshots / "serve-experiments.png"))
        browser.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="a small store, 3 repeats")
    parser.add_argument("--screenshot", type=Path, help="save the page's views in this folder")
    parser.add_argument("--no-browser", action="store_true", help="skip the in-page timings")
    args = parser.parse_args()
    repeats = 3 if args.quick else args.repeats
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        write_demo_like(root / "demo", epochs=3 if args.quick else 20, seeds=5)
        argv = [sys.executable, "-m", "lrlab", "serve", str(root), "--port", "0"]
        with subprocess.Popen(argv, stdout=subprocess.PIPE, text=True) as server:
            try:
                assert server.stdout is not None
                url = server.stdout.readline().split(" at ")[1].split()[0]
                rows = []
                for label, query in (
                    ("curve 100,000 steps", {"spec": SPEC_100K, "steps": 100_000}),
                    ("curve 10^12 steps (sampled)", {"spec": "cosine(init=0.1, steps=10**12)"}),
                ):
                    rows.append(
                        (
                            label,
                            *timed_get(f"{url}api/curve?{urlencode(query)}&width={WIDTH}", repeats),
                        )
                    )
                rows.append(("stores list", *timed_get(f"{url}api/stores", repeats)))
                rows.append(
                    ("experiment (50 runs)", *timed_get(f"{url}api/experiment?store=demo", repeats))
                )
                print(f"lrlab serve over HTTP ({repeats} requests each, after one warm-up)\n")
                print("| request | median ms | max ms | bytes |")
                print("|---|---|---|---|")
                for label, median, most, size in rows:
                    print(f"| {label} | {median:.1f} | {most:.1f} | {size:,} |")
                page_rows = []
                if not args.no_browser and (
                    shutil.which("chromium") or Path("/usr/bin/chromium").exists()
                ):
                    page_rows = in_the_page(url, repeats, args.screenshot)
                    print("\nin the page (Chromium, Playwright)\n")
                    print("| action | median ms | max ms |")
                    print("|---|---|---|")
                    for label, median, most in page_rows:
                        print(f"| {label} | {median:.1f} | {most:.1f} |")
                else:
                    print("\nno Chromium here: the in-page timings are skipped")
            finally:
                server.terminate()
                server.wait(timeout=30)
    curve = rows[0][2]
    page = rows[3][2]
    summary = f"SUMMARY: curve 100k max {curve:.1f} ms (target 100)"
    summary += f", experiment max {page:.1f} ms (target 300)"
    if page_rows:
        summary += f", keystroke->redraw max {page_rows[0][2]:.1f} ms (target 100)"
        summary += f", click->experiment max {page_rows[1][2]:.1f} ms (target 300)"
    print("\n" + summary)


if __name__ == "__main__":
    main()
