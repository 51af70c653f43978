"""The page in a real browser: Playwright drives the system's Chromium against
``lrlab serve`` running in a process.

Without a Chromium (``chromium``, ``chromium-browser`` or ``google-chrome`` on the PATH,
or ``/usr/bin/chromium``) the tests skip, unless ``LRLAB_REQUIRE_BROWSER`` is set (as CI
sets it), and then they fail. Playwright's own browser download is not used.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

import pytest

from tests.web.stores import commit_epoch, serving, write_experiment

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

REQUIRE = "LRLAB_REQUIRE_BROWSER"
"""Set (CI sets it), a missing Chromium or Playwright is a failure rather than a skip."""


def chromium() -> str | None:
    """The system's Chromium, if there is one."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None


def _unavailable(why: str) -> None:
    if os.environ.get(REQUIRE):
        pytest.fail(f"{REQUIRE} is set, but {why}")
    pytest.skip(f"{why}; set {REQUIRE}=1 to fail instead")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install -e '.[dev]')")
    path = chromium()
    if path is None:
        _unavailable("no Chromium here (apt-get install chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=path, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    yield tab
    context.close()
    assert errors == []


def _curve(page: Page, index: int = 0) -> str:
    return str(page.get_attribute(f'#plot path.curve[data-series="{index}"]', "d"))


def test_design_a_schedule_overlay_another_and_share_it(page: Page, tmp_path: Path) -> None:
    p = page
    with serving(str(tmp_path)) as (url, _):
        p.goto(url + "#s=" + quote("cosine(init=0.1, steps=1000)"))
        p.wait_for_selector("body[data-ready='1']")
        p.wait_for_selector("#plot path.curve")
        first = _curve(p)
        spec = p.locator(".row .spec").first

        spec.fill("StepLR(lr=0.1, step_size=200, gamma=0.5)")
        p.wait_for_function(
            "(before) => document.querySelector('#plot path.curve').getAttribute('d') !== before",
            arg=first,
        )
        stepped = _curve(p)
        assert stepped != first
        assert p.locator(".row .error").first.text_content() == ""

        spec.fill("StepLR(lr=0.1, step_size=0)")
        error = p.locator(".row .error").first
        error.wait_for(state="visible")
        assert "step_size must be a positive int, got 0" in (error.text_content() or "")
        assert p.get_attribute("#plot", "data-curves") == "0"

        spec.fill("StepLR(lr=0.1, step_size=200, gamma=0.5)")
        p.wait_for_selector("#plot path.curve")
        assert _curve(p) == stepped
        p.click("#add")
        p.locator(".row .spec").nth(1).fill("exponential(init=0.1, gamma=0.995)")
        p.wait_for_selector('#plot[data-curves="2"]')
        assert p.locator("#plot path.curve").count() == 2

        p.locator("#plot .hit").hover(position={"x": 300, "y": 100})
        tip = p.locator("#plot .tip").text_content() or ""
        assert tip.startswith("t = ")
        assert tip.count("lr = ") == 2

        linear = _curve(p, 1)
        p.select_option("#yscale", "log")
        assert _curve(p, 1) != linear
        assert "0.0010.010.1" in (p.locator("#plot .axis").text_content() or "")  # decades
        p.select_option("#xaxis", "epoch")
        p.fill("#spe", "50")
        p.wait_for_selector("text=epoch (50 steps each)")
        p.locator("#plot .hit").hover(position={"x": 300, "y": 100})
        assert "(epoch " in (p.locator("#plot .tip").text_content() or "")

        p.wait_for_function(
            "() => document.querySelector('#export-toml').textContent.includes('exponential')"
        )
        toml = p.locator("#export-toml").text_content() or ""
        assert 'spec = "exponential(init=0.1, gamma=0.995)"' in toml
        assert "lrlab.torch" in (p.locator("#export-torch").text_content() or "")

        shared = p.url
        assert "exponential" in shared
        assert "y=log" in shared
        assert "x=epoch" in shared
        p.goto("about:blank")
        p.goto(shared)
        p.wait_for_selector('#plot[data-curves="2"]')
        specs = [p.locator(".row .spec").nth(i).input_value() for i in range(2)]
        assert specs == [
            "StepLR(lr=0.1, step_size=200, gamma=0.5)",
            "exponential(init=0.1, gamma=0.995)",
        ]
        assert p.input_value("#yscale") == "log"
        assert p.input_value("#spe") == "50"


def test_from_examples_warmup_cosine_restarts_against_onecycle_then_the_code(
    page: Page, tmp_path: Path
) -> None:
    p = page
    with serving(str(tmp_path)) as (url, _):
        p.goto(url)
        p.wait_for_selector("#plot path.curve")
        before = _curve(p)
        p.select_option("#examples", label="warmup, then cosine with restarts")
        p.wait_for_function(
            "(before) => document.querySelector('#plot path.curve').getAttribute('d') !== before",
            arg=before,
        )
        restarts = "warmup(cosine_restarts(init=0.1, period=3000), steps=1000)"
        assert p.locator(".row .spec").first.input_value() == restarts
        assert p.input_value("#examples") == ""  # ready for the next one
        p.click("#add")
        p.select_option("#examples", label="OneCycleLR")
        p.wait_for_selector('#plot[data-curves="2"]')
        assert p.locator(".row .spec").nth(1).input_value() == (
            "OneCycleLR(max_lr=0.1, total_steps=10000)"
        )
        p.locator(".row .spec").first.focus()  # copy out the first one
        p.wait_for_function(
            "() => document.querySelector('#export-torch').textContent.includes('cosine_restarts')"
        )
        code = p.locator("#export-torch").text_content() or ""
        assert "lrlab.torch" in code
        assert restarts in code


def test_the_form_of_a_torch_scheduler_writes_the_spec(page: Page, tmp_path: Path) -> None:
    p = page
    with serving(str(tmp_path)) as (url, _):
        p.goto(url)
        p.wait_for_selector("body[data-ready='1']")
        p.select_option("#picker", "OneCycleLR")
        p.fill('#form input[name="max_lr"]', "0.1")
        p.fill('#form input[name="total_steps"]', "500")
        spec = p.locator(".row .spec").first
        assert spec.input_value() == "OneCycleLR(max_lr=0.1, total_steps=500)"
        p.wait_for_function(
            "() => document.querySelector('#export-spec').textContent.startsWith('one_cycle(')"
        )
        p.fill('#form input[name="pct_start"]', "2")
        p.wait_for_selector('#form input[name="pct_start"].bad')
        assert "pct_start" in (p.locator(".row .error").first.text_content() or "")


def test_an_experiment_updates_as_epochs_are_committed(page: Page, tmp_path: Path) -> None:
    p = page
    directory = tmp_path / "runs" / "live"
    _, members = write_experiment(directory, seeds=1, epochs=3, done=0)
    with serving(str(tmp_path)) as (url, _):
        p.goto(url + "#tab=experiments")
        p.click("text=hand-made")
        p.wait_for_selector("#runs tr.run")
        assert p.locator("#runs tr.run").count() == 2
        assert "pending" in (p.locator("#runs").text_content() or "")
        commit_epoch(directory, members[0], 0)
        p.wait_for_selector("#runs td.status-running")
        assert "1/3" in (p.locator("#runs").text_content() or "")
        assert p.locator("#metric-chart path.curve").count() == 2
        p.click("#runs tr.run >> nth=0")
        assert '"epochs": 3' in (p.locator("#run-config").text_content() or "")


@pytest.mark.slow
def test_a_comparison_started_from_the_cli_appears_live(page: Page, tmp_path: Path) -> None:
    p = page
    out = tmp_path / "runs" / "tiny"
    argv = [sys.executable, "-m", "lrlab", "compare", "--model", "mlp", "--epochs", "2"]
    argv += ["--seeds", "1", "--batch-size", "128", "--quiet", "--out", str(out)]
    argv += [
        "--schedule",
        "constant(value={lr})",
        "--schedule",
        "cos=cosine(init={lr}, steps={steps})",
    ]
    with serving(str(tmp_path)) as (url, _):
        p.goto(url + "#tab=experiments")
        p.wait_for_selector("text=no lrlab store under this directory yet")
        with subprocess.Popen(argv, stderr=subprocess.PIPE, text=True) as compare:
            p.click("text=compare", timeout=60_000)  # the store appears as it starts
            p.wait_for_selector("#runs tr.run >> nth=1", timeout=60_000)
            assert compare.stderr is not None
            assert compare.wait(timeout=120) == 0, compare.stderr.read()
        p.wait_for_function(
            "() => document.querySelectorAll('#runs td.status-finished').length === 2",
            timeout=10_000,
        )
        headline = p.locator("#headline").text_content() or ""
        assert "ranks first" in headline
        assert p.locator("#ranking tbody tr").count() == 2
        assert p.locator("#lr-chart path.curve").count() == 2
