"""The web app in process (starlette's TestClient): the page, the designer's API and the
experiment browser's, against stores written by hand."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient

import lrlab
from lrlab.lab.store import FILENAME, Store
from lrlab.web.app import STATIC, create_app
from tests.web.stores import commit_epoch, write_experiment

SRC = Path(lrlab.__file__).parent


@pytest.fixture
def root(tmp_path: Path) -> Path:
    write_experiment(tmp_path / "runs" / "demo")
    return tmp_path


@pytest.fixture
def client(root: Path) -> TestClient:
    return TestClient(create_app(root), raise_server_exceptions=True)


def test_the_page_and_its_assets_are_served_from_the_package(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<script src="/static/app.js">' in page.text
    for name, kind in (("app.js", "javascript"), ("app.css", "text/css")):
        response = client.get(f"/static/{name}")
        assert response.status_code == 200
        assert kind in response.headers["content-type"]
        assert response.text == (STATIC / name).read_text()


def test_nothing_on_the_page_comes_from_elsewhere() -> None:
    """Every src/href/url()/fetch names this server: the page works with no network."""
    for path in STATIC.iterdir():
        text = path.read_text()
        text = text.replace('xmlns="http://www.w3.org/2000/svg"', "")  # a name, not fetched
        assert not re.search(r"https?://|//cdn|@import", text), path.name
        for target in re.findall(r"""(?:src|href)=["']([^"']+)""", text):
            assert target.startswith(("/static/", "#", "data:")), (path.name, target)


def test_a_curve_comes_back_as_an_envelope(client: TestClient) -> None:
    response = client.get(
        "/api/curve", params={"spec": "cosine(init=0.1, steps=100000)", "width": 640}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["spec"] == "cosine(init=0.1, steps=100000)"
    assert body["steps"] == 100_000
    assert len(body["t"]) == len(body["low"]) == len(body["high"]) <= 640
    assert body["high"][0] == 0.1
    assert body["low"][-1] < 1e-6


@pytest.mark.parametrize(
    ("params", "parameter", "text"),
    [
        ({"spec": "cosine(init=0.1, steps=0)"}, "steps", "cosine: steps must be a positive int"),
        ({"spec": "StepLR(lr=0.1, step_siz=3)"}, "step_siz", "did you mean 'step_size'?"),
        ({"spec": "cosine(init=0.1, steps=9)", "steps": "ten"}, "steps", "'ten'"),
        ({"spec": "cosine(init=0.1, steps=9)", "width": "0"}, "width", "got 0"),
        ({}, "spec", "spec"),
        ({"spec": "ReduceLROnPlateau(lr=0.1)"}, None, "metric-driven"),
        ({"spec": "x" * 30_000}, None, "longer than 20000"),
    ],
)
def test_a_bad_request_is_a_400_that_says_why(
    client: TestClient, params: dict[str, str], parameter: str | None, text: str
) -> None:
    response = client.get("/api/curve", params=params)
    assert response.status_code == 400
    error = response.json()["error"]
    assert text in error["message"]
    assert error.get("parameter") == parameter


def test_export_gives_the_spec_torch_code_and_a_toml_entry(client: TestClient) -> None:
    response = client.get(
        "/api/export", params={"spec": "StepLR(lr=0.1, step_size=30)", "per": "batch"}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["spec"] == "step(init=0.1, period=30)"
    assert "lrlab.torch.StepLR(optimizer, step_size=30)" in body["torch"]
    assert 'per = "batch"' in body["toml"]
    bad = client.get("/api/export", params={"spec": "StepLR(lr=0.1, step_size=30)", "per": "x"})
    assert bad.status_code == 400
    assert bad.json()["error"]["parameter"] == "per"


def test_the_schedules_list_has_every_torch_scheduler(client: TestClient) -> None:
    names = {form["name"]: form["kind"] for form in client.get("/api/schedules").json()}
    assert names["OneCycleLR"] == names["StepLR"] == "torch"
    assert names["cosine"] == "lrlab"
    info = client.get("/api/info").json()
    assert info["palette"] == list(lrlab.plot.PALETTE)


def test_stores_are_found_under_the_directory(root: Path, client: TestClient) -> None:
    write_experiment(root / "runs" / "deep" / "er", seeds=1)
    (root / ".hidden").mkdir()
    write_experiment(root / ".hidden", seeds=1)
    broken = root / "broken"
    broken.mkdir()
    (broken / FILENAME).write_bytes(b"not a database at all" * 10)
    stores = client.get("/api/stores").json()["stores"]
    assert [s["path"] for s in stores] == ["broken", "runs/deep/er", "runs/demo"]
    broken_entry, deep, demo = stores
    assert "not a database" in broken_entry["error"] or "damaged" in broken_entry["error"]
    assert deep["error"] is None
    assert [e["name"] for e in demo["experiments"]] == ["hand-made"]
    assert demo["experiments"][0]["runs"] == 6
    assert {r["status"] for r in demo["runs"]} == {"finished"}


def test_the_directory_itself_may_be_the_store(tmp_path: Path) -> None:
    write_experiment(tmp_path, seeds=1)
    client = TestClient(create_app(tmp_path))
    assert [s["path"] for s in client.get("/api/stores").json()["stores"]] == ["."]
    body = client.get("/api/experiment", params={"store": "."}).json()
    assert body["experiment"]["name"] == "hand-made"


def test_an_experiment_has_its_ranking_runs_and_curves(root: Path, client: TestClient) -> None:
    with Store(root / "runs" / "demo") as store:
        store.save_lr_find("k", {"lrs": [0.01, 0.1], "losses": [1.0, 0.5], "suggestion": 0.05})
        store.settle()
    body = client.get("/api/experiment", params={"store": "runs/demo"}).json()
    assert body["experiment"]["name"] == "hand-made"
    assert [s["name"] for s in body["experiment"]["schedules"]] == ["flat", "cos"]
    ranking = body["ranking"]
    assert ranking["headline"].startswith("flat ranks first")
    assert [row["schedule"] for row in ranking["rows"]] == ["flat", "cos"]
    assert [row["verdict"] for row in ranking["rows"]] == ["best", "worse"]
    assert ranking["rows"][1]["cells"][-1] == "worse"
    assert ranking["header"][:2] == ["#", "schedule"]
    assert len(body["runs"]) == 6
    run = next(r for r in body["runs"] if r["id"] == "flat-2")
    assert run["status"] == "finished"
    assert [m["epoch"] for m in run["metrics"]] == [0, 1, 2]
    assert run["metrics"][2]["val_accuracy"] == pytest.approx(0.5 + 0.2 + 0.05 + 0.016 + 0.06)
    assert body["lrs"] == [
        {"schedule": "flat", "run": "flat-0", "seed": 0, "x": [0.0, 1.0, 2.0],
         "lr": [0.05, 0.025, 0.05 / 3]},
        {"schedule": "cos", "run": "cos-0", "seed": 0, "x": [0.0, 1.0, 2.0],
         "lr": [0.05, 0.025, 0.05 / 3]},
    ]  # fmt: skip
    assert run["config"] == {"seed": 2, "epochs": 3}
    assert body["lr_finds"] == [
        {"key": "k", "lrs": [0.01, 0.1], "losses": [1.0, 0.5], "suggestion": 0.05}
    ]
    by_id = client.get(
        "/api/experiment", params={"store": "runs/demo", "id": body["experiment"]["id"][:6]}
    )
    assert by_id.json()["experiment"]["id"] == body["experiment"]["id"]


@pytest.mark.parametrize(
    "params",
    [
        {"store": "../"},
        {"store": "/etc"},
        {"store": "runs"},
        {"store": "runs/demo/../demo"},
        {"store": "runs//demo"},
        {"store": "./runs/demo"},
        {"store": "."},
        {"store": "runs/demo", "id": "ffff"},
    ],
)
def test_only_stores_under_the_directory_are_opened(
    client: TestClient, params: dict[str, str]
) -> None:
    response = client.get("/api/experiment", params=params)
    assert response.status_code == 404
    assert response.json()["error"]["message"]


def test_a_comparison_in_progress_shows_each_committed_epoch(tmp_path: Path) -> None:
    directory = tmp_path / "live"
    _, members = write_experiment(directory, seeds=1, epochs=3, done=0)
    client = TestClient(create_app(tmp_path))

    def progress() -> dict[str, tuple[str, int]]:
        body = client.get("/api/experiment", params={"store": "live"}).json()
        return {r["id"]: (r["status"], len(r["metrics"])) for r in body["runs"]}

    assert progress() == {"flat-0": ("pending", 0), "cos-0": ("pending", 0)}
    commit_epoch(directory, members[0], 0)
    assert progress() == {"flat-0": ("running", 1), "cos-0": ("pending", 0)}
    commit_epoch(directory, members[0], 1)
    commit_epoch(directory, members[1], 0)
    assert progress() == {"flat-0": ("running", 2), "cos-0": ("running", 1)}
    body = client.get("/api/experiment", params={"store": "live"}).json()
    assert body["ranking"]["headline"] == "No schedule finished on every seed yet."
    assert [(c["run"], c["x"], c["lr"]) for c in body["lrs"]] == [
        ("flat-0", [0.0, 1.0], [0.05, 0.05]),
        ("cos-0", [0.0], [0.05]),
    ]


def test_reading_writes_nothing(root: Path, client: TestClient) -> None:
    store = root / "runs" / "demo"
    before = {p.name: p.stat().st_mtime_ns for p in store.iterdir()}
    for url in ("/api/stores", "/api/experiment?store=runs/demo"):
        assert client.get(url).status_code == 200
    assert {p.name: p.stat().st_mtime_ns for p in store.iterdir()} == before


def test_the_server_imports_no_torch(root: Path) -> None:
    code = (
        "import sys\n"
        "from fastapi.testclient import TestClient\n"
        "from lrlab.web.app import create_app\n"
        f"client = TestClient(create_app({str(root)!r}))\n"
        "for url in ('/', '/api/schedules', '/api/stores', '/api/experiment?store=runs/demo',\n"
        "            '/api/curve?spec=StepLR(lr=0.1,step_size=3)',\n"
        "            '/api/export?spec=StepLR(lr=0.1,step_size=3)'):\n"
        "    assert client.get(url).status_code == 200, url\n"
        "print(*sorted(m for m in ('torch', 'matplotlib', 'scipy') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=os.environ
    )
    assert out.stdout.strip() == ""


def _imported(path: Path) -> list[str]:
    """Every module an import statement of ``path`` names (lazy ones too)."""
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return names


def test_only_the_serve_command_imports_the_web_layer() -> None:
    for path in SRC.rglob("*.py"):
        relative = path.relative_to(SRC).as_posix()
        if relative.startswith("web/") or relative == "cli/serve.py":
            continue
        assert not any(n.split(".")[:2] == ["lrlab", "web"] for n in _imported(path)), relative
    above = ("lrlab.cli", "lrlab.torch", "lrlab.lab.train", "lrlab.lab.compare", "torch")
    for path in (SRC / "web").rglob("*.py"):
        for name in _imported(path):
            assert not name.startswith(above), (path.name, name)
