"""The dialogue model learns who is named after whom, saves a versioned artifact, refuses other catalogs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cf_engine.data.catalog import Catalog, Item
from cf_engine.dialogue_corpus import read_generic
from cf_engine.dialogue_model import LIKED, DialogueExample, DialogueModel, DialogueModelError


def _catalog(n: int = 30) -> Catalog:
    return Catalog(
        [Item(item_id=i + 1, title=f"Film {i + 1}", year=2000, genres=("Drama",)) for i in range(n)]
    )


def _examples() -> list[DialogueExample]:
    out = []
    for d in range(40):
        # People who name film 1 get film 2; people who say "scary" get film 7.
        out.append(DialogueExample(f"a{d}", ((1, LIKED),), "i loved it", 2, dialogue_items=(1, 2)))
        out.append(
            DialogueExample(f"b{d}", ((5, LIKED),), "something scary please", 7, dialogue_items=(5, 7))
        )
    return out


def test_learns_co_mentions_and_phrasing() -> None:
    catalog = _catalog()
    model = DialogueModel.train(_examples(), catalog, folds=2)
    feats = model.features([DialogueExample("q", ((1, LIKED),), "", 0), DialogueExample("r", (), "scary", 0)])
    score = model.combine(feats, None)
    assert int(np.argmax(np.where(np.arange(30) == 0, -1, score[0]))) == catalog.index_of(2)
    assert int(np.argmax(score[1])) == catalog.index_of(7)
    assert model.summary["examples"] == 80 and model.summary["cv_metrics"]["recall@10"] > 0.9
    why = model.contributions(DialogueExample("q", ((1, LIKED),), "", 0), [catalog.index_of(2)])
    assert why[0]["co_mentioned_with"][0]["item_id"] == 1


def test_artifact_round_trip_and_catalog_check(tmp_path) -> None:
    catalog = _catalog()
    model = DialogueModel.train(_examples(), catalog, folds=2)
    path = model.save(tmp_path)
    assert json.loads(path.with_suffix(".json").read_text())["format_version"] == 1
    again = DialogueModel.load_latest(tmp_path, catalog)
    assert again.weights == model.weights
    with pytest.raises(DialogueModelError, match="another catalog"):
        DialogueModel.load_latest(tmp_path, _catalog(31))
    with pytest.raises(DialogueModelError, match="no dialogue model"):
        DialogueModel.load_latest(tmp_path / "none", catalog)


def test_generic_format(tmp_path) -> None:
    path = tmp_path / "d.jsonl"
    rows = [
        {
            "id": "d1",
            "messages": [
                {"role": "user", "text": "I loved film one", "items": [1]},
                {"role": "recommender", "text": "try film two", "items": [2]},
            ],
        }
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows))
    examples, summary = read_generic(path, _catalog())
    assert summary["dialogues"] == 1
    assert [(e.context, e.target) for e in examples] == [(((1, LIKED),), 2)]
