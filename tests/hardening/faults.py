"""Private services for the fault tests: a Redis and a PostgreSQL cluster of the test's own, which it
may kill and restart without disturbing the machine's shared services; a gunicorn web process."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from bench.common import celery_worker_command, free_port

ROOT = Path(__file__).resolve().parents[2]
PG_VERSION_DIR = Path("/usr/lib/postgresql")


def port_open(port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_port(port: int, up: bool = True, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open(port) == up:
            return
        time.sleep(0.05)
    raise TimeoutError(f"port {port} still {'closed' if up else 'open'} after {timeout:.0f} s")


class RedisServer:
    """redis-server on a free port. With `persistent`, an append-only file synced on every write,
    so a SIGKILL loses nothing the server had acknowledged (as a production broker is run)."""

    def __init__(self, workdir: Path, persistent: bool = False):
        self.port = free_port()
        self.workdir = workdir
        self.persistent = persistent
        self.process: subprocess.Popen | None = None
        workdir.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        args += ["--dir", str(self.workdir), "--logfile", str(self.workdir / "redis.log")]
        args += ["--appendonly", "yes", "--appendfsync", "always"] if self.persistent else ["--appendonly", "no"]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_port(self.port)
        except TimeoutError:
            self.stop()
            raise
        return self

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        wait_port(self.port, up=False)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


def pg_tools_available() -> bool:
    return all(shutil.which(tool) for tool in ("pg_createcluster", "pg_ctlcluster", "pg_dropcluster")) and (
        os.geteuid() == 0
    )


class PgCluster:
    """A Debian PostgreSQL cluster of the test's own (pg_createcluster), dropped at the end. A
    cluster left by an interrupted run is dropped and created again, so the test is idempotent."""

    def __init__(self, name: str = "copylift_fault"):
        versions = sorted(p.name for p in PG_VERSION_DIR.iterdir()) if PG_VERSION_DIR.exists() else []
        self.version = versions[-1] if versions else "15"
        self.name = name
        self.port = free_port()

    def _ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(args, capture_output=True, text=True, timeout=120, check=check)

    def create(self) -> PgCluster:
        self.drop()
        self._ctl("pg_createcluster", self.version, self.name, "-p", str(self.port), "--", "--auth=trust")
        self._ctl("pg_ctlcluster", "--skip-systemctl-redirect", self.version, self.name, "start")
        wait_port(self.port)
        return self

    def restart(self) -> None:
        # Fast shutdown: every open connection is terminated, in-flight transactions are lost.
        self._ctl("pg_ctlcluster", "--skip-systemctl-redirect", self.version, self.name, "restart", "-m", "fast")
        wait_port(self.port)

    def drop(self) -> None:
        self._ctl("pg_dropcluster", "--stop", self.version, self.name, check=False)

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"


class Gunicorn:
    """The WSGI app in gthread workers, as production runs it."""

    def __init__(self, env: dict[str, str], log: Path, workers: int = 1, threads: int = 4):
        self.port = free_port()
        self.env, self.log, self.workers, self.threads = env, log, workers, threads
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Gunicorn:
        args = [sys.executable, "-m", "gunicorn", "abplatform.wsgi:application", "--bind", f"127.0.0.1:{self.port}"]
        args += ["--workers", str(self.workers), "--threads", str(self.threads), "--worker-class", "gthread"]
        args += ["--log-level", "warning", "--timeout", "60"]
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(args, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT)
        try:
            wait_port(self.port, timeout=60)
        except TimeoutError:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()


def celery_worker(env: dict[str, str], log: Path, concurrency: int = 2, beat: bool = False) -> subprocess.Popen:
    """An `ingest` worker logging at INFO, so that its retries can be counted in its log; with `beat`,
    also the beat scheduler (its schedule file beside the log), which sweeps the ingest outbox."""
    args = celery_worker_command("ingest", concurrency, "INFO", heartbeat=False)
    if beat:
        args += ["--beat", "--schedule", str(log.with_suffix(".beat-schedule"))]
    with log.open("ab") as out:
        return subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def stop_group(process: subprocess.Popen | None) -> None:
    if process is None or process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
