"""A throwaway PostgreSQL server on loopback, for the tests that need a real one.

Not a test module: ``tests/registry/conftest.py`` wraps it in the ``postgres_uri`` fixture. The
server binaries come from Debian's ``postgresql`` package (``tools/install_postgres.sh``), or
from PATH. PostgreSQL refuses to run as root, so under root the cluster belongs to an
unprivileged user (``postgres``, else ``nobody``) and every server command runs as that user.
"""

from __future__ import annotations

import os
import pwd
import re
import shlex
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

__all__ = ["PostgresUnavailable", "find_postgres_bin", "running_postgres", "skip_message"]

_TOOLS = ("initdb", "pg_ctl", "postgres", "createdb")
_DEBIAN_ROOT = Path("/usr/lib/postgresql")
_SERVER_USERS = ("postgres", "nobody")
_ROLE = "postgres"
_DATABASE = "furima"
_HOST = "127.0.0.1"
_TIMEOUT_S = 60
# A unix socket path holds at most 107 bytes, and the socket's own name takes up to 17.
_SOCKET_DIR_MAX = 90
_HBA = f"local all all trust\nhost all all {_HOST}/32 trust\n"


class PostgresUnavailable(Exception):
    """No PostgreSQL server can be started here; the message says why."""


def skip_message(reason: PostgresUnavailable) -> str:
    """Why a test that needs PostgreSQL is skipped, and how to make it run."""
    return (
        f"PostgreSQL is not available here: {str(reason).rstrip('.')}. Install Debian's "
        "postgresql package (tools/install_postgres.sh does it) to run this test."
    )


def find_postgres_bin() -> Path | None:
    """The folder with initdb, pg_ctl, postgres and createdb: Debian's newest, then PATH's."""
    for folder in [*_debian_bin_dirs(), *_path_bin_dirs()]:
        if all(os.access(folder / tool, os.X_OK) for tool in _TOOLS):
            return folder
    return None


def _debian_bin_dirs() -> list[Path]:
    return sorted(_DEBIAN_ROOT.glob("*/bin"), key=_version_key, reverse=True)


