"""A throwaway PostgreSQL server for the tests that need a server database.

`find_bindir` finds the server's binaries (``initdb``, ``pg_ctl``, ``postgres``): on the
``PATH``, where ``pg_config --bindir`` says, or in Debian's ``/usr/lib/postgresql/N/bin``.
`running` starts a server in a fresh data directory (trust authentication, one
superuser, TCP on 127.0.0.1 and a free port, the unix socket in the data directory) and
stops it on exit. PostgreSQL refuses to run as root, so as root the server runs as the
``postgres`` user (through ``runuser``), in a data directory of its own under the system's
temporary directory: pytest's temporary directories are root's alone.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REQUIRE = "LRLAB_REQUIRE_POSTGRES"
"""Set (CI sets it), a missing server is a failure rather than a skip."""
USER = "lrlab"
"""The server's superuser (trust authentication: no password)."""
BINARIES = ("initdb", "pg_ctl", "postgres")


class Unavailable(Exception):
    """No PostgreSQL server can be started here (the reason is the message)."""


@dataclass(frozen=True)
class Server:
    """A running server: where it listens, as whom to connect."""

    host: str
    port: int
    user: str
    data: Path

    def url(self, database: str, driver: str = "postgresql+psycopg") -> str:
        """The SQLAlchemy URL of one of its databases, e.g. for an Optuna storage."""
        return f"{driver}://{self.user}@{self.host}:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """Create the database ``name``; returns its URL."""
        import psycopg
        from psycopg import sql

        conninfo = f"host={self.host} port={self.port} user={self.user} dbname=postgres"
        with psycopg.connect(conninfo, autocommit=True) as connection:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)


def find_bindir() -> Path | None:
    """The directory holding ``initdb``, ``pg_ctl`` and ``postgres``, or None."""
    candidates: list[Path] = []
    found = shutil.which("pg_ctl")
    if found:
        candidates.append(Path(found).resolve().parent)
        candidates.append(Path(found).parent)
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            said = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=30, check=True
            )
            candidates.append(Path(said.stdout.strip()))
    versions = glob.glob("/usr/lib/postgresql/*/bin")
    candidates += [Path(p) for p in sorted(versions, key=_version, reverse=True)]
    for bindir in candidates:
        if all(os.access(bindir / name, os.X_OK) for name in BINARIES):
            return bindir
    return None


def _version(bindir: str) -> tuple[int, ...]:
    name = Path(bindir).parent.name
    return tuple(int(p) for p in name.split(".") if p.isdigit())


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def running(directory: Path, *, attempts: int = 3) -> Iterator[Server]:
    """A server in a new data directory under ``directory`` (as root: under the system's
    temporary directory, owned by ``postgres``), stopped (and, as root, removed) on exit.

    Raises `Unavailable` where there is no server to start (no binaries; as root, no
    ``postgres`` user or no ``runuser``), and `RuntimeError` where one fails to start.
    """
    bindir = find_bindir()
    if bindir is None:
        raise Unavailable(
            "no PostgreSQL server binaries (initdb, pg_ctl, postgres) on PATH, at "
            "`pg_config --bindir` or in /usr/lib/postgresql/*/bin"
        )
    prefix: list[str] = []
    owner: pwd.struct_passwd | None = None
    if os.geteuid() == 0:  # postgres refuses to run as root
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            raise Unavailable(
                "running as root, and there is no 'postgres' user to run the server as"
            ) from None
        runuser = shutil.which("runuser")
        if runuser is None:
            raise Unavailable("running as root, and there is no runuser to run postgres with")
        prefix = [runuser, "-u", "postgres", "--"]
        root = Path(tempfile.mkdtemp(prefix="lrlab-postgres-"))
        os.chown(root, owner.pw_uid, owner.pw_gid)
    else:
        root = Path(tempfile.mkdtemp(prefix="postgres-", dir=directory))
    data = root / "data"
    log = root / "server.log"

    def command(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [*prefix, *argv],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        if check and done.returncode != 0:
            raise RuntimeError(
                f"{Path(argv[0]).name} exited {done.returncode}:\n{done.stdout}{done.stderr}"
                + (f"\nserver log:\n{log.read_text(errors='replace')}" if log.exists() else "")
            )
        return done

    pg_ctl = str(bindir / "pg_ctl")
    try:
        command(
            str(bindir / "initdb"),
            "-D",
            str(data),
            "-A",
            "trust",
            "-U",
            USER,
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        )
        with (data / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.write(
                "\n# lrlab's tests\n"
                "listen_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{data}'\n"
                "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
            )
        server: Server | None = None
        for attempt in range(attempts):
            port = _free_port()
            started = command(
                pg_ctl, "-D", str(data), "-l", str(log), "-w", "-t", "60",
                "-o", f"-p {port}", "start", check=attempt == attempts - 1,
            )  # fmt: skip
            if started.returncode == 0:
                server = Server(host="127.0.0.1", port=port, user=USER, data=data)
                break
        assert server is not None
        try:
            yield server
        finally:
            command(pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop", check=False)
    finally:
        if owner is not None:
            shutil.rmtree(root, ignore_errors=True)
