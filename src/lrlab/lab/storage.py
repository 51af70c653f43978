"""Checkpoints on storage every node reaches (``--checkpoint-dir``): a path, or a URL.

A worker writes each checkpoint under the root and sends only its `CheckpointRef`; the
driver commits the reference, and removes the checkpoint a newer commit supersedes. A
plain path (a shared filesystem: NFS, a mounted bucket) needs nothing more; a URL with a
scheme (``s3://bucket/lab``, ``gs://...``, ``memory://``) goes through fsspec and the
scheme's own package (s3fs, gcsfs). Names are unique per write, so a retried run never
overwrites the checkpoint the store names.

>>> import tempfile
>>> from lrlab.lab.storage import put, get, remove
>>> with tempfile.TemporaryDirectory() as root:
...     ref = put(root, "r1", 3, b"state")
...     data = get(ref)
...     remove(ref)
>>> ref.uri.endswith(".pt"), data
(True, b'state')
"""

from __future__ import annotations

import os
import uuid
from contextlib import suppress
from pathlib import Path
from typing import Any

from lrlab.lab.records import CheckpointRef


class StorageError(OSError):
    """The checkpoint storage cannot be reached, written or read (the message says which)."""


def is_url(root: str) -> bool:
    """Whether ``root`` names fsspec storage (``scheme://...``) rather than a path."""
    return "://" in root


def check(root: str) -> None:
    """Make sure a checkpoint can be written under ``root`` and read back (before training).

    Raises `StorageError` naming ``--checkpoint-dir`` and the reason.
    """
    try:
        probe = put(root, ".probe", 0, b"lrlab")
        back = get(probe)
        remove(probe)
    except (StorageError, ImportError, ValueError) as error:
        raise StorageError(f"--checkpoint-dir {root!r}: {error}") from None
    if back != b"lrlab":
        raise StorageError(f"--checkpoint-dir {root!r}: what was written reads back different")


def put(root: str, run: str, epoch: int, data: bytes) -> CheckpointRef:
    """Write ``data`` as ``run``'s checkpoint after ``epoch`` under ``root``; its reference."""
    name = f"{run}.{epoch}.{uuid.uuid4().hex[:12]}.pt"
    if is_url(root):
        fs, base = _filesystem(root)
        path = f"{base.rstrip('/')}/{name}"
        try:
            fs.makedirs(base, exist_ok=True)
            fs.pipe_file(path, data)
        except Exception as error:
            raise StorageError(f"cannot write {root.rstrip('/')}/{name}: {error}") from None
        return CheckpointRef(f"{root.rstrip('/')}/{name}")
    folder = Path(root).absolute()
    final = folder / name
    if folder.exists() and not folder.is_dir():
        raise StorageError(f"{str(folder)!r} is not a directory")
    partial = folder / f".{name}.partial"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with partial.open("wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        partial.replace(final)
    except OSError as error:
        with suppress(OSError):
            partial.unlink()
        raise StorageError(f"cannot write {str(final)!r}: {error.strerror or error}") from None
    return CheckpointRef(str(final))


def get(ref: CheckpointRef) -> bytes:
    """The bytes ``ref`` names; `StorageError` if they cannot be read."""
    try:
        if is_url(ref.uri):
            fs, path = _filesystem(ref.uri)
            return bytes(fs.cat_file(path))
        return Path(ref.uri).read_bytes()
    except (OSError, ImportError) as error:
        raise StorageError(f"cannot read the checkpoint {ref.uri!r}: {error}") from None


def remove(ref: CheckpointRef) -> None:
    """Remove what ``ref`` names, if it can (a stray checkpoint costs only space)."""
    with suppress(Exception):
        if is_url(ref.uri):
            fs, path = _filesystem(ref.uri)
            fs.rm_file(path)
        else:
            Path(ref.uri).unlink()


def sweep(root: str, run: str, *, keep: CheckpointRef | None = None) -> None:
    """Remove every checkpoint of ``run`` under ``root`` but ``keep`` (writes whose commit
    never reached the driver, partial files of killed writers); best effort."""
    kept = None if keep is None else keep.uri.rsplit("/", 1)[-1]
    with suppress(Exception):
        if is_url(root):
            fs, base = _filesystem(root)
            for path in fs.glob(f"{base.rstrip('/')}/{run}.*.pt"):
                if str(path).rsplit("/", 1)[-1] != kept:
                    fs.rm_file(path)
            return
        folder = Path(root)
        for path in (*folder.glob(f"{run}.*.pt"), *folder.glob(f".{run}.*.pt.partial")):
            if path.name != kept:
                path.unlink()


def _filesystem(url: str) -> tuple[Any, str]:
    try:
        from fsspec.core import url_to_fs
    except ImportError:
        raise ImportError(
            f"{url!r} is a URL: storage by URL needs fsspec (pip install fsspec, and the "
            "scheme's package, e.g. s3fs); or give a path every node mounts"
        ) from None
    try:
        fs, path = url_to_fs(url)
    except (ImportError, ValueError) as error:
        raise StorageError(str(error)) from None
    return fs, str(path)
