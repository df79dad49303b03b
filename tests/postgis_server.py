"""A throw-away PostgreSQL + PostGIS server for the tests (Debian's ``postgresql``, ``postgis`` packages).

``initdb`` into a temporary folder owned by an unprivileged user (``nobody`` when the tests run as
root), ``pg_ctl start`` on a free 127.0.0.1 port with its Unix socket in that folder, password
authentication (scram-sha-256) for TCP, ``CREATE EXTENSION postgis``; stopped and deleted afterwards.
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

SUPERUSER = "planner"


def postgres_bin() -> Path | None:
    """The newest ``/usr/lib/postgresql/N/bin`` holding initdb, if PostGIS is installed for it."""
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]), reverse=True):
        version = folder.split("/")[-2]
        if Path(folder, "initdb").exists() and glob.glob(f"/usr/share/postgresql/{version}/extension/postgis.control"):
            return Path(folder)
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    """A running server: connect with ``host``, ``port``, ``user``, ``dbname`` and ``password``."""

    root: Path
    bin: Path
    port: int
    password: str
    run_as: list[str]
    host: str = "127.0.0.1"
    user: str = SUPERUSER
    dbname: str = "postgres"

    def uri(self, **query: str) -> str:
        """``postgresql://user@host:port/db?key=value`` (no password: it comes from PGPASSWORD)."""
        from urllib.parse import urlencode

        tail = f"?{urlencode(query)}" if query else ""
        return f"postgresql://{self.user}@{self.host}:{self.port}/{self.dbname}{tail}"

    def connect(self):
        import psycopg

        return psycopg.connect(
            host=self.host, port=self.port, user=self.user, dbname=self.dbname, password=self.password, autocommit=True
        )

    def stop(self) -> None:
        subprocess.run([*self.run_as, str(self.bin / "pg_ctl"), "-D", str(self.root / "data"), "-m", "immediate", "stop"],
                       capture_output=True, check=False)
        shutil.rmtree(self.root, ignore_errors=True)


def start_server() -> Server:
    """Start the server (raise RuntimeError with the server log when it fails)."""
    bin_dir = postgres_bin()
    if bin_dir is None:
        raise FileNotFoundError("PostgreSQL with PostGIS is not installed")
    root = Path(tempfile.mkdtemp(prefix="pg-test-"))
    run_as: list[str] = []
    if os.geteuid() == 0:  # the server refuses to run as root
        nobody = pwd.getpwnam("nobody")
        os.chown(root, nobody.pw_uid, nobody.pw_gid)
        run_as = ["runuser", "-u", "nobody", "--"]
    os.chmod(root, 0o700)
    password = secrets.token_hex(12)
    pwfile = root / "pw"
    pwfile.write_text(password + "\n")
    if run_as:
        os.chown(pwfile, pwd.getpwnam("nobody").pw_uid, -1)
    port = _free_port()
    env = {**os.environ, "LC_ALL": "C.UTF-8"}
    steps = [
        [str(bin_dir / "initdb"), "-D", str(root / "data"), "-U", SUPERUSER, "--pwfile", str(pwfile),
         "--auth-local", "scram-sha-256", "--auth-host", "scram-sha-256", "-E", "UTF8", "--no-sync"],
        [str(bin_dir / "pg_ctl"), "-D", str(root / "data"), "-l", str(root / "log"), "-w", "-t", "30", "-o",
         f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "
         "-c full_page_writes=off -c shared_buffers=32MB", "start"],
    ]
    for step in steps:
        done = subprocess.run([*run_as, *step], capture_output=True, text=True, env=env, cwd=root, check=False)
        if done.returncode != 0:
            log = (root / "log").read_text() if (root / "log").exists() else ""
            shutil.rmtree(root, ignore_errors=True)
            raise RuntimeError(f"{step[0]} failed: {done.stderr or done.stdout} {log}")
    server = Server(root=root, bin=bin_dir, port=port, password=password, run_as=run_as)
    with server.connect() as conn:
        conn.execute("CREATE EXTENSION postgis")
    return server
