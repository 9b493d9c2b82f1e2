"""``recbot eval parse``: gold from @mentions, raw and reviewed figures, on a tiny hand-made ReDial file."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from cf_engine.data.catalog import Catalog, Dataset, Item
from eval.parse_eval import evaluate_parse, load_review

SEEKER, RECOMMENDER = 1, 2
ITEMS = [
    Item(1, "Heat", 1995, ("Action",)),
    Item(2, "Jumanji", 1995, ("Adventure",)),
    Item(3, "Date Night", 2010, ("Comedy",)),
    Item(4, "Goodfellas", 1990, ("Crime",)),
]
MESSAGES = [
    "I loved @30",  # gold Heat, typed "Heat"
    "we want a comedy for date night",  # mention-free; "date night" must not count
    "have you seen goodfellas?",  # typed without @: the parser is right, the raw gold says no
    "@20 was fun",  # gold Jumanji
    "hello there",  # mention-free, nothing found
]


def _dataset() -> Dataset:
    rows = [(u, i, 4.0, 0) for u in range(1, 6) for i in (1, 2, 3, 4)]
    interactions = pd.DataFrame(rows, columns=["user_id", "item_id", "rating", "timestamp"])
    return Dataset(name="tiny", catalog=Catalog(ITEMS), interactions=interactions)


def _write(folder: Path) -> Path:
    folder.mkdir()
    conversation = {
        "conversationId": "c1",
        "initiatorWorkerId": SEEKER,
        "respondentWorkerId": RECOMMENDER,
        "movieMentions": {"30": "Heat (1995)", "20": "Jumanji  (1995)"},
        "messages": [{"text": t, "senderWorkerId": SEEKER, "messageId": n} for n, t in enumerate(MESSAGES)]
        + [{"text": "try @20", "senderWorkerId": RECOMMENDER, "messageId": 99}],
    }
    (folder / "dev_data.jsonl").write_text(json.dumps(conversation) + "\n")
    return folder


def test_raw_and_reviewed_figures(tmp_path: Path) -> None:
    data = _write(tmp_path / "redial")
    review = tmp_path / "review.jsonl"
    review.write_text(
        json.dumps({"text": "have you seen goodfellas?", "title": "Goodfellas (1990)", "verdict": "title"})
        + "\n"
    )
    result = evaluate_parse(_dataset(), data, "dev", review_path=review)
    assert result["messages"] == len(MESSAGES)  # the recommender's message is not a seeker message
    raw, reviewed = result["raw"], result["reviewed"]
    assert raw["gold_mentions"] == 2 and raw["correct"] == 2 and raw["titles_found"] == 3
    assert raw["precision"] == pytest.approx(2 / 3) and raw["recall"] == 1.0
    assert raw["mention_free_messages"] == 3 and raw["false_title_rate"] == pytest.approx(1 / 3)
    assert reviewed["precision"] == 1.0 and reviewed["gold_mentions"] == 3
    assert reviewed["false_title_rate"] == 0.0 and reviewed["judged_disagreements"] == 1
    extra = [r for r in result["disagreement_rows"] if r["kind"] == "extra"]
    assert [r["title"] for r in extra] == ["Goodfellas (1990)"]


def test_bad_review_rows_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "review.jsonl"
    path.write_text('{"text": "a", "title": "b", "verdict": "maybe"}\n')
    with pytest.raises(ValueError, match=r"review.jsonl:1: verdict"):
        load_review(path)
    assert load_review(tmp_path / "missing.jsonl") == {}
