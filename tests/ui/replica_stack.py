"""The scaled-out deployment of docs/deploy.md on loopback: servers the replicas share, as subprocesses.

* PostgreSQL: :class:`tests.pg_cluster.PostgresCluster` (initdb + pg_ctl into a temporary folder);
* Chroma: ``chroma run --path DIR`` on a copy of a built home's index folder (the embedded index and
  the server share chromadb's on-disk format, so nothing is re-embedded);
* the LLM: llama-cpp-python's OpenAI-compatible server (``python -m llama_cpp.server``, from the
  ``llama-cpp-python[server]`` extra) on the packaged SmolLM2-135M-Instruct GGUF with its chat
  template (the packaged Gemma is a base model, which needs recbot's own few-shot prompt and so the
  in-process llama.cpp backend);
* replicas: ``recbot serve --no-ui`` (:class:`tests.ui.recbot_server.RecbotServer`) with
  ``RECBOT_DATABASE_URL``, ``RECBOT_CHROMA_URL`` and ``RECBOT_LLM_BACKEND=openai``.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import httpx

from tests.pg_cluster import free_port


class Service:
    """One server subprocess, ready once ``ready_path`` answers 200."""

    def __init__(self, name: str, args: list[str], port: int, ready_path: str, log_path: Path) -> None:
        self.name, self.args, self.port = name, args, port
        self.url = f"http://127.0.0.1:{port}"
        self.ready_path = ready_path
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def start(self, timeout_s: float = 120.0) -> None:
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop
        self.proc = subprocess.Popen(self.args, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                if httpx.get(self.url + self.ready_path, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"{self.name} did not answer within {timeout_s} s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_tail(self, n: int = 3000) -> str:
        try:
            return self.log_path.read_bytes()[-n:].decode("utf-8", "replace")
        except OSError:
            return ""


def chroma_cli() -> str:
    beside = Path(sys.executable).with_name("chroma")
    if not beside.is_file():
        raise RuntimeError(f"the `chroma` CLI (installed with chromadb) is missing beside {sys.executable}")
    return str(beside)


def chroma_server(path: Path, log_path: Path) -> Service:
    port = free_port()
    args = [chroma_cli(), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)]
    return Service("chroma", args, port, "/api/v2/heartbeat", log_path)


def llm_server(model: Path, log_path: Path, threads: int = 1) -> Service:
    """llama.cpp's OpenAI-compatible server; the model is served under the name ``local``."""
    port = free_port()
    args = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(model),
        "--model_alias",
        "local",
        "--chat_format",
        "chatml",
        "--n_ctx",
        "1024",
        "--n_threads",
        str(threads),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    return Service("llama.cpp server", args, port, "/v1/models", log_path)
