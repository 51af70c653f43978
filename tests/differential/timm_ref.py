"""timm's schedulers without ``timm/__init__.py`` (it imports torchvision, not installed here).

``timm.scheduler`` needs torch only: a bare ``timm`` package module whose ``__path__`` is
the installed directory lets ``import timm.scheduler`` run that subpackage alone.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from typing import Any


def timm_scheduler() -> Any:
    """The ``timm.scheduler`` module, or None when timm is not installed."""
    if "timm.scheduler" in sys.modules:
        return sys.modules["timm.scheduler"]
    spec = importlib.util.find_spec("timm")  # finds the package without running it
    if spec is None or spec.submodule_search_locations is None:
        return None
    if "timm" not in sys.modules:
        package = types.ModuleType("timm")
        package.__path__ = list(spec.submodule_search_locations)
        package.__spec__ = spec
        sys.modules["timm"] = package
    return importlib.import_module("timm.scheduler")
