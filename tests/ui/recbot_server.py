"""Run ``recbot serve`` as a real subprocess on a loopback port (durability tests and bench/soak.py).

The server runs exactly as a user starts it (``recbot serve --no-ui``), so SIGKILL really kills
the process that holds the database, and its memory can be read from /proc.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import httpx

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def copy_home(built: Path, dst: Path) -> Path:
    """A private copy of a built home (artifacts and index, not its database)."""
    shutil.copytree(built, dst, ignore=shutil.ignore_patterns("recbot.db*"))
    return dst


class Service:
    """One server subprocess on a loopback port, ready once ``ready_path`` answers 200.

    :class:`RecbotServer` is one; tests/ui/replica_stack.py starts Chroma and llama.cpp's server
    with it. :meth:`start` again after :meth:`kill` restarts it on the same port.
    """

    def __init__(
        self,
        name: str,
        args: list[str],
        port: int,
        ready_path: str,
        log_path: Path,
        env: dict[str, str] | None = None,
    ) -> None:
        self.name, self.args, self.port = name, args, port
        self.url = f"http://127.0.0.1:{port}"
        self.ready_path = ready_path
        self.log_path = log_path
        self.env = env  # None: this process's environment
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def start(self, timeout_s: float = 120.0) -> None:
        """Start the process and wait until it answers."""
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in kill/stop
        self.proc = subprocess.Popen(
            self.args, cwd=REPO, env=self.env, stdout=self._log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                if httpx.get(self.url + self.ready_path, timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"{self.name} did not answer within {timeout_s} s:\n{self.log_tail()}")

    def kill(self) -> int:
        """SIGKILL: no shutdown handler, no flush, no goodbye. Returns the exit status (-9)."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        code = self.proc.wait(timeout=30)
        self._close_log()
        return code

    def stop(self) -> None:
        """SIGTERM and wait (SIGKILL after 20 s)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._close_log()

    def rss_bytes(self) -> int:
        """The process's resident memory, from /proc."""
        assert self.proc is not None
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("no VmRSS in /proc status")

    def log_tail(self, n: int = 4000) -> str:
        try:
            return self.log_path.read_bytes()[-n:].decode("utf-8", "replace")
        except OSError:
            return ""

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None


class RecbotServer(Service):
    """One ``recbot serve --no-ui`` process with its own home and data folder."""

    def __init__(
        self,
        home: Path,
        data_dir: Path,
        log_path: Path,
        port: int | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.home, self.data_dir = home, data_dir
        self.extra_env = dict(env or {})
        port = port or free_port()
        args = [sys.executable, "-c", "from ui.cli import main; main()", "serve", "--no-ui"]
        args += ["--host", "127.0.0.1", "--port", str(port)]
        super().__init__("recbot serve", args, port, "/api/v1/health", log_path, self.environment())

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("RECBOT_")}
        env.update(
            {
                "RECBOT_HOME": str(self.home),
                "RECBOT_DATA_DIR": str(self.data_dir),
                "RECBOT_LLM_BACKEND": "template",
                "HF_HUB_OFFLINE": "1",
                "TRANSFORMERS_OFFLINE": "1",
                "ANONYMIZED_TELEMETRY": "False",
                "GRADIO_ANALYTICS_ENABLED": "False",
                "PYTHONPATH": str(REPO) + os.pathsep + env.get("PYTHONPATH", ""),
            }
        )
        env.update(self.extra_env)
        return env

    def start(self, timeout_s: float = 300.0) -> None:
        """Start the server and wait until it answers (it loads every component before listening)."""
        super().start(timeout_s)
