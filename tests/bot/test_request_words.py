"""Title words of a request, the genre coverage gate and violent themes: the general rules behind
"a movie about toys", "Up was great, something similar" and "action but nothing too violent"."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from agent_support import item_id, movielens

from bot.recommend.item_features import ItemFeatures
from bot.understand.moods import rerank_ids


@lru_cache(maxsize=1)
def features() -> ItemFeatures:
    return ItemFeatures.from_dataset(movielens(), 3.0)


def _col(title: str, year: int) -> int:
    return movielens().catalog.index_of(item_id(title, year))


def test_a_request_word_finds_titles_by_singular_or_plural() -> None:
    hits = features().title_word_hits("toys")  # the soft text of "a movie about toys"
    assert hits is not None
    assert hits[_col("Toy Story", 1995)] == 1.0 and hits[_col("Toys", 1992)] == 1.0
    assert hits[_col("Groundhog Day", 1993)] == 0.0


def test_possessives_short_and_common_words_are_no_title_words() -> None:
    hits = features().title_word_hits("good ocean")
    assert hits is None or hits[_col("Ocean's Eleven", 2001)] == 0.0  # a name, not the sea
    assert features().title_word_hits("the man in it") is None  # words under four letters


def test_coverage_needs_two_shared_genres_with_one_liked_item() -> None:
    f = features()
    up = [_col("Up", 2009)]
    cols = np.array([_col("WALL·E", 2008), _col("Dark Knight, The", 2008), _col("King's Speech, The", 2010)])
    wall_e, dark_knight, kings_speech = f.genre_coverage(up, cols)
    assert wall_e == 1.0 and dark_knight == 0.5 and kings_speech == 0.5  # only Drama in common
    inception = [_col("Inception", 2010)]  # seven genres: two shared count fully
    assert f.genre_coverage(inception, np.array([_col("Avengers, The", 2012)]))[0] == 1.0


def test_less_violent_ranks_violent_action_below_the_adventurous_kind() -> None:
    catalog = movielens().catalog
    order = [("Terminator 2: Judgment Day", 1991), ("Star Wars: Episode IV - A New Hope", 1977)]
    order += [("Raiders of the Lost Ark (Indiana Jones and the Raiders of the Lost Ark)", 1981)]
    order += [("Back to the Future", 1985)]
    ids = [item_id(t, y) for t, y in order]
    shown = [catalog.get(i).title for i in rerank_ids(ids, catalog, ["less violent"], 3)]
    assert "Terminator 2: Judgment Day" not in shown
