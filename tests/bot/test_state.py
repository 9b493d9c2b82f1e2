"""Dialogue state: JSON round trip, references against the last list, relative critiques."""

from __future__ import annotations

import json

from agent_support import item_id, movielens, parser

from bot.state import DialogueState, apply_message
from bot.types import Constraints


def _apply(state: DialogueState, message: str) -> None:
    years = {i.item_id: i.year for i in movielens().catalog}
    apply_message(state, parser().parse(message), years, 2018)


def test_json_round_trip() -> None:
    state = DialogueState(
        liked=[1, 2],
        disliked=[3],
        user_id="42",
        soft_text="space",
        constraints=Constraints(genres_in=frozenset({"Comedy"}), year_min=1980),
    )
    again = DialogueState.from_json(state.to_json())
    assert again == state


def test_a_state_stored_before_openings_were_kept_still_loads() -> None:
    """States written before ``openings`` existed have no such key: read as none remembered."""
    stored = DialogueState(liked=[1], user_id="7", openings=["T shares"]).to_dict()
    del stored["openings"]
    old = DialogueState.from_json(json.dumps(stored))
    assert old.openings == [] and old.liked == [1] and old.user_id == "7"
    kept = DialogueState(openings=["the N", "try T"])
    assert DialogueState.from_json(kept.to_json()).openings == ["the N", "try T"]


def test_references_resolve_against_the_last_list() -> None:
    heat, matrix, up = item_id("Heat", 1995), item_id("Matrix, The", 1999), item_id("Up", 2009)
    state = DialogueState(
        last_shown=[heat, matrix, up], last_list_kind="recommendations", shown=[heat, matrix, up]
    )
    _apply(state, "I've seen the second one")
    assert state.seen == [matrix]
    _apply(state, "the third one looks great")
    assert up in state.liked
    _apply(state, "not that one")  # "that one" is now the focused third item
    assert up in state.not_interested and up not in state.liked
    assert set(state.excluded()) >= {heat, matrix, up}


def test_first_option_of_a_question_becomes_a_liked_seed() -> None:
    heat = item_id("Heat", 1995)
    state = DialogueState(last_shown=[heat, 1, 2], last_list_kind="options")
    _apply(state, "the first one")
    assert state.liked == [heat]


def test_older_is_relative_to_what_was_shown() -> None:
    state = DialogueState(
        last_shown=[item_id("Up", 2009), item_id("Her", 2013)], last_list_kind="recommendations"
    )
    _apply(state, "something older")
    assert state.constraints.year_max is not None and state.constraints.year_max < 2011


def test_negative_genres_accumulate_and_positive_replace() -> None:
    state = DialogueState()
    _apply(state, "no horror")
    _apply(state, "a comedy")
    _apply(state, "actually a drama, and no romance")
    assert state.constraints.genres_in == frozenset({"Drama"})
    assert state.constraints.genres_out == frozenset({"Horror", "Romance"})


def test_more_genre_and_critiques_add_to_the_genre_request() -> None:
    state = DialogueState()
    _apply(state, "more crime")
    _apply(state, "more drama")
    assert state.constraints.genres_in == frozenset({"Crime", "Drama"})
    _apply(state, "funnier")  # a critique adds too
    assert state.constraints.genres_in == frozenset({"Crime", "Drama", "Comedy"})
    _apply(state, "I want a thriller")  # an explicit new request replaces
    assert state.constraints.genres_in == frozenset({"Thriller"})
    _apply(state, "also some sci-fi")
    assert state.constraints.genres_in == frozenset({"Thriller", "Sci-Fi"})
    _apply(state, "and a western")
    assert state.constraints.genres_in == frozenset({"Thriller", "Sci-Fi", "Western"})


def test_did_you_mean_is_answered_by_a_year() -> None:
    state = DialogueState()
    _apply(state, "I loved lord of the rings")
    assert len(state.pending_choice) >= 2
    _apply(state, "the 2002 one")
    assert item_id("Lord of the Rings: The Two Towers, The", 2002) in state.liked


def test_reset_forgets_preferences_but_keeps_user() -> None:
    state = DialogueState(liked=[1], user_id="u", constraints=Constraints(year_min=1990))
    _apply(state, "start over")
    assert state.liked == [] and state.constraints.is_empty() and state.user_id == "u"


def test_disliked_ambiguous_name_excludes_every_option_without_asking() -> None:
    state = DialogueState()
    _apply(state, "I hate Star Wars")
    assert state.pending_choice == []
    assert item_id("Star Wars: Episode IV - A New Hope", 1977) in state.disliked
