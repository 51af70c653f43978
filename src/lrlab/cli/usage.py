"""What every subcommand shares: the usage error, argparse types and path checks.

Light on purpose (argparse and the standard library): ``lrlab --help`` and usage
errors load nothing else. `check_figure_path` imports `lrlab.plot` only when called.
"""

from __future__ import annotations

import argparse
import errno
import os

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from typing import NoReturn

PROG = "lrlab"
SHORT = 60
"""How much of a long spec an error message echoes."""
PATH_SHORT = 200
"""How much of a long path an error message echoes."""


class UsageError(Exception):
    """Bad usage or input: exit code 2, the message on one line."""


class WriteFailed(Exception):
    """Writing an output file failed after it was opened (a full disk): exit code 1.

    >>> str(WriteFailed("/dev/full", OSError(28, "No space left on device")))
    "cannot write '/dev/full': No space left on device"
    """

    def __init__(self, path: str, error: OSError) -> None:
        super().__init__(
            f"cannot write {abbreviate(path, PATH_SHORT)!r}: {error.strerror or error}"
        )


_FULL = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO})
"""Errors of a write that began: the disk, not the user's input, is at fault."""


def output_error(path: str, error: OSError) -> Exception:
    """The exception for a failed write of ``path``: `WriteFailed` (exit 1) for a full
    disk or an I/O error, else a `UsageError` (exit 2: the path cannot be written).

    >>> output_error("/dev/full", OSError(errno.ENOSPC, "No space left on device"))
    WriteFailed("cannot write '/dev/full': No space left on device")
    >>> output_error("x/y.csv", FileNotFoundError(errno.ENOENT, "No such file or directory"))
    UsageError("cannot write 'x/y.csv': No such file or directory")
    """
    if error.errno in _FULL:
        return WriteFailed(path, error)
    return UsageError(f"cannot write {abbreviate(path, PATH_SHORT)!r}: {error.strerror or error}")


class Parser(argparse.ArgumentParser):
    """An `argparse.ArgumentParser` whose errors are `UsageError` (one line, exit 2)."""

    def error(self, message: str) -> NoReturn:
        """Raise the message as a `UsageError` that points at ``--help``."""
        raise UsageError(f"{message} (see '{self.prog} --help')")


def abbreviate(text: str, limit: int = SHORT) -> str:
    """``text`` on one line, cut to its first ``limit`` characters and '…' when longer.

    >>> abbreviate("constant(value=0.1)")
    'constant(value=0.1)'
    >>> abbreviate("warmup(" * 20, limit=20)
    'warmup(warmup(warmup…'
    """
    flat = " ".join(text.split("\n"))
    return flat if len(flat) <= limit else flat[:limit] + "…"


def positive_int(text: str) -> int:
    """An argparse type: an int in ``[1, 2**52]``.

    >>> positive_int("12")
    12
    """
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive int, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive int, got {text!r}")
    if value > 2**52:
        raise argparse.ArgumentTypeError(f"expected at most 2**52 steps, got {text!r}")
    return value


def check_output_path(path: str, flag: str = "-o") -> None:
    """Refuse an output file that cannot be written, before any work is done.

    The empty path, a directory, a path under something that is not a directory and a
    directory that does not exist or is not writable are `UsageError`s naming the path.

    >>> check_output_path("")
    Traceback (most recent call last):
    ...
    lrlab.cli.usage.UsageError: -o: the output path is empty
    >>> check_output_path("/")
    Traceback (most recent call last):
    ...
    lrlab.cli.usage.UsageError: -o: '/' is a directory, not a file
    """
    if not path:
        raise UsageError(f"{flag}: the output path is empty")
    shown = abbreviate(path, PATH_SHORT)
    if os.path.isdir(path):
        raise UsageError(f"{flag}: {shown!r} is a directory, not a file")
    if os.path.exists(path) and not os.access(path, os.W_OK):
        raise UsageError(f"{flag}: cannot write {shown!r}: the file is not writable")
    parent = os.path.dirname(os.path.abspath(path)) if os.path.dirname(path) else "."
    above = parent
    while not os.path.exists(above) and os.path.dirname(above) != above:
        above = os.path.dirname(above)
    if os.path.exists(above) and not os.path.isdir(above):
        raise UsageError(f"{flag}: cannot write {shown!r}: {above!r} is not a directory")
    if not os.path.isdir(parent):
        raise UsageError(f"{flag}: cannot write {shown!r}: no such directory {parent!r}")
    if not os.access(parent, os.W_OK):
        raise UsageError(f"{flag}: cannot write {shown!r}: the directory is not writable")


def check_figure_path(path: str, flag: str = "-o") -> None:
    """A figure file: a writable path ending in .png, .svg or .pdf (`lrlab.plot`'s check).

    >>> check_figure_path("lr.gif")
    Traceback (most recent call last):
    ...
    lrlab.cli.usage.UsageError: -o: cannot tell the format of 'lr.gif': use .png, .svg or .pdf
    """
    check_output_path(path, flag)
    from lrlab.plot import check_figure_path as figure_format

    try:
        figure_format(path, owner=flag)
    except ValueError as error:
        raise UsageError(str(error)) from None
