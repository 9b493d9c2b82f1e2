"""ReDial parsing, sample construction and title mapping on tiny hand-made data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cf_engine.data.catalog import Catalog, Item
from cf_engine.data.redial import (
    DISLIKED,
    LIKED,
    UNKNOWN,
    RedialDataError,
    build_samples,
    read_conversations,
    read_movies,
    replace_mentions,
)
from cf_engine.data.redial_mapping import map_movies, normalise, split_redial_name
from eval.redial_prior import fit_prior, target_ranks

SEEKER, RECOMMENDER = 1, 2
CONVERSATION = {
    "conversationId": "c1",
    "initiatorWorkerId": SEEKER,
    "respondentWorkerId": RECOMMENDER,
    "movieMentions": {"10": "Alien (1979)", "20": "Aliens  (1986)", "30": "Heat (1995)", "40": "Up (2009)"},
    "initiatorQuestions": {
        "10": {"suggested": 0, "seen": 1, "liked": 1},
        "30": {"suggested": 0, "seen": 1, "liked": 0},
        "20": {"suggested": 1, "seen": 0, "liked": 2},
    },
    "respondentQuestions": {"40": {"suggested": 1, "seen": 0, "liked": 1}},
    "messages": [
        {"text": "hello", "senderWorkerId": RECOMMENDER, "messageId": 1},  # no mention: no sample
        {"text": "I loved @10 but not @30", "senderWorkerId": SEEKER, "messageId": 2},
        {"text": "Then try @20 and @10", "senderWorkerId": RECOMMENDER, "messageId": 3},
        {"text": "seen @20", "senderWorkerId": SEEKER, "messageId": 4},
        {"text": "@40 then, or @20", "senderWorkerId": RECOMMENDER, "messageId": 5},
    ],
}
FIRST_MESSAGE_MENTION = {
    **CONVERSATION,
    "conversationId": "c2",
    "messages": [{"text": "watch @40", "senderWorkerId": RECOMMENDER, "messageId": 9}],
}


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_samples_follow_the_protocol(tmp_path: Path) -> None:
    conversations = read_conversations(
        write_jsonl(tmp_path / "x_data.jsonl", [CONVERSATION, FIRST_MESSAGE_MENTION])
    )
    samples = build_samples(conversations)
    # message 3 names 20 and 10; message 5 names 40 and 20; c2's only message has no context.
    assert [(s.message_index, s.target, s.fresh) for s in samples] == [
        (2, 20, True),
        (2, 10, False),
        (4, 40, True),
        (4, 20, False),
    ]
    first, last = samples[0], samples[-1]
    assert [m.text for m in first.context] == ["hello", "I loved @10 but not @30"]
    assert [(m.movie_id, m.by_seeker, m.liked) for m in first.mentions] == [
        (10, True, LIKED),
        (30, True, DISLIKED),
    ]
    assert [(m.movie_id, m.by_seeker, m.liked) for m in last.mentions] == [
        (10, True, LIKED),
        (30, True, DISLIKED),
        (20, False, UNKNOWN),
    ]
    assert first.seeker_text() == "I loved @10 but not @30"


def test_liked_falls_back_to_the_respondent_questionnaire(tmp_path: Path) -> None:
    (conv,) = read_conversations(write_jsonl(tmp_path / "x_data.jsonl", [CONVERSATION]))
    assert conv.liked == {10: LIKED, 30: DISLIKED, 20: UNKNOWN, 40: LIKED}


def test_bad_files_name_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad_data.jsonl"
    path.write_text(json.dumps(CONVERSATION) + "\n{not json\n")
    with pytest.raises(RedialDataError, match=r"bad_data\.jsonl:2"):
        read_conversations(path)
    with pytest.raises(RedialDataError, match="file not found"):
        read_conversations(tmp_path / "missing_data.jsonl")
    movies = tmp_path / "movies_with_mentions.csv"
    movies.write_text("movieId,movieName,nbMentions\n10,Alien (1979),3\nxx,Broken,1\n")
    with pytest.raises(RedialDataError, match=r"movies_with_mentions\.csv:3"):
        read_movies(movies)


def test_replace_mentions() -> None:
    assert replace_mentions("like @10 and @99", {10: "Alien (1979)"}) == "like Alien (1979) and "


def test_title_normalisation() -> None:
    assert split_redial_name("Police Academy  (1984)") == ("Police Academy", 1984)
    assert split_redial_name("American Pie ") == ("American Pie", None)
    assert normalise("Waterboy, The") == normalise("The Waterboy") == "waterboy"
    assert normalise("Amélie") == "amelie"
    assert normalise("What About Bob%3F") == "what about bob"


def test_mapping_by_title_and_year() -> None:
    catalog = Catalog(
        [
            Item(1, "Police Academy", 1984),
            Item(2, "Waterboy, The", 1998),
            Item(3, "Psycho", 1960),
            Item(4, "Psycho", 1998),
            Item(5, "Jumanji: Welcome to the Jungle", 2017),
            Item(6, "Amélie", 2001),
            Item(7, "Heat", 1995),
        ]
    )
    names = {
        100: "Police Academy  (1984)",
        101: "The Waterboy (1998)",
        102: "Psycho (1998)",
        103: "Psycho",
        104: "Jumanji  (2017)",
        105: "Amelie (2001)",
        106: "Heat (1986)",
        107: "Police Academy  (1999)",
    }
    mapping = map_movies(names, catalog)
    assert mapping.item_of == {100: 1, 101: 2, 102: 4, 104: 5, 105: 6}
    assert sorted(mapping.unmapped) == [103, 106, 107]  # ambiguous without a year; wrong years
    assert mapping.coverage([100, 100, 103, 106]) == pytest.approx(0.5)


def test_prior_counts_and_ranks(tmp_path: Path) -> None:
    samples = build_samples(read_conversations(write_jsonl(tmp_path / "x_data.jsonl", [CONVERSATION])))
    column_of = {10: 0, 20: 1, 30: 2, 40: 3}
    model = fit_prior(samples, column_of, n_items=5)
    assert model.popularity[1] == pytest.approx(np.log1p(2))  # 20 is a target twice
    assert model.popularity[4] == 0.0
    assert model.co[0, 1] > 0 and model.co[0, 4] == 0  # 10 and 20 co-occur; column 4 never appears
    scores = np.array([[0.1, 0.5, 0.5, 0.0, 0.2], [0.9, 0.1, 0.2, 0.3, 0.4]], dtype=np.float32)
    assert target_ranks(scores, np.array([2, -1])).tolist() == [2, 10**9]


def test_chat_scores_become_a_scaled_feature_only_when_given(tmp_path: Path) -> None:
    from eval.redial_prior import features

    samples = build_samples(read_conversations(write_jsonl(tmp_path / "x_data.jsonl", [CONVERSATION])))
    column_of = {10: 0, 20: 1, 30: 2, 40: 3}
    model = fit_prior(samples, column_of, n_items=5)
    assert "chat" not in features(model, samples, column_of, None)
    chat = np.tile(np.array([0.0, 2.0, 4.0, -1.0, 1.0], dtype=np.float32), (len(samples), 1))
    feats = features(model, samples, column_of, None, chat)
    assert feats["chat"].shape == (len(samples), 5)
    assert feats["chat"][0].tolist() == pytest.approx([0.0, 0.5, 1.0, 0.0, 0.25])  # negatives clipped, max 1
