"""What a schedule knows about itself: length, depth, bound; and no import cycles."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given

import lrlab
from lrlab.schedules._base import MAX_DEPTH
from lrlab.schedules.checks import MAX_LR
from tests.strategies import schedules

cos = lrlab.cosine(init=0.1, steps=900)
expo = lrlab.exponential(init=0.1, gamma=0.9)


@pytest.mark.parametrize(
    ("schedule", "length"),
    [
        (cos, 900),
        (lrlab.linear(init=0.1, end=0.0, steps=7), 7),
        (lrlab.polynomial(init=0.1, steps=8), 8),
        (lrlab.one_cycle(peak=0.1, steps=50), 50),
        (lrlab.wsd(peak=0.1, steps=40, decay_steps=10), 40),
        (expo, None),
        (lrlab.step(init=0.1, period=3), None),
        (lrlab.cyclic(init=0.0, peak=1.0, up_steps=2), None),
        (lrlab.plateau(init=0.1), None),
        (lrlab.warmup(cos, steps=100), 1000),
        (lrlab.warmup(cos, steps=100, mode="overlay"), 900),
        (lrlab.warmup(cos, steps=1000, mode="overlay"), 1000),
        (lrlab.warmup(expo, steps=100), None),
        (lrlab.join([expo, cos], at=[50]), 950),
        (lrlab.join([cos, expo], at=[50]), None),
        (lrlab.join([cos], at=[]), 900),
        (lrlab.product([cos, lrlab.linear(init=1.0, end=0.5, steps=2000)]), 2000),
        (lrlab.product([cos, expo]), None),
        (lrlab.scale(cos, factor=2.0), 900),
        (lrlab.clip(cos, low=0.01), 900),
    ],
)
def test_length(schedule: lrlab.Schedule, length: int | None) -> None:
    assert schedule.length == length
    assert lrlab.from_dict(schedule.to_dict()).length == length


def test_depth_is_limited_in_python_in_specs_and_in_dicts() -> None:
    s: lrlab.Schedule = lrlab.constant(value=0.1)
    for _ in range(MAX_DEPTH - 1):
        s = lrlab.warmup(s, steps=1)
    assert s.depth == MAX_DEPTH
    assert lrlab.from_dict(s.to_dict()) == s
    assert lrlab.parse(repr(s)) == s
    with pytest.raises(ValueError, match=r"^scale: schedules nested 33 deep; at most 32"):
        lrlab.scale(s, factor=1.0)
    deep = {"family": "scale", "factor": 1.0, "inner": s.to_dict()}
    with pytest.raises(ValueError, match="scale: schedules nested 33 deep"):
        lrlab.from_dict(deep)
    hostile: dict[str, object] = {"family": "constant", "value": 1.0}
    for _ in range(100_000):  # far deeper than Python's recursion limit
        hostile = {"family": "scale", "factor": 1.0, "inner": hostile}
    with pytest.raises(ValueError, match=r"^from_dict: schedules nested more than 32 deep$"):
        lrlab.from_dict(hostile)


@given(schedules())
def test_the_bound_holds(s: lrlab.Schedule) -> None:
    if s.metric_driven:
        return
    bound = s._bound()
    assert bound <= MAX_LR
    assert float(s.values(300).max()) <= bound * (1 + 1e-12)


def test_composites_that_could_overflow_are_refused() -> None:
    big = lrlab.constant(value=1e10)
    with pytest.raises(ValueError, match=r"^product: the product of the factors can reach 1e\+20"):
        lrlab.product([big, big])
    with pytest.raises(ValueError, match=r"^scale: inner times factor=2.0 can reach 2e\+10"):
        lrlab.scale(big, factor=2.0)
    chain = lrlab.product([lrlab.scale(lrlab.constant(value=1e-11), factor=1e10), big])
    assert np.isfinite(chain.values(3)).all()
    assert lrlab.clip(lrlab.scale(big, factor=1.0), high=1.0)._bound() == 1.0


SRC = Path(lrlab.__file__).parent
MINE = ["__init__.py", "plateau.py", "spec.py", "schedules", "cli"]


def _module(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> dict[str, set[str]]:
    """Every import statement (lazy and TYPE_CHECKING ones too) between these modules."""
    files = [p for name in MINE for p in sorted((SRC / name).rglob("*.py"))] + [SRC / MINE[0]]
    modules = {_module(p): p for p in files if p.is_file()}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    targets.add(full if full in modules else node.module)
        graph[name] = {t for t in targets if t in modules and t != name}
    return graph


def test_no_import_cycle_among_the_schedule_spec_and_cli_modules() -> None:
    graph = _imports()
    assert "lrlab.plateau" not in graph["lrlab.schedules._base"]
    assert "lrlab.cli" not in graph["lrlab.cli.commands"] | graph["lrlab.cli.lab"]
    state: dict[str, int] = {}

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for target in sorted(graph[name]):
            assert state.get(target) != 1, f"import cycle: {' -> '.join([*path, target])}"
            if target not in state:
                visit(target, [*path, target])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