def _version_key(bin_dir: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", bin_dir.parent.name))


def _path_bin_dirs() -> list[Path]:
    found = shutil.which("pg_ctl")
    return [] if found is None else [Path(found).resolve().parent]


@contextmanager
def running_postgres(base: Path) -> Iterator[str]:
    """Start a fresh cluster under ``base``; yield its SQLAlchemy URL; stop it on exit, always.

    The server listens on 127.0.0.1 only, on a free port, with trust authentication and
    fsync off: fast, and fit for nothing but tests. The URL names the database ``furima`` and
    the psycopg2 driver explicitly (SQLAlchemy 2.1 reads a bare ``postgresql://`` as psycopg 3).

    Raises:
        PostgresUnavailable: no server binaries, or the cluster could not be made or started.
    """
    bin_dir = find_postgres_bin()
    if bin_dir is None:
        raise PostgresUnavailable(
            f"no PostgreSQL server binaries ({', '.join(_TOOLS)}) under "
            f"{_DEBIAN_ROOT}/*/bin or on PATH"
        )
    user = _server_user()
    with _cluster_folder(base, user) as folder:
        server = _Server(bin_dir, folder, user, _free_port())
        server.init()
        try:
            server.start()
            server.create_database()
            yield server.url
        finally:
            server.stop()


def _server_user() -> str | None:
    """None to run the server as ourselves; under root, an unprivileged user to run it as."""
    if os.geteuid() != 0:
        return None
    for name in _SERVER_USERS:
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    raise PostgresUnavailable(
        f"running as root, which PostgreSQL refuses, and none of the users "
        f"{', '.join(_SERVER_USERS)} exists to run it as"
    )


def _as_user(user: str | None, args: Sequence[str]) -> list[str]:
    if user is None:
        return list(args)
    if shutil.which("runuser"):
        return ["runuser", "-u", user, "--", *args]
    return ["su", "-s", "/bin/sh", "-c", shlex.join(args), user]


@contextmanager
def _cluster_folder(base: Path, user: str | None) -> Iterator[Path]:
    """``base``/pg, or under root where ``user`` cannot reach ``base``, a folder in /tmp."""
    if user is None or _reachable(base, user):
        folder = base / "pg"
        folder.mkdir(parents=True)
        _give_to(folder, user)
        yield folder
        return
    folder = Path(tempfile.mkdtemp(prefix="furima-pg-", dir="/tmp"))
    try:
        _give_to(folder, user)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _reachable(base: Path, user: str) -> bool:
    """Whether ``user`` can get into ``base`` (every folder above it searchable), for base/pg."""
    probe = _as_user(user, ["test", "-x", str(base)])
    try:
        return subprocess.run(probe, capture_output=True, check=False).returncode == 0
    except OSError:  # neither runuser nor su: initdb will fail and say so
        return False


def _give_to(folder: Path, user: str | None) -> None:
    if user is not None:
        shutil.chown(folder, user=user)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((_HOST, 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class _Server:
    """One cluster: its binaries, its folder (data/, server.log, sock/), its user and port."""

    bin_dir: Path
    folder: Path
    user: str | None
    port: int

    @property
    def data(self) -> Path:
        return self.folder / "data"

    @property
    def log(self) -> Path:
        return self.folder / "server.log"

    @property
    def url(self) -> str:
        return f"postgresql+psycopg2://{_ROLE}@{_HOST}:{self.port}/{_DATABASE}"

    def init(self) -> None:
        """initdb, then loopback-only trust authentication and test-speed settings."""
        self._server_command(
            "initdb",
            ["-D", str(self.data), "-U", _ROLE, "-A", "trust", "-E", "UTF8", "--no-locale", "-N"],
        )
        (self.data / "pg_hba.conf").write_text(_HBA)
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(self._settings())

    def _settings(self) -> str:
        settings = {
            "listen_addresses": f"'{_HOST}'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self._make_socket_dir()}'",
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
        }
        return "\n# furima tests\n" + "".join(f"{k} = {v}\n" for k, v in settings.items())

    def _make_socket_dir(self) -> str:
        """Our own socket folder, not /var/run/postgresql; "" (TCP only) if its path is too long."""
        socket_dir = self.folder / "sock"
        if len(str(socket_dir)) > _SOCKET_DIR_MAX:
            return ""
        socket_dir.mkdir()
        _give_to(socket_dir, self.user)
        return str(socket_dir)

    def start(self) -> None:
        args = ["-D", str(self.data), "-l", str(self.log), "-w", "-t", "30", "-s", "start"]
        try:
            self._server_command("pg_ctl", args)
        except PostgresUnavailable as error:
            raise PostgresUnavailable(f"{error}; server log: {self._log_tail()}") from error

    def create_database(self) -> None:
        host = ["-h", _HOST, "-p", str(self.port), "-U", _ROLE]
        _run([str(self.bin_dir / "createdb"), *host, _DATABASE], "createdb", self.folder)

    def stop(self) -> None:
        args = ["-D", str(self.data), "-m", "fast", "-w", "-t", "30", "-s", "stop"]
        command = _as_user(self.user, [str(self.bin_dir / "pg_ctl"), *args])
        subprocess.run(command, cwd=self.folder, env=_clean_env(), capture_output=True, check=False)

    def _server_command(self, tool: str, args: Sequence[str]) -> None:
        command = _as_user(self.user, [str(self.bin_dir / tool), *args])
        _run(command, tool, self.folder)

    def _log_tail(self) -> str:
        try:
            return _tail(self.log.read_text(errors="replace"))
        except OSError as error:
            return f"(unreadable: {error})"


def _run(command: Sequence[str], what: str, cwd: Path) -> None:
    """Run ``command``; a failure becomes PostgresUnavailable naming ``what`` and its output."""
    try:
        done = subprocess.run(
            command,
            cwd=cwd,
            env=_clean_env(),
            capture_output=True,
            text=True,
            timeout=_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise PostgresUnavailable(f"{what} could not run: {error}") from error
    if done.returncode != 0:
        output = _tail(done.stderr + done.stdout)
        raise PostgresUnavailable(f"{what} failed (exit {done.returncode}): {output}")


def _clean_env() -> dict[str, str]:
    """Our environment without PG* variables (PGDATA, PGHOST, ...), which would steer the tools."""
    return {key: value for key, value in os.environ.items() if not key.startswith("PG")}


def _tail(text: str, lines: int = 5) -> str:
    kept = [line.strip() for line in text.strip().splitlines()[-lines:]]
    return " | ".join(kept) or "(no output)"
