"""``lrlab serve``: its usage errors, the missing extra, and a real server in a process."""

from __future__ import annotations

import json
import signal
import socket
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.cli import modules_after, run
from tests.web.stores import serving, write_experiment


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["serve", "no/such/dir"], "lrlab: error: DIR: no such directory: 'no/such/dir'\n"),
        (
            ["serve", "--port", "70000"],
            "lrlab: error: argument --port: expected a port from 0 to 65535, got '70000' "
            "(see 'lrlab serve --help')\n",
        ),
        (
            ["serve", "--port", "http"],
            "lrlab: error: argument --port: expected a port from 0 to 65535, got 'http' "
            "(see 'lrlab serve --help')\n",
        ),
    ],
)
def test_bad_usage_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert run(capsys, *argv) == (2, "", message)


def test_a_busy_port_is_exit_2_naming_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, out, err = run(capsys, "serve", str(tmp_path), "--port", str(port))
    assert (code, out) == (2, "")
    assert err.startswith(f"lrlab: error: --port: cannot listen on 127.0.0.1:{port}: ")
    assert err.count("\n") == 1


def test_an_unknown_host_is_exit_2_naming_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run(capsys, "serve", str(tmp_path), "--host", "no-such-host.invalid")
    assert code == 2
    assert err.startswith("lrlab: error: --host: cannot listen on 'no-such-host.invalid'")


@pytest.mark.parametrize("missing", ["fastapi", "uvicorn"])
def test_without_the_web_extra_it_says_what_to_install(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    missing: str,
) -> None:
    monkeypatch.setitem(sys.modules, missing, None)  # import fails as if not installed
    monkeypatch.delitem(sys.modules, "lrlab.web.app", raising=False)
    code, out, err = run(capsys, "serve", str(tmp_path))
    assert (code, out) == (2, "")
    assert err == f"lrlab: error: lrlab serve needs {missing}: pip install 'lrlab[web]'\n"


def test_help_loads_no_numpy(tmp_path: Path) -> None:
    assert modules_after(["serve", "--help"], tmp_path) == set()


def test_a_real_server_serves_the_page_and_the_stores(tmp_path: Path) -> None:
    write_experiment(tmp_path / "runs" / "demo")
    with serving(str(tmp_path / "runs")) as (url, process):
        assert url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(url) as page:
            assert b"<title>lrlab</title>" in page.read()
        with urllib.request.urlopen(url + "api/stores") as response:
            stores = json.load(response)["stores"]
        assert [s["path"] for s in stores] == ["demo"]
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0  # Ctrl-C: a clean stop
        assert process.stderr is not None
        assert process.stderr.read() == ""


def test_another_host_is_served_with_a_warning(tmp_path: Path) -> None:
    with serving(str(tmp_path), "--host", "0.0.0.0") as (url, process):
        port = url.rsplit(":", 1)[1].rstrip("/")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/info") as response:
            assert json.load(response)["directory"] == str(tmp_path)
        process.terminate()
        process.wait(timeout=30)
        assert process.stderr is not None
        warning = process.stderr.read()
    assert warning.startswith("lrlab: warning: listening on 0.0.0.0, not only this machine")
