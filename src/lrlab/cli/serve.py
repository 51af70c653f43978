"""``lrlab serve [DIR]``: the designer and the experiment browser on a local web server.

Light at import (argparse and the standard library): ``lrlab --help`` loads nothing
else. FastAPI and uvicorn (the ``web`` extra) are imported when the command runs; without
them the command says which ``pip install`` to run (exit 2).
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import socket
import sys
from pathlib import Path

from lrlab.cli.usage import PATH_SHORT, Parser, UsageError, abbreviate

DEFAULT_PORT = 8000
LOCAL = "127.0.0.1"
INSTALL = "pip install 'lrlab[web]'"


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port from 0 to 65535, got {text!r}")
    return value


def add_parser(commands: argparse._SubParsersAction[Parser]) -> None:
    """Add ``serve`` to the subcommands."""
    serve = commands.add_parser(
        "serve",
        help="design schedules and read the experiments under DIR in the browser",
        description="Serve a local web page: a schedule designer (type a spec or fill a "
        "torch scheduler's form, overlay, copy out as code) and the experiments of every "
        "store under DIR (read-only, live while a comparison runs). Needs the web extra: "
        f"{INSTALL}.",
    )
    serve.add_argument(
        "directory", metavar="DIR", nargs="?", default=".", help="where the stores are (default .)"
    )
    serve.add_argument(
        "--port", type=_port, default=DEFAULT_PORT, help="port (default 8000; 0: any free one)"
    )
    serve.add_argument(
        "--host",
        default=LOCAL,
        help="address to listen on (default 127.0.0.1: this machine only)",
    )


def _local(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _listen(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port``; a `UsageError` naming them if it cannot be."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise UsageError(f"--host: cannot listen on {host!r}: {error.strerror}") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(128)  # connections wait in the backlog until the server accepts them
    except OSError as error:
        sock.close()
        raise UsageError(
            f"--port: cannot listen on {host}:{port}: {error.strerror or error}"
        ) from None
    return sock


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted (Ctrl-C: exit 0, after the requests in flight end)."""
    directory = Path(args.directory)
    if not directory.is_dir():
        raise UsageError(f"DIR: no such directory: {abbreviate(args.directory, PATH_SHORT)!r}")
    try:
        import uvicorn

        from lrlab.web.app import create_app
    except ImportError as error:
        raise UsageError(f"lrlab serve needs {error.name or 'fastapi'}: {INSTALL}") from None
    sock = _listen(args.host, args.port)
    port = sock.getsockname()[1]
    if not _local(args.host):
        print(
            f"lrlab: warning: listening on {args.host}, not only this machine: anyone who "
            f"reaches port {port} can read the stores under {str(directory)!r}",
            file=sys.stderr,
        )
    shown = f"[{args.host}]" if ":" in args.host else args.host
    print(f"serving {str(directory)!r} at http://{shown}:{port}/ (Ctrl-C to stop)", flush=True)
    config = uvicorn.Config(create_app(directory), log_level="warning", access_log=False)
    with sock, contextlib.suppress(KeyboardInterrupt):  # uvicorn stops, then passes Ctrl-C on
        uvicorn.Server(config).run(sockets=[sock])
    return 0
