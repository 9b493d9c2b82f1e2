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

import sys
from pathlib import Path

from tests.pg_cluster import free_port
from tests.ui.recbot_server import Service

__all__ = ["Service", "chroma_server", "llm_server"]


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
