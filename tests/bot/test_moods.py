"""Moods and soft constraints: parsed, kept across turns, mapped to catalog constraints, re-ranked."""

from __future__ import annotations

from agent_support import movielens, parser

from bot.recommend.constraints import ItemStats, satisfies
from bot.reply_wording import list_intro
from bot.state import DialogueState, StateChange, apply_message
from bot.understand.moods import MOODS, find_moods, rerank_ids, satisfied


def _say(state: DialogueState, *messages: str) -> DialogueState:
    p = parser()
    for message in messages:
        apply_message(state, p.parse(message), {}, 2018)
    return state


def test_less_violent_maps_to_genres_and_tags_and_persists() -> None:
    state = _say(
        DialogueState(), "I loved Alien and Blade Runner", "something less violent please", "I liked Heat"
    )
    c = state.constraints
    assert {"Crime", "Horror", "War"} <= c.genres_out
    assert {"violence", "violent", "gore"} <= c.excluded_tags
    assert state.moods == ["less violent"]


def test_a_requested_genre_is_never_left_out_by_a_mood() -> None:
    state = _say(DialogueState(), "What's a good war movie that isn't depressing?")
    assert state.constraints.genres_in == {"War"} and "War" not in state.constraints.genres_out
    state = _say(DialogueState(), "a war movie", "something lighter")
    assert "War" in state.constraints.genres_in and "War" not in state.constraints.genres_out
    assert state.moods == ["lighter"]


def test_opposite_moods_replace_each_other_with_their_constraints() -> None:
    state = _say(DialogueState(), "something lighter")
    assert {"Horror", "War"} <= state.constraints.genres_out
    _say(state, "actually something darker")
    assert state.moods == ["darker"]
    assert not {"Horror", "War"} & state.constraints.genres_out
    assert "dark" not in state.constraints.excluded_tags
    state = _say(DialogueState(), "something for the kids")
    assert state.constraints.genres_in == {"Children", "Animation"}
    _say(state, "actually the kids are asleep now, something for grown-ups")
    assert state.moods == ["for grown-ups"]
    assert not state.constraints.genres_in and {"Children", "Animation"} <= state.constraints.genres_out


def test_start_over_forgets_moods() -> None:
    state = _say(DialogueState(), "something feel-good", "start over")
    assert state.moods == [] and state.constraints.genres_out == frozenset()


def test_black_and_white_is_a_year_bound() -> None:
    state = _say(DialogueState(), "I want to watch a black-and-white film")
    assert state.constraints.year_max == MOODS["black-and-white"].year_max


def test_mood_shape_round_trips_through_json() -> None:
    state = _say(DialogueState(), "I loved Goodfellas. Not Scorsese again though", "nothing depressing")
    again = DialogueState.from_json(state.to_json())
    assert again.moods == ["not depressing"]
    assert again.unsupported[0]["field"] == "director" and again.unsupported[0]["wanted"] is False
    assert "martin scorsese" in again.constraints.excluded_tags


def test_negated_mood_words_are_not_the_opposite_mood() -> None:
    assert [label for label, _ in find_moods("nothing too dark please")] == ["lighter"]
    assert [label for label, _ in find_moods("not violent at all")] == ["less violent"]
    assert [label for label, _ in find_moods("a dark thriller")] == []


def test_rerank_drops_violent_action_and_prefers_the_mood() -> None:
    catalog = movielens().catalog
    by_title = {(i.title, i.year): i.item_id for i in catalog}
    rock = by_title[("Rock, The", 1996)]
    toy = by_title[("Toy Story", 1995)]
    seven = by_title[("Seven (a.k.a. Se7en)", 1995)]
    ids = [rock, seven, toy]
    assert rock not in rerank_ids(ids, catalog, ["less violent"], 2)
    assert rerank_ids(ids, catalog, ["lighter"], 1)[0] == toy
    assert satisfied(catalog.get(toy), ["lighter"]) == ["lighter"]
    assert satisfied(catalog.get(rock), ["less violent"]) == []


def test_hard_parts_are_what_satisfies_checks() -> None:
    catalog = movielens().catalog
    state = _say(DialogueState(), "something less violent")
    grave = next(i for i in catalog if i.title.startswith("Grave of the Fireflies"))
    assert not satisfies(grave, ItemStats(10, 4.0), state.constraints)


def test_the_constraint_line_names_the_moods() -> None:
    state = _say(DialogueState(), "I loved Die Hard", "something a bit lighter")
    line = list_intro(movielens().catalog, state, StateChange(), 3, popular=False, more=True)
    assert "lighter" in line and "no horror or war" in line.lower()


def test_a_catalog_that_tags_people_filters_by_the_same_words() -> None:
    """A generic catalog whose tags name people: "not Scorsese" leaves those films out."""
    from bot.understand.parser import MessageParser
    from bot.understand.titles import TitleIndex
    from cf_engine.data.catalog import Catalog, Item

    items = [
        Item(1, "Mean Streets", 1973, ("Crime",), ("Martin Scorsese", "new york")),
        Item(2, "The Godfather", 1972, ("Crime",), ("mafia",)),
    ]
    catalog = Catalog(items)
    tags = {t for item in items for t in item.tags}
    state = DialogueState()
    parsed = MessageParser(TitleIndex.build(catalog), tags).parse("a crime film, not Scorsese")
    apply_message(state, parsed, {}, 2018)
    assert parsed.unsupported[0].applied_tag == "martin scorsese"
    assert not satisfies(items[0], ItemStats(5, 4.0), state.constraints)
    assert satisfies(items[1], ItemStats(5, 4.0), state.constraints)
