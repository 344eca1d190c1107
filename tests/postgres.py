"""A throwaway PostgreSQL server on 127.0.0.1 (Debian's postgresql, run as its user), for the
gradebook tests and the scale benchmark."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

BINARIES = sorted(Path("/usr/lib/postgresql").glob("*/bin"))


class Unavailable(RuntimeError):
    """PostgreSQL is not installed, or we are not root (needed to run it as ``postgres``)."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_postgres(*argv: str) -> None:
    subprocess.run(["runuser", "-u", "postgres", "--", *argv], check=True, capture_output=True,
                   timeout=120)


@contextlib.contextmanager
def server(database: str = "grades") -> Iterator[str]:
    """Start a server with an empty ``database``; yield its SQLAlchemy URL; stop and delete it."""
    if not BINARIES or os.geteuid() != 0:
        raise Unavailable("PostgreSQL (Debian's postgresql) and root are needed to start a server")
    bin_dir, port = BINARIES[-1], _free_port()
    data = Path(tempfile.mkdtemp(prefix="pg-"))
    shutil.chown(data, "postgres", "postgres")
    _as_postgres(str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres")
    _as_postgres(str(bin_dir / "pg_ctl"), "-D", str(data), "-w", "-l", str(data / "log"), "-o",
                 f"-p {port} -k {data} -c listen_addresses=127.0.0.1", "start")
    try:
        _as_postgres(str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), database)
        yield f"postgresql+psycopg2://postgres@127.0.0.1:{port}/{database}"
    finally:
        _as_postgres(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop")
        shutil.rmtree(data, ignore_errors=True)
