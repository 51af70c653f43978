"""The public API is what __all__ says, and `import lrlab` stays light."""

from __future__ import annotations

import subprocess
import sys
import types

import pytest

import lrlab
import lrlab.schedules
from lrlab.schedules import torch_names


@pytest.mark.parametrize("module", [lrlab, lrlab.schedules])
def test_all_lists_exactly_the_public_names(module: object) -> None:
    exported = set(module.__all__)  # type: ignore[attr-defined]
    for name in exported:
        assert hasattr(module, name), name
    public = {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and getattr(value, "__module__", "").startswith("lrlab")
        and not isinstance(value, types.ModuleType)
    }
    assert public <= exported | {"annotations"}


def test_names_load_lazily_and_stay_visible() -> None:
    assert set(lrlab.__all__) <= set(dir(lrlab))
    assert {"schedules", "spec"} <= set(dir(lrlab))
    from lrlab import PlateauState, SpecError, summarize, to_steps

    assert PlateauState is lrlab.schedules._base.PlateauState
    assert (SpecError, summarize, to_steps) == (
        lrlab.spec.SpecError,
        lrlab.schedules.summarize,
        lrlab.schedules.durations.to_steps,
    )
    assert lrlab.plateau is lrlab.families()["plateau"]  # the family, not its module
    with pytest.raises(AttributeError, match="module 'lrlab' has no attribute 'nope'"):
        _ = lrlab.nope  # type: ignore[attr-defined]


def test_import_lrlab_loads_no_numpy_until_a_name_is_used() -> None:
    code = (
        "import sys, lrlab, lrlab.cli; before = 'numpy' in sys.modules; "
        "import lrlab.plateau; from lrlab import plateau; "
        "print(before, plateau is lrlab.plateau, type(lrlab.plateau).__name__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True", "ABCMeta"]


def test_every_family_is_exported_under_its_own_name() -> None:
    for name, cls in lrlab.families().items():
        assert getattr(lrlab, name) is cls
        assert cls.family == name


def test_import_lrlab_imports_neither_torch_nor_matplotlib() -> None:
    code = (
        "import sys, lrlab, lrlab.schedules.torch_names; "
        "lrlab.cosine(init=0.1, steps=10).values(10); "
        "print(sorted(m for m in ('torch', 'matplotlib') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_families_are_final_frozen_and_slotted() -> None:
    for cls in lrlab.families().values():
        assert getattr(cls, "__final__", False), cls
        assert cls.__dataclass_params__.frozen, cls  # type: ignore[attr-defined]
        assert "__slots__" in vars(cls), cls


def test_torch_names_exports_every_function_it_defines() -> None:
    defined = {
        name
        for name, value in vars(torch_names).items()
        if callable(value)
        and not name.startswith("_")
        and getattr(value, "__module__", "") == torch_names.__name__
    }
    assert defined == set(torch_names.__all__)
