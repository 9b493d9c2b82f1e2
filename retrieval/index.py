"""The item index: one Chroma collection of item vectors, built idempotently and searched by meaning.

Building compares a content hash per item (stored in the metadata) with the catalog, so a rerun only
embeds new or changed items, removes deleted ones and refreshes rating statistics in place; batches are
upserted as they are embedded, so an interrupted build continues where it stopped. The collection
records the embedding model's name and dimension: an index made with another model (or a broken store)
is detected and rebuilt with a clear message instead of returning wrong neighbours.

Storage goes through LangChain (``langchain_chroma.Chroma`` with ``HuggingFaceEmbeddings``); the hot
path also keeps the item vectors as one normalised numpy matrix for exact scoring of candidate sets.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from cf_engine.data.catalog import Dataset
from retrieval import embeddings as emb
from retrieval.config import RetrievalConfig
from retrieval.documents import DOC_FORMAT, item_document, item_metadata
from retrieval.store import ChromaConnectionError, hnsw_configuration, make_client

log = logging.getLogger(__name__)

UPSERT_BATCH = 256  # items embedded and written per step (the unit of resumption)
VECTOR_PAGE = 2048  # items per read when loading every vector (bounds the Python floats alive at once)


class IndexNotReadyError(RuntimeError):
    """A search on an index that has not been built (run ``recbot index``)."""


@dataclass
class BuildReport:
    """What one :meth:`ItemIndex.build` did."""

    n_items: int  # items in the index after the build
    embedded: int  # items whose text was (re-)embedded
    metadata_updated: int  # items whose statistics changed without a text change
    deleted: int  # items no longer in the catalog
    rebuilt: bool  # the collection was dropped first (mismatch or corruption)
    reason: str | None  # why it was rebuilt
    seconds: float
    copied: int = 0  # items whose vector was copied from another index (``reuse_from``)
    model_seconds: float = 0.0  # of ``seconds``, the time spent inside the embedding model
    # Chroma's upserts (SQLite and HNSW insertion) in the writer thread, overlapping the model, and
    # how long the model loop waited for them: on a machine whose cores the model already fills, the
    # writes slow the model down instead of hiding behind it.
    write_seconds: float = 0.0
    wait_seconds: float = 0.0


class ItemIndex:
    """Chroma-backed semantic index of the catalog's items."""

    def __init__(self, settings: RetrievalConfig) -> None:
        self.settings = settings
        self._client: Any = None
        self._store: Any = None
        self._vectors: tuple[np.ndarray, np.ndarray] | None = None
        self._lock = threading.Lock()

    # --- connection ------------------------------------------------------------------------
    def client(self) -> Any:
        """The chromadb client (opened once)."""
        if self._client is None:
            self._client = make_client(self.settings)
        return self._client

    def expected_metadata(self) -> dict[str, Any]:
        """Collection metadata this process would write: what an existing index must match."""
        return {
            "embedding_model": emb.model_name(self.settings),
            "embedding_dim": emb.embedding_dim(self.settings),
            "doc_format": DOC_FORMAT,
            "hnsw_ef_construction": self.settings.hnsw_ef_construction,
            "hnsw_m": self.settings.hnsw_m,
        }

    def _collection_or_none(self) -> Any:
        try:
            return self.client().get_collection(self.settings.chroma_collection)
        except ChromaConnectionError:
            raise
        except Exception as exc:  # chromadb raises NotFoundError / ValueError by version
            if "does not exist" in str(exc) or type(exc).__name__ == "NotFoundError":
                return None
            raise

    def _langchain_store(self) -> Any:
        """The LangChain vector store on our collection (created with our configuration if absent)."""
        if self._store is None:
            from langchain_chroma import Chroma

            self._store = Chroma(
                client=self.client(),
                collection_name=self.settings.chroma_collection,
                embedding_function=emb.load_embeddings(self.settings),
                collection_metadata=self.expected_metadata(),
                collection_configuration=hnsw_configuration(self.settings),  # type: ignore[arg-type]
            )
        return self._store

    def mismatch(self) -> str | None:
        """Why the existing collection cannot be used as is, or None (also None when it is absent)."""
        collection = self._collection_or_none()
        if collection is None:
            return None
        stored = dict(collection.metadata or {})
        expected = self.expected_metadata()
        for key in ("embedding_model", "embedding_dim", "doc_format", "hnsw_ef_construction", "hnsw_m"):
            if stored.get(key) != expected[key]:
                return (
                    f"index {self.settings.chroma_collection!r} was built with {key}={stored.get(key)!r}, "
                    f"this configuration needs {expected[key]!r}"
                )
        sample = collection.get(limit=1, include=["embeddings"])
        vectors = sample.get("embeddings")
        if vectors is not None and len(vectors) and len(vectors[0]) != expected["embedding_dim"]:
            return (
                f"index {self.settings.chroma_collection!r} holds {len(vectors[0])}-dimensional vectors, "
                f"the model makes {expected['embedding_dim']}"
            )
        return None

    def is_ready(self) -> bool:
        """True when the collection exists, matches this model and holds items."""
        try:
            collection = self._collection_or_none()
            return collection is not None and collection.count() > 0 and self.mismatch() is None
        except Exception as exc:  # a broken store is "not ready", and the reason is logged
            log.warning("index not ready: %s", exc)
            return False

    def drop(self) -> None:
        """Delete the collection (and, for a broken local store, its folder)."""
        self._store = None
        self._vectors = None
        try:
            if self._collection_or_none() is not None:
                self.client().delete_collection(self.settings.chroma_collection)
        except ChromaConnectionError:
            raise
        except Exception:
            if self.settings.chroma_url:
                raise
            self._wipe_local_store()

    def _wipe_local_store(self) -> None:
        self._client = None
        self._store = None
        try:
            from chromadb.api.shared_system_client import SharedSystemClient

            SharedSystemClient.clear_system_cache()  # forget the cached broken system
        except Exception as exc:  # only a cache; log and go on
            log.debug("could not clear chroma's client cache: %s", exc)
        shutil.rmtree(self.settings.chroma_dir, ignore_errors=True)

    # --- building --------------------------------------------------------------------------
    def build(
        self, dataset: Dataset, progress: bool = True, reuse_from: ItemIndex | None = None
    ) -> BuildReport:
        """Make the collection match ``dataset``'s catalog; embeds only new or changed items.

        ``reuse_from``: another index of the same model (e.g. the main one, when building an
        evaluation copy) whose vectors are copied for items with the same text instead of re-embedding.
        """
        started = time.perf_counter()
        rebuilt, reason = self._open_or_reset()
        collection = self._langchain_store()._collection

        stats = dataset.item_stats()
        all_genres = sorted({g for item in dataset.catalog for g in item.genres})
        docs: dict[str, str] = {}
        metas: dict[str, dict[str, Any]] = {}
        for item in dataset.catalog:
            key = str(item.item_id)
            row = stats.loc[item.item_id]
            mean = None if np.isnan(row["mean_rating"]) else float(row["mean_rating"])
            docs[key] = item_document(item)
            metas[key] = item_metadata(item, docs[key], int(row["count"]), mean, all_genres)

        existing = collection.get(include=["metadatas"])
        stored = {i: (m or {}) for i, m in zip(existing["ids"], existing["metadatas"], strict=True)}
        deleted = [i for i in stored if i not in docs]
        to_embed = [i for i in docs if stored.get(i, {}).get("doc_hash") != metas[i]["doc_hash"]]
        # (A set, built once: testing ``i not in set(to_embed)`` per item rebuilt it 100k times on a
        # resumed 100k-item build, quadratic in the catalog.)
        embed_set = set(to_embed)
        to_update = [i for i in docs if i in stored and i not in embed_set and stored[i] != metas[i]]

        if deleted:
            collection.delete(ids=deleted)
        for start in range(0, len(to_update), UPSERT_BATCH):
            ids = to_update[start : start + UPSERT_BATCH]
            collection.update(ids=ids, metadatas=[metas[i] for i in ids])
        copied = self._copy_vectors(reuse_from, collection, to_embed, docs, metas) if reuse_from else set()
        timing = self._embed_and_upsert(
            collection, [i for i in to_embed if i not in copied], docs, metas, progress, len(docs)
        )

        self._vectors = None
        return BuildReport(
            n_items=collection.count(),
            embedded=len(to_embed) - len(copied),
            copied=len(copied),
            metadata_updated=len(to_update),
            deleted=len(deleted),
            rebuilt=rebuilt,
            reason=reason,
            seconds=time.perf_counter() - started,
            **timing,
        )

    def _open_or_reset(self) -> tuple[bool, str | None]:
        """Drop a mismatched or unreadable collection; returns (rebuilt, reason)."""
        try:
            reason = self.mismatch()
        except ChromaConnectionError:
            raise
        except Exception as exc:
            if self.settings.chroma_url:
                raise ChromaConnectionError(
                    f"the Chroma server at {self.settings.chroma_url} failed: {exc}"
                ) from exc
            reason = f"the index at {self.settings.chroma_dir} is unreadable ({type(exc).__name__}: {exc})"
            log.warning("%s; rebuilding it", reason)
            self._wipe_local_store()
            return True, reason
        if reason is None:
            self._apply_search_settings()
            return False, None
        log.warning("%s; rebuilding it", reason)
        self.drop()
        return True, reason

    def _apply_search_settings(self) -> None:
        """ef_search is a query-time knob: change it in place when the settings changed."""
        collection = self._collection_or_none()
        if collection is None:
            return
        current = (collection.configuration_json or {}).get("hnsw") or {}
        if current.get("ef_search") != self.settings.hnsw_ef_search:
            collection.modify(configuration={"hnsw": {"ef_search": self.settings.hnsw_ef_search}})
            self._store = None

    def _copy_vectors(
        self,
        source: ItemIndex,
        collection: Any,
        ids: list[str],
        docs: dict[str, str],
        metas: dict[str, dict[str, Any]],
    ) -> set[str]:
        """Upsert vectors of ``source`` for items whose text hash matches; returns the ids copied."""
        if not ids or not source.is_ready() or source.expected_metadata() != self.expected_metadata():
            return set()
        copied: set[str] = set()
        source_collection = source._ready_store()._collection
        for start in range(0, len(ids), UPSERT_BATCH * 4):
            batch = ids[start : start + UPSERT_BATCH * 4]
            got = source_collection.get(ids=batch, include=["metadatas", "embeddings"])
            same = [
                (i, vector)
                for i, meta, vector in zip(got["ids"], got["metadatas"], got["embeddings"], strict=True)
                if (meta or {}).get("doc_hash") == metas[i]["doc_hash"]
            ]
            if same:
                collection.upsert(
                    ids=[i for i, _ in same],
                    embeddings=[list(map(float, v)) for _, v in same],
                    metadatas=[metas[i] for i, _ in same],
                )
                copied.update(i for i, _ in same)
        return copied

    def _embed_and_upsert(
        self,
        collection: Any,
        ids: list[str],
        docs: dict[str, str],
        metas: dict[str, dict[str, Any]],
        progress: bool,
        n_total: int,
    ) -> dict[str, float]:
        """Embed ``ids`` batch by batch and upsert each batch; returns model, write and wait seconds.

        The model embeds batch k+1 while a writer thread upserts batch k (Chroma's SQLite and HNSW
        work then fills the gaps of torch's threads instead of adding to the wall clock). Each batch
        is durable once its upsert returns, so a build killed at any point loses at most the batch
        being written and the one being embedded; the next build embeds only what is missing.
        Vectors go to Chroma as they come from the model (no documents: nothing reads them back, and
        storing them cost Chroma a full-text index, ~3% of the embedding time).
        The bar counts the catalog's ``n_total`` items and starts at those already indexed, so a
        build resumed after a kill shows where it stands, not a fresh count.
        """
        from tqdm.auto import tqdm

        bar = tqdm(
            total=n_total,
            initial=n_total - len(ids),
            desc="embedding items",
            unit="item",
            disable=not progress or not ids,
        )
        # Shortest texts first: every batch then holds texts of about one length, so the model pads
        # little. On ml-latest-small (mean 19 word pieces) catalog order padded 228k word pieces
        # for 184k real ones; sorted, 186k. Embedding is compute-bound, so the build is that much
        # faster. The order does not matter otherwise: each batch is upserted and durable.
        ids = sorted(ids, key=lambda i: (len(docs[i]), i))
        timing = {"model_seconds": 0.0, "write_seconds": 0.0, "wait_seconds": 0.0}
        pending: Future[None] | None = None
        writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="index-upsert")

        def write(batch: list[str], vectors: np.ndarray) -> None:
            started = time.perf_counter()
            collection.upsert(ids=batch, embeddings=vectors, metadatas=[metas[i] for i in batch])
            timing["write_seconds"] += time.perf_counter() - started  # only this thread writes it

        try:
            for start in range(0, len(ids), UPSERT_BATCH):
                batch = ids[start : start + UPSERT_BATCH]
                started = time.perf_counter()
                vectors = emb.embed_texts(self.settings, [docs[i] for i in batch])
                waited = time.perf_counter()
                timing["model_seconds"] += waited - started
                if pending is not None:
                    pending.result()  # the previous batch is durable before the next is queued
                    bar.update(UPSERT_BATCH)
                timing["wait_seconds"] += time.perf_counter() - waited
                pending = writer.submit(write, batch, vectors)
            if pending is not None:
                waited = time.perf_counter()
                pending.result()
                timing["wait_seconds"] += time.perf_counter() - waited
                bar.update(n_total - bar.n)
        finally:
            writer.shutdown(wait=True, cancel_futures=True)
            bar.close()
        return timing

    # --- searching -------------------------------------------------------------------------
    def _ready_store(self) -> Any:
        if self._store is None:
            if self._collection_or_none() is None:
                raise IndexNotReadyError(
                    f"no index {self.settings.chroma_collection!r} yet: run `recbot index` first"
                )
            reason = self.mismatch()
            if reason is not None:
                raise IndexNotReadyError(f"{reason}: run `recbot index` to rebuild it")
        return self._langchain_store()

    def search(self, text: str, k: int, where: dict[str, Any] | None = None) -> list[tuple[int, float]]:
        """The ``k`` items closest in meaning to ``text``: (item_id, cosine similarity), best first."""
        if not text or not text.strip():
            raise ValueError("search text is empty")
        return self.search_vector(emb.embed_query(self.settings, text), k, where)

    def search_vector(
        self, vector: np.ndarray, k: int, where: dict[str, Any] | None = None
    ) -> list[tuple[int, float]]:
        """Approximate (HNSW) nearest items of a normalised vector, optionally filtered by metadata."""
        if k <= 0:
            return []
        collection = self._ready_store()._collection
        # Distances only: fetching 200 metadata rows costs ~40 ms, the ids already are the item ids.
        found = collection.query(
            query_embeddings=[[float(x) for x in vector]], n_results=k, where=where, include=["distances"]
        )
        # Chroma returns cosine distances (space "cosine"): similarity = 1 - distance.
        return [(int(i), 1.0 - float(d)) for i, d in zip(found["ids"][0], found["distances"][0], strict=True)]

    def vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """(item_ids int64, normalised vectors float32 (n, dim)) of every indexed item, loaded once."""
        with self._lock:
            if self._vectors is None:
                self._vectors = self._read_vectors()
            return self._vectors

    def _read_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """Every vector, read VECTOR_PAGE items at a time into one float32 matrix sorted by item id.

        Chroma hands vectors over as Python lists of floats, which it then turns into a float64
        array: one ``get`` of 100k x 384 floats held ~1.2 GiB of Python floats and 0.3 GiB of
        float64 at once, the serving process's peak. Pages bound that to ~40 MB.
        """
        collection = self._ready_store()._collection
        n = collection.count()
        ids = np.zeros(n, dtype=np.int64)
        matrix = np.zeros((n, emb.embedding_dim(self.settings)), dtype=np.float32)
        filled = 0
        while filled < n:
            got = collection.get(include=["embeddings"], limit=VECTOR_PAGE, offset=filled)
            page = len(got["ids"])
            if page == 0:  # items deleted while reading
                break
            ids[filled : filled + page] = [int(i) for i in got["ids"]]
            matrix[filled : filled + page] = got["embeddings"]
            filled += page
            del got
        ids, matrix = ids[:filled], matrix[:filled]
        matrix /= np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
        if np.all(ids[1:] > ids[:-1]):
            return ids, matrix
        order = np.argsort(ids)  # Chroma returns the build's (length-sorted) order
        return ids[order], matrix[order]
