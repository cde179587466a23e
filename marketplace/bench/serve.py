"""Running ``gunicorn marketplace.wsgi:app`` as a child process, for the load benchmark and the
multi-worker test: a free port, the app's settings as ``MARKETPLACE_*`` variables, a log file,
waiting until it answers, and stopping the whole process group."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

WORKER_HEADER = "X-Worker-PID"  # added by marketplace.wsgi when EXPOSE_WORKER_PID is set


class ServerFailed(RuntimeError):
    """gunicorn exited or did not answer in time; the message ends with its log."""


def redis_reachable(host: str = "127.0.0.1", port: int = 6379) -> bool:
    """Whether a Redis server answers there (shared rate limits and kept figures)."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Gunicorn:
    """``with Gunicorn(settings, log) as server:`` serves on ``server.url`` until the block ends.

    ``settings`` become ``MARKETPLACE_<NAME>`` variables (other ``MARKETPLACE_*`` variables of
    this process are not passed on, so the server runs exactly what it is given).
    """

    def __init__(self, settings: dict[str, object], log: Path, workers: int = 3,
                 threads: int = 1, timeout: float = 120.0, ready_within: float = 300.0):
        self.settings, self.log = settings, log
        self.workers, self.threads = workers, threads
        self.timeout, self.ready_within = timeout, ready_within
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def command(self) -> list[str]:
        command = [sys.executable, "-m", "gunicorn", "--workers", str(self.workers),
                   "--bind", f"127.0.0.1:{self.port}", "--timeout", str(int(self.timeout)),
                   "--graceful-timeout", "10", "--backlog", "2048"]
        if self.threads > 1:
            command += ["--worker-class", "gthread", "--threads", str(self.threads)]
        return [*command, "marketplace.wsgi:app"]

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MARKETPLACE_")}
        env.update({f"MARKETPLACE_{name}": str(value) for name, value in self.settings.items()})
        env.setdefault("MARKETPLACE_EXPOSE_WORKER_PID", "true")
        return env

    def start(self) -> Gunicorn:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("wb") as output:  # the child keeps its own descriptor
            self.process = subprocess.Popen(self.command(), env=self.environment(),
                                            stdout=output, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.ready_within
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerFailed(f"gunicorn exited with {self.process.returncode}:\n"
                                   f"{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/auth/login", timeout=10) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.3)
        self.stop()
        raise ServerFailed(f"gunicorn did not answer within {self.ready_within:.0f} s:\n"
                           f"{self.log_tail()}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def log_tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    def __enter__(self) -> Gunicorn:
        return self.start()

    def __exit__(self, *_exc) -> None:
        self.stop()
