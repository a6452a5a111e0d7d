"""A throw-away PostgreSQL cluster for tests: initdb + pg_ctl in a temporary
directory, listening on a loopback port only, trust authentication, no fsync.

Needs the server binaries (Debian: `apt-get install postgresql`; found under
/usr/lib/postgresql/*/bin or on PATH). PostgreSQL refuses to run as root, so
as root the cluster runs as the `postgres` system user the package creates.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from devnet.processes import free_port

USER = "cie"


def server_binaries() -> Path | None:
    """The directory holding initdb and pg_ctl, or None."""
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(Path(on_path).parent)
    for directory in candidates:
        if (directory / "initdb").exists() and (directory / "pg_ctl").exists():
            return directory
    return None


def why_unavailable() -> str | None:
    if server_binaries() is None:
        return "PostgreSQL server binaries (initdb, pg_ctl) not found: apt-get install postgresql"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no 'postgres' user to run the server as"
    return None


@contextmanager
def postgres_cluster() -> Iterator[str]:
    """Start a cluster; yields its SQLAlchemy URL (psycopg 3), stops and deletes it after."""
    reason = why_unavailable()
    if reason:
        raise RuntimeError(reason)
    binaries = server_binaries()
    assert binaries is not None
    directory = Path(tempfile.mkdtemp(prefix="cie-pg-"))
    data = directory / "data"
    port = free_port()
    as_user: list[str] = []
    if os.geteuid() == 0:
        entry = pwd.getpwnam("postgres")
        os.chown(directory, entry.pw_uid, entry.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    log_file = directory / "server.log"
    options = (
        f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={directory} "
        "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    )
    try:
        subprocess.run(
            [*as_user, str(binaries / "initdb"), "-D", str(data), "-U", USER, "--auth=trust",
             "--no-sync", "-E", "UTF8"],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        subprocess.run(
            [*as_user, str(binaries / "pg_ctl"), "-D", str(data), "-l", str(log_file),
             "-o", options, "-w", "-t", "60", "start"],
            check=True, capture_output=True, timeout=90,
        )  # fmt: skip
        yield f"postgresql+psycopg://{USER}@127.0.0.1:{port}/postgres"
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run(
                [*as_user, str(binaries / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
                capture_output=True,
                timeout=60,
            )
        shutil.rmtree(directory, ignore_errors=True)
