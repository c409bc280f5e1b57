"""``deploy``: from registered models to a running server, in one call.

The server runs as its own process (``furima serve``); ``deploy`` returns once it answers
``/readyz`` with every task's champion loaded, or raises with the reason. Meanwhile it checks
the registry itself, so a task without a champion fails at once with a message that says how to
promote one.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from furima.exceptions import RegistryError

__all__ = ["Deployment", "deploy", "free_port"]


@dataclass
class Deployment:
    """A running server started by :func:`deploy`."""

    url: str
    process: subprocess.Popen[bytes]
    seconds_to_ready: float
    log: Path
    versions: dict[str, int] = field(default_factory=dict)

    def stop(self, timeout: float = 35.0) -> int:
        """Graceful shutdown (SIGTERM: in-flight requests finish); the exit code (uvicorn
        re-raises SIGTERM after a clean shutdown, so -15 is normal)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return int(self.process.returncode)

    def __enter__(self) -> Deployment:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()


def deploy(
    tasks: Sequence[str] = (),
    *,
    registry: str | Path = "furima-registry",
    artifact_root: str | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    workers: int = 1,
    ready_seconds: float = 60.0,
    extra_args: Sequence[str] = (),
    detach: bool = False,
) -> Deployment:
    """Start a server for ``tasks`` (default: every servable registered task) and wait until
    it answers.

    Args:
        registry: Registry folder or database URL.
        port: 0 picks a free port.
        workers: uvicorn worker processes.
        extra_args: More ``furima serve`` options (``--max-batch-size 64``...).
        detach: Let the server outlive this process (its own session).
    """
    started = time.perf_counter()
    port = port or free_port(host)
    command = [sys.executable, "-m", "furima", "serve", "--registry", str(registry)]
    command += ["--host", host, "--port", str(port), "--workers", str(workers), *extra_args]
    command += [arg for task in tasks for arg in ("--task", task)]
    if artifact_root:
        command += ["--artifact-root", artifact_root]
    env = {**os.environ, "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "PASSIVE")}
    handle, name = tempfile.mkstemp(prefix="furima-serve-", suffix=".log")
    log = Path(name)
    with os.fdopen(handle, "wb") as output:
        process = subprocess.Popen(
            command, stdout=output, stderr=output, env=env, start_new_session=detach
        )
    url = f"http://{host}:{port}"
    try:
        versions = _champions(str(registry), artifact_root, tasks)
        _wait_ready(process, url, ready_seconds, log)
    except BaseException:
        if process.poll() is None:
            process.kill()
        process.wait()
        raise
    return Deployment(url, process, time.perf_counter() - started, log, versions)


def _champions(registry: str, artifact_root: str | None, tasks: Sequence[str]) -> dict[str, int]:
    from furima.registry import ModelRegistry

    target = ModelRegistry(registry, artifact_root=artifact_root)
    versions = {}
    for task in tasks or target.tasks():
        champion = target.deployment(task).champion
        if champion is None and tasks:
            raise RegistryError(
                f"{task!r} has no champion to serve; promote a version first "
                f"(furima models promote {task} VERSION)."
            )
        if champion is not None:
            versions[task] = champion.version
    if not versions:
        raise RegistryError(f"{target.location.display()} has no champion to serve yet.")
    return versions


def _wait_ready(process: subprocess.Popen[bytes], url: str, seconds: float, log: Path) -> None:
    import httpx as client

    deadline = time.monotonic() + seconds
    last = "no answer"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace").strip().splitlines()[-15:]
            raise RuntimeError(
                f"the server exited with code {process.returncode} before it was ready "
                f"(log: {log}):\n" + "\n".join(tail)
            )
        try:
            answer = client.get(f"{url}/readyz", timeout=2)
            if answer.status_code == 200:
                return
            last = answer.text
        except client.HTTPError as error:
            last = str(error)
        time.sleep(0.05)
    raise RuntimeError(f"the server at {url} was not ready within {seconds:.0f} s: {last}")


def free_port(host: str = "127.0.0.1") -> int:
    """A port the OS says is free on ``host`` now."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])
