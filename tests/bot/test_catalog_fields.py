"""A generic catalog's metadata (director, cast, runtime, language) filters by the same words the
MovieLens catalog can only answer with a note; a field the catalog lacks still gets the plain note.

The fixture catalog (tests/bot/data/metadata_catalog) has director, cast, runtime and language,
flat on 15 items and in a nested "metadata" object on one; it has no streaming or age-rating field.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from agent_support import SpyBlender

from bot.agent import Agent
from bot.explain.explainer import Explainer
from bot.recommend.constraints import ItemStats, satisfies
from bot.settings import Settings
from bot.state import DialogueState, apply_message
from bot.store import Store
from bot.types import AttributeFilter
from bot.understand.catalog_fields import CatalogFields
from bot.understand.parser import MessageParser
from bot.understand.titles import TitleIndex
from bot.understand.unknown_attributes import note
from cf_engine.data.catalog import Dataset
from cf_engine.data.generic import load_generic

FIXTURE = Path(__file__).parent / "data" / "metadata_catalog"


@pytest.fixture(scope="module")
def data() -> Dataset:
    return load_generic(FIXTURE)


def _titles(data: Dataset, constraints_of: DialogueState) -> set[str]:
    return {
        item.title for item in data.catalog if satisfies(item, ItemStats(10, 4.0), constraints_of.constraints)
    }


def _say(data: Dataset, *messages: str, fields: CatalogFields | None = None) -> tuple[DialogueState, list]:
    fields = CatalogFields.detect(data.catalog) if fields is None else fields
    parser = MessageParser(
        TitleIndex.build(data.catalog), {t for i in data.catalog for t in i.tags}, 2018, fields
    )
    state, parsed = DialogueState(), []
    for message in messages:
        parsed.append(parser.parse(message))
        apply_message(state, parsed[-1], {}, 2018)
    return state, parsed


def test_the_loader_keeps_other_fields_as_metadata(data: Dataset) -> None:
    goodfellas, breathless = data.catalog.get(2), data.catalog.get(16)
    assert goodfellas.metadata["director"] == ("Martin Scorsese",)
    assert goodfellas.metadata["cast"] == ("Robert De Niro", "Ray Liotta", "Joe Pesci")
    assert goodfellas.metadata["runtime"] == ("146",) and goodfellas.metadata["language"] == ("en",)
    assert breathless.metadata["director"] == ("Jean-Luc Godard",)  # nested "metadata" object


def test_fields_are_found_by_their_common_names_or_configured(data: Dataset) -> None:
    fields = CatalogFields.detect(data.catalog)
    assert fields.by_kind == {
        "director": "director",
        "actor": "cast",
        "runtime": "runtime",
        "language": "language",
    }
    assert CatalogFields.detect(data.catalog, {"director": ""}).keys_for("director") == ()  # switched off
    assert CatalogFields.detect(data.catalog, {"actor": "stars"}).keys_for("person") == ("director", "stars")
    with pytest.raises(ValueError, match="unknown kinds"):
        CatalogFields.detect(data.catalog, {"budget": "budget"})


def test_not_scorsese_leaves_out_his_films_by_the_director_field(data: Dataset) -> None:
    state, (parsed,) = _say(data, "I loved The Godfather. Something else, not Scorsese though")
    assert parsed.unsupported[0].applied_field == "director"
    assert note(parsed.unsupported) == ""  # no "I don't have director data": the catalog has it
    titles = _titles(data, state)
    assert not titles & {"Mean Streets", "Goodfellas", "Casino"}
    assert {"Heat", "Rififi", "Big"} <= titles


def test_a_wanted_actor_is_required_in_the_cast(data: Dataset) -> None:
    state, _ = _say(data, "a movie with Tom Hanks in it")
    assert _titles(data, state) == {"Big", "Splash", "Toy Story"}
    state, _ = _say(data, "anything starring Robert De Niro")
    assert _titles(data, state) == {"Mean Streets", "Goodfellas", "Heat", "Casino"}


def test_runtime_bounds_read_minutes_and_hours(data: Dataset) -> None:
    state, (parsed,) = _say(data, "a comedy under 90 minutes")
    assert "runtime" not in parsed.notes  # no "no running times" line
    assert _titles(data, state) == {"Airplane!", "The Naked Gun", "Toy Story"}
    state, _ = _say(data, "a crime film over 2 hours")
    assert _titles(data, state) == {"Goodfellas", "The Godfather", "Heat", "Casino"}
    state, _ = _say(data, "a comedy under 90 minutes", "actually under two hours is fine")
    assert "Amelie" not in _titles(data, state) and "Splash" in _titles(data, state)  # the new bound replaces


def test_a_language_matches_its_iso_code(data: Dataset) -> None:
    state, _ = _say(data, "a French crime film")
    assert state.constraints.genres_in == {"Crime"}
    state, _ = _say(data, "a comedy in French")
    assert _titles(data, state) == {"Amelie", "Delicatessen"}
    state, _ = _say(data, "something foreign-language")
    assert _titles(data, state) == {"Rififi", "Le Samourai", "Amelie", "Delicatessen", "Breathless"}


def test_a_field_the_catalog_lacks_still_gets_the_plain_note(data: Dataset) -> None:
    state, (parsed,) = _say(data, "a comedy on Netflix")
    assert "I don't have streaming data" in note(parsed.unsupported)
    assert not state.constraints.attributes  # nothing pretended
    fields = CatalogFields.detect(data.catalog, {"director": ""})
    _, (parsed,) = _say(data, "not Scorsese", fields=fields)
    assert "I don't have director data" in note(parsed.unsupported)


def test_filters_survive_the_session_json(data: Dataset) -> None:
    state, _ = _say(data, "no Scorsese, under 2 hours")
    again = DialogueState.from_json(state.to_json())
    assert again.constraints == state.constraints
    ops = {AttributeFilter.parse(a).op for a in again.constraints.attributes}
    assert ops == {"out", "max"}


def test_the_agent_filters_and_says_what_it_applied(data: Dataset, tmp_path: Path) -> None:
    """A whole turn on the fixture catalog: only allowed items, the filter on the constraint line."""
    settings = Settings(home=tmp_path / "home", llm_backend="template", catalog_format="generic")
    agent = Agent(
        data, SpyBlender(data, settings), Explainer(None, settings), Store(settings.db_path), settings
    )
    sid = agent.create_session()
    result = agent.turn(sid, "a crime movie, but not Scorsese and under 2 hours")
    shown = {r.title for r in result.recommendations}
    assert shown and shown <= {"Rififi", "Le Samourai", "The Naked Gun", "Breathless"}
    assert "director not Scorsese" in result.reply and "runtime up to 120" in result.reply
    assert "I don't have" not in result.reply
    result = agent.turn(sid, "any on Netflix?")  # no streaming field: said plainly, filters kept
    assert "I don't have streaming data" in result.reply
    assert {r.title for r in result.recommendations} <= {
        "Rififi",
        "Le Samourai",
        "The Naked Gun",
        "Breathless",
    }
    state = json.loads(json.dumps(agent.session(sid)["state"]))
    assert len(state["constraints"]["attributes"]) == 2


def test_a_wanted_person_alone_is_enough_to_recommend(data: Dataset, tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", llm_backend="template", catalog_format="generic")
    agent = Agent(
        data, SpyBlender(data, settings), Explainer(None, settings), Store(settings.db_path), settings
    )
    result = agent.turn(agent.create_session(), "anything starring Robert De Niro")
    assert {r.title for r in result.recommendations} <= {"Mean Streets", "Goodfellas", "Heat", "Casino"}
    assert result.recommendations and "cast: Robert De Niro" in result.reply
