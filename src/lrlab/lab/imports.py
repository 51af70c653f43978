"""Importing the user's ``package.module:name`` (a model factory, a training function).

The ``lrlab`` console script starts without the current directory on ``sys.path``, so
``mymod:train`` next to the user's files would not import; `import_object` puts it
there (last) meanwhile, as ``python -m`` has it (first). Whatever the import raises,
even ``sys.exit()``, becomes a ``ValueError`` that names the reference.

>>> import_object("model", "math:pi")
3.141592653589793
>>> import_object("train", "no_such_module:train")
Traceback (most recent call last):
...
ValueError: train 'no_such_module:train': cannot import 'no_such_module': No module named ...
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from lrlab.lab.data import one_line


@contextmanager
def cwd_importable() -> Iterator[None]:
    """The current directory on ``sys.path`` (last) meanwhile."""
    here = os.getcwd()
    if "" in sys.path or here in sys.path:
        yield
        return
    sys.path.append(here)
    try:
        yield
    finally:
        sys.path.remove(here)


def failure(error: BaseException) -> str:
    """An exception in one line, ``sys.exit()`` said as such."""
    if isinstance(error, SystemExit):
        return f"it called sys.exit({error.code!r})"
    return f"{type(error).__name__}: {one_line(error)}"


def import_object(kind: str, reference: str, *, what: str = "name") -> object:
    """The object ``reference`` (``'package.module:name'``, dots allowed in the name);
    errors start with ``kind`` and the reference (``what``: the name's word in them)."""
    where = f"{kind} {reference!r}"
    module_name, _, attribute = str(reference).partition(":")
    if not module_name or not attribute:
        raise ValueError(f"{where}: give it as 'package.module:{what}'")
    with cwd_importable():
        try:
            found: object = importlib.import_module(module_name)
        except ImportError as error:
            raise ValueError(f"{where}: cannot import {module_name!r}: {one_line(error)}") from None
        except KeyboardInterrupt:
            raise
        except BaseException as error:  # even sys.exit() or a bare BaseException: refused
            raise ValueError(
                f"{where}: importing {module_name!r} failed: {failure(error)}"
            ) from None
    for part in attribute.split("."):
        if not hasattr(found, part):
            raise ValueError(f"{where}: module {module_name!r} has no attribute {attribute!r}")
        found = getattr(found, part)
    return found


def reference_of(function: object) -> str | None:
    """``'module:qualname'`` when importing that gives ``function`` back, else None
    (a lambda, a local function, a ``__main__`` one in another process...)."""
    module = getattr(function, "__module__", None)
    name = getattr(function, "__qualname__", None)
    if not module or not name or "<" in name or module == "__main__":
        return None
    try:
        found = import_object("train", f"{module}:{name}", what="function")
    except ValueError:
        return None
    return f"{module}:{name}" if found is function else None
