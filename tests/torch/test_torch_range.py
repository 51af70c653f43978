"""The torch range lrlab declares is the one it is tested on: the drop-ins use torch
2.13's scheduler internals (``_update_lr``, ``_is_initial``), so pyproject allows 2.13.x
only, and the suite runs on the floor of that range."""

from __future__ import annotations

from pathlib import Path

import tomllib
import torch

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def _torch_requirements() -> list[str]:
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    extras = project["optional-dependencies"].values()
    return [r for group in extras for r in group if r.startswith(("torch>", "torch=", "torch<"))]


def test_every_torch_requirement_is_the_tested_range() -> None:
    assert set(_torch_requirements()) == {"torch>=2.13,<2.14"}


def test_the_suite_runs_on_the_declared_floor() -> None:
    assert torch.__version__.split("+")[0].split(".")[:2] == ["2", "13"]
