"""ItemIndex: idempotent builds, re-embedding of changed items, resumption, mismatch detection, search."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from retrieval_data import SMALL_N, slice_dataset

from bot.settings import Settings
from cf_engine.data.catalog import Catalog, Dataset
from retrieval import index as index_module
from retrieval.documents import genre_key
from retrieval.index import IndexNotReadyError, ItemIndex
from retrieval.recall import exact_top_k, hnsw_recall

TINY_N = 30


def test_second_build_embeds_nothing(small_index: ItemIndex, small_dataset: Dataset) -> None:
    report = small_index.build(small_dataset, progress=False)
    assert report.embedded == 0
    assert report.deleted == 0
    assert report.metadata_updated == 0
    assert not report.rebuilt
    assert report.n_items == SMALL_N


def test_changed_deleted_and_rerated_items(tiny_settings: Settings, small_dataset: Dataset) -> None:
    dataset = slice_dataset(small_dataset, TINY_N)
    index = ItemIndex(tiny_settings.retrieval_config())
    assert index.build(dataset, progress=False).embedded == TINY_N

    items = list(dataset.catalog)
    changed = dataclasses.replace(items[3], tags=(*items[3].tags, "brand new tag"))
    kept = [changed if i == 3 else it for i, it in enumerate(items) if i != 5]
    frame = dataset.interactions
    rerated_id = items[7].item_id
    frame = frame[frame["item_id"] != items[5].item_id].copy()
    frame.loc[frame["item_id"] == rerated_id, "rating"] = 0.5  # statistics change, text does not
    report = index.build(Dataset(dataset.name, Catalog(kept), frame), progress=False)
    assert report.embedded == 1
    assert report.deleted == 1
    assert report.metadata_updated == 1
    assert report.n_items == TINY_N - 1
    stored = index.client().get_collection(tiny_settings.chroma_collection).get(ids=[str(rerated_id)])
    assert stored["metadatas"][0]["mean_rating"] == pytest.approx(0.5)


def test_vectors_of_unchanged_items_are_copied_from_another_index(
    tiny_settings: Settings, small_dataset: Dataset
) -> None:
    dataset = slice_dataset(small_dataset, TINY_N)
    source = ItemIndex(tiny_settings.retrieval_config())
    source.build(dataset, progress=False)
    items = list(dataset.catalog)
    changed = Catalog([dataclasses.replace(items[0], tags=("edited",)), *items[1:]])
    copy = ItemIndex(tiny_settings.model_copy(update={"chroma_collection": "copy"}).retrieval_config())
    report = copy.build(
        Dataset(dataset.name, changed, dataset.interactions), progress=False, reuse_from=source
    )
    assert report.copied == TINY_N - 1 and report.embedded == 1
    ids_a, vectors_a = source.vectors()
    ids_b, vectors_b = copy.vectors()
    assert np.array_equal(ids_a, ids_b)
    assert np.allclose(vectors_a[1:], vectors_b[1:], atol=1e-6)
    assert not np.allclose(vectors_a[0], vectors_b[0], atol=1e-3)


def test_interrupted_build_resumes(
    tiny_settings: Settings, small_dataset: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    dataset = slice_dataset(small_dataset, TINY_N)
    monkeypatch.setattr(index_module, "UPSERT_BATCH", 10)
    real_embed = index_module.emb.embed_texts
    calls = {"n": 0}

    def failing_embed(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # what Ctrl-C does in the middle of a build
        return real_embed(*args, **kwargs)

    monkeypatch.setattr(index_module.emb, "embed_texts", failing_embed)
    with pytest.raises(KeyboardInterrupt):
        ItemIndex(tiny_settings.retrieval_config()).build(dataset, progress=False)
    monkeypatch.setattr(index_module.emb, "embed_texts", real_embed)
    report = ItemIndex(tiny_settings.retrieval_config()).build(dataset, progress=False)
    # Batch 1 was written before batch 3 was embedded; batch 2 was embedded and is written as the
    # build unwinds (the writer thread finishes what it was given), so 10 or 20 items are kept.
    assert report.embedded in (TINY_N - 10, TINY_N - 20)
    assert report.n_items == TINY_N


def test_other_model_name_is_detected_and_rebuilt(tiny_settings: Settings, small_dataset: Dataset) -> None:
    dataset = slice_dataset(small_dataset, TINY_N)
    ItemIndex(tiny_settings.retrieval_config()).build(dataset, progress=False)
    index = ItemIndex(tiny_settings.retrieval_config())
    collection = index.client().get_collection(tiny_settings.chroma_collection)
    collection.modify(metadata={**collection.metadata, "embedding_model": "some/other-model"})
    fresh = ItemIndex(tiny_settings.retrieval_config())
    assert "embedding_model" in (fresh.mismatch() or "")
    assert not fresh.is_ready()
    with pytest.raises(IndexNotReadyError, match="recbot index"):
        fresh.search("comedy", 3)
    report = fresh.build(dataset, progress=False)
    assert report.rebuilt
    assert "some/other-model" in (report.reason or "")
    assert report.embedded == TINY_N
    assert fresh.is_ready()


def test_other_dimension_is_detected_and_rebuilt(tiny_settings: Settings, small_dataset: Dataset) -> None:
    dataset = slice_dataset(small_dataset, TINY_N)
    index = ItemIndex(tiny_settings.retrieval_config())
    meta = {**index.expected_metadata(), "embedding_dim": 8}
    collection = index.client().create_collection(
        tiny_settings.chroma_collection,
        metadata=meta,
        embedding_function=None,
        configuration={"hnsw": {"space": "cosine"}},
    )
    collection.add(ids=["1"], embeddings=[[0.1] * 8], metadatas=[{"item_id": 1}])
    report = ItemIndex(tiny_settings.retrieval_config()).build(dataset, progress=False)
    assert report.rebuilt and "embedding_dim" in (report.reason or "")
    ids, matrix = ItemIndex(tiny_settings.retrieval_config()).vectors()
    assert matrix.shape == (TINY_N, 384)


def test_vectors_with_right_metadata_but_wrong_length_are_detected(
    tiny_settings: Settings, small_dataset: Dataset
) -> None:
    index = ItemIndex(tiny_settings.retrieval_config())
    collection = index.client().create_collection(
        tiny_settings.chroma_collection,
        metadata=index.expected_metadata(),
        embedding_function=None,
        configuration={"hnsw": {"space": "cosine"}},
    )
    collection.add(ids=["1"], embeddings=[[0.1] * 8], metadatas=[{"item_id": 1}])
    assert "8-dimensional" in (ItemIndex(tiny_settings.retrieval_config()).mismatch() or "")


def test_corrupt_local_store_is_rebuilt(tiny_settings: Settings, small_dataset: Dataset) -> None:
    dataset = slice_dataset(small_dataset, 5)
    tiny_settings.chroma_dir.mkdir(parents=True)
    (tiny_settings.chroma_dir / "chroma.sqlite3").write_bytes(b"this is not a database" * 100)
    report = ItemIndex(tiny_settings.retrieval_config()).build(dataset, progress=False)
    assert report.rebuilt and "unreadable" in (report.reason or "")
    assert report.n_items == 5


def test_search_finds_the_described_item(small_index: ItemIndex) -> None:
    hits = small_index.search("Toy Story, the Pixar animation about toys", 5)
    assert 1 in [item_id for item_id, _ in hits[:3]]
    sims = [s for _, s in hits]
    assert sims == sorted(sims, reverse=True)
    assert all(-1.0 <= s <= 1.0 for s in sims)


def test_search_scores_are_cosines_of_the_stored_vectors(small_index: ItemIndex) -> None:
    from retrieval.embeddings import embed_query

    query = embed_query(small_index.settings, "a scary horror movie")
    ids, matrix = small_index.vectors()
    exact = dict(zip(ids.tolist(), (matrix @ query).tolist(), strict=True))
    for item_id, sim in small_index.search("a scary horror movie", 10):
        assert sim == pytest.approx(exact[item_id], abs=1e-4)


def test_where_filters_on_genre_and_year(small_index: ItemIndex, small_dataset: Dataset) -> None:
    where = {"$and": [{genre_key("Comedy"): True}, {"year": {"$gte": 1995}}]}
    hits = small_index.search("friends on a road trip", 20, where=where)
    assert hits
    for item_id, _ in hits:
        item = small_dataset.catalog.get(item_id)
        assert "Comedy" in item.genres and item.year is not None and item.year >= 1995


def test_empty_query_is_rejected(small_index: ItemIndex) -> None:
    with pytest.raises(ValueError, match="empty"):
        small_index.search("   ", 5)


def test_search_before_build_says_what_to_do(tiny_settings: Settings) -> None:
    index = ItemIndex(tiny_settings.retrieval_config())
    assert not index.is_ready()
    with pytest.raises(IndexNotReadyError, match="recbot index"):
        index.search("anything", 3)


def test_hnsw_recall_against_exact_search(small_index: ItemIndex) -> None:
    assert hnsw_recall(small_index, k=20, n_queries=100) >= 0.95


def test_exact_top_k_is_sorted_by_cosine() -> None:
    rng = np.random.default_rng(0)
    matrix = rng.normal(size=(50, 8)).astype(np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    ids = np.arange(100, 150)
    top = exact_top_k(matrix, ids, matrix[7], 5)
    assert top[0] == 107
    sims = [float(matrix[i - 100] @ matrix[7]) for i in top]
    assert sims == sorted(sims, reverse=True)


@pytest.mark.slow
def test_full_catalog_build(tmp_path, movielens_dir, full_dataset: Dataset) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(home=tmp_path / "home", data_dir=movielens_dir)
    index = ItemIndex(settings.retrieval_config())
    report = index.build(full_dataset, progress=False)
    assert report.n_items == len(full_dataset.catalog) == report.embedded
    assert index.build(full_dataset, progress=False).embedded == 0
    assert hnsw_recall(index, k=20, n_queries=200) >= 0.95
