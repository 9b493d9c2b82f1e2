"""``recbot eval explanations``: claims checked against the MovieLens files, figures of a small run."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from bot.types import Recommendation, TurnResult
from eval.claim_check import Context, MovieLens, check, label
from eval.explanations import Shown, opening, session_figures
from ui.cli import _register, app

_register()


@pytest.fixture(scope="module")
def ml(movielens_dir: Path) -> MovieLens:
    return MovieLens.load(movielens_dir)


def verdict(ml: MovieLens, text: str, item_id: int, title: str, **kw) -> str:
    return label(check(text, Context(item_id, title, **kw), ml))[0]


def test_claims_are_counted_in_the_files(ml: MovieLens) -> None:
    """Figures from issue 15 (counted by hand in ratings.csv): 62 of Toy Story's 4+ raters rated
    Toy Story 2 (3114), 4.1 on average; the 77 / 3.9 figure counted 3 stars and up."""
    said = ["I loved Toy Story"]
    true = "The 62 people who liked Toy Story rated Toy Story 2 4.1 on average."
    assert verdict(ml, true, 3114, "Toy Story 2", messages=said) == "true"
    assert verdict(ml, "The 77 people who liked Toy Story rated it 3.9 on average.", 3114, "Toy Story 2",
                   messages=said) == "false"  # fmt: skip
    shares = "Toy Story 2 shares the animation and comedy genres with Toy Story, which you liked."
    assert verdict(ml, shares, 3114, "Toy Story 2", messages=said) == "true"
    assert verdict(ml, "Toy Story 2 shares the horror genre with Toy Story.", 3114, "Toy Story 2",
                   messages=said) == "false"  # fmt: skip
    # "liked" must be something the user said, rated 4+ or gave a thumbs up
    assert verdict(ml, shares, 3114, "Toy Story 2", messages=["something funny"]) == "false"


def test_a_known_users_own_rating_is_checked(ml: MovieLens) -> None:
    user, rating = sorted(ml.ratings[6].items())[0]  # Heat's first rater and their rating
    text = f"You gave Heat {rating:g} stars, and Ronin shares the action genre with Heat."
    assert verdict(ml, text, 2278, "Ronin", user_id=user) == "true"
    wrong = 5.0 if rating != 5.0 else 1.0
    assert (
        verdict(ml, text.replace(f"{rating:g} stars", f"{wrong:g} stars"), 2278, "Ronin", user_id=user)
        == "false"
    )


LOVED = "I loved Toy Story"


@pytest.mark.parametrize(
    ("text", "said", "expected"),
    [
        ("Toy Story 2 isn't tagged gore or gory, as you asked.", "no gore", "true"),
        ("Toy Story 2 isn't tagged pixar, as you asked.", "no pixar", "false"),  # it is
        ('Toy Story 2 matches "toy story" from your request.', "more like toy story", "true"),
        ('Toy Story 2 matches "story toy" from your request.', "more like toy story", "false"),
        ('Toy Story 2 matches "toy story" from your request.', "a story about a toy", "false"),
        ("Toy Story 2 was rated 4.1 on average by the 62 people who liked Toy Story.", LOVED, "true"),
        ("Toy Story 2 was rated 3.9 on average by the 77 people who liked Toy Story.", LOVED, "false"),
        ("Toy Story 2 was rated 4.1 on average by the 62 people who liked Toy Story, and it shares the "
         "animation genre with Toy Story.", LOVED, "true"),
        ("For your request, Toy Story 2 is an animation and comedy film.", "something funny", "true"),
        ("For your request, Toy Story 2 is an animation and comedy film.", "a tense thriller", "false"),
        ("The 62 people who liked Toy Story gave Toy Story 2 an average of 4.1.", LOVED, "true"),
        ("The 62 people who liked Toy Story gave Toy Story 2 an average of 3.9.", LOVED, "false"),
        ("Like Toy Story, Toy Story 2 has the animation and comedy genres.", LOVED, "true"),
        ("Like Toy Story, Toy Story 2 has the horror genre.", LOVED, "false"),
        ("You asked for children's films: Toy Story 2 is an animation film.", "for my kids", "true"),
        ("You asked for children's films: Toy Story 2 is an animation film.", "a good thriller", "false"),
        ("Toy Story 2 is rated 3.9 by 1 person.", "", "false"),  # 97 people rated it
        ("Toy Story 2 is an animation film, similar to Toy Story.", LOVED, "true"),
        ("Toy Story 2 is an animation film like Jumanji.", "I loved Jumanji", "false"),  # Jumanji is not
        ("Toy Story 2 and Toy Story share the comedy genre.", LOVED, "true"),
        ("Jumanji and Toy Story 2 share the comedy genre.", "I loved Jumanji", "false"),
    ],
)  # fmt: skip
def test_the_new_wordings_are_parsed_and_checked(ml: MovieLens, text: str, said: str, expected: str) -> None:
    """The wording of issue 15's follow-up, read by the checker's own patterns and counted in the files."""
    assert verdict(ml, text, 3114, "Toy Story 2", messages=[said]) == expected


@pytest.mark.parametrize(
    ("text", "item_id", "title", "expected"),
    [
        ("Aladdin is a 1992 Disney animated film.", 588, "Aladdin", "true"),  # year, tag word, genre
        ("Aladdin is a 1994 Disney animated film.", 588, "Aladdin", "false"),
        ("The Usual Suspects is a crime thriller film, similar to Pulp Fiction.", 50, "-", "true"),
        ("Kill Bill: Vol. 1 is a martial arts film, similar to Pulp Fiction.", 6874, "-", "false"),
    ],
)  # fmt: skip
def test_free_text_descriptions_are_read_word_by_word(
    ml: MovieLens, text: str, item_id: int, title: str, expected: str
) -> None:
    """What the packaged models write on the free-text path: a genre phrase may hold a year, tag words
    and genre adjectives, and a comparison says the other title shares them."""
    assert verdict(ml, text, item_id, title, messages=["I loved Pulp Fiction"]) == expected


def test_the_simulations_figures_are_checked_without_the_simulated_users(
    movielens_dir: Path, ml: MovieLens
) -> None:
    """The simulation's agent is built without the simulated users, so "rated M by N people" is its
    count without them: true against that data, false against the full files (and the reverse)."""
    raters = ml.ratings[1]  # Toy Story
    held = frozenset(sorted(raters)[:5])
    without = MovieLens.load(movielens_dir, held)
    assert held.isdisjoint(without.ratings[1]) and len(without.ratings[1]) == len(raters) - 5
    kept = without.ratings[1].values()
    text = f"Toy Story is rated {sum(kept) / len(kept):.1f} on average by {len(kept)} people."
    assert verdict(without, text, 1, "Toy Story") == "true"
    assert verdict(ml, text, 1, "Toy Story") == "false"


def _turn(texts: list[tuple[int, str, str]]) -> TurnResult:
    recs = [Recommendation(i, t, None, [], text, "template", 1.0, {}) for i, t, text in texts]
    return TurnResult("s1", 1, "ok", None, recs, {"total": 1.0})


class ScriptedAgent:
    """Shows two fixed explanations of Toy Story 2 and Jumanji, one of them with a false genre."""

    def create_session(self, user_id=None) -> str:
        return "s1"

    def turn(self, session_id: str, message: str) -> TurnResult:
        return _turn(
            [
                (3114, "Toy Story 2", "The 62 people who liked Toy Story rated Toy Story 2 4.1 on average."),
                (2, "Jumanji", "Jumanji is a horror film."),
            ]
        )

    def feedback(self, *args, **kwargs) -> dict:
        return {"ok": True}

    def session(self, session_id: str) -> dict:
        """The recorded turn: the LLM's text for Toy Story 2 was rejected, Jumanji's call timed out."""
        explanations = [
            {"item_id": 3114, "source": "template", "reason": "invalid:word:girl"},
            {"item_id": 2, "source": "template", "reason": "llm_error:timeout"},
        ]
        return {"turns": [{"turn_id": 1, "explanations": explanations}]}


def test_the_command_reports_a_small_run(tmp_path: Path, movielens_dir: Path, monkeypatch) -> None:
    monkeypatch.setenv("RECBOT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("RECBOT_DATA_DIR", str(movielens_dir))
    monkeypatch.setattr("eval.suite.load_runtime", lambda settings: SimpleNamespace(agent=ScriptedAgent()))
    dialogue = tmp_path / "toy.yaml"
    dialogue.write_text('name: toy\nuser: new\nturns:\n  - say: "I loved Toy Story"\n')
    sample = tmp_path / "sample.jsonl"
    sample.write_text(
        json.dumps({"text": "x", "label": "false"}) + "\n" + json.dumps({"text": "y", "label": "true"}) + "\n"
    )
    out = tmp_path / "ex.json"
    result = CliRunner().invoke(
        app,
        ["eval", "explanations", str(dialogue), "--users", "0", "--labelled", str(sample),
         "--json-out", str(out), "--sample-out", str(tmp_path / "shown.jsonl")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    figures = json.loads(out.read_text())["dialogues"]
    assert figures["explanations"] == 2
    assert figures["user_linked"] == 0.5 and figures["false_claims_run"] == 0.5
    assert figures["unique_sentences"] == 1.0 and figures["llm_share"] == 0.0
    assert figures["sessions"] == 1 and figures["session_repeated_openings"] == 0.0
    texts = figures["llm_texts"]
    assert (texts["accepted"], texts["rejected"], texts["failed"]) == (0, 1, 1)
    assert texts["rejected_by"] == {"word": 1}
    overall = json.loads(out.read_text())["all"]
    assert overall["labelled_sample"] == 2 and overall["false_claims_labelled"] == 0.5
    rows = [json.loads(line) for line in (tmp_path / "shown.jsonl").read_text().splitlines()]
    assert [r["label"] for r in rows] == ["true", "false"]
    assert [r["template_reason"] for r in rows] == ["invalid:word:girl", "llm_error:timeout"]
    assert "cites a user-linked fact" in result.output


def _shown(session: str, item_id: int, title: str, text: str) -> Shown:
    return Shown("dialogues", session, 1, item_id, title, text, "template", [], None, [], [])


def test_session_figures_count_repeated_openings_and_sentences() -> None:
    """Per session: "Alien is a ..." and "Psycho is a ..." open alike (the item's title and numbers
    masked), a sentence shown twice lowers the unique ratio; the figures are means over sessions."""
    one = [
        _shown("a", 1, "Alien", "Alien is a sci-fi film. It is rated 4.0 on average by 200 people."),
        _shown("a", 2, "Psycho", "Psycho is a crime film. It is rated 4.0 on average by 200 people."),
        _shown("a", 3, "Heat", "The 40 people who liked Ronin rated it 4.1 on average."),
        _shown("a", 4, "Fargo", "The 12 people who liked Ronin rated it 3.9 on average."),
    ]
    two = [
        _shown("b", 1, "Alien", "Alien is a sci-fi film."),
        _shown("b", 2, "Heat", "Because you liked Ronin, try Heat: it has the crime genre too."),
    ]
    figures = session_figures([*one, *two])
    assert figures["sessions"] == 2
    assert figures["session_repeated_openings"] == round((2 / 4 + 0 / 2) / 2, 4)
    assert figures["session_unique_sentences"] == round((5 / 6 + 2 / 2) / 2, 4)
    assert opening("Psycho is a crime film.", "Psycho") == "t is a"
    assert opening("The 40 people who liked Ronin rated it 4.1 on average.", "Heat") == "the n people"


def test_the_labelled_sample_matches_a_fresh_check_and_holds_no_false_claim(ml: MovieLens) -> None:
    """eval/data/explanations_labelled_issue15.jsonl (issue 15 item 5): every label still follows from
    the files, and what users were shown claims nothing false."""
    from eval.explanations import load_labelled
    from eval.labelled_sample import relabel

    rows = load_labelled()
    assert len(rows) >= 200
    for row in rows:
        fresh = relabel(row, ml)
        assert fresh["label"] == row["label"], (row["text"], fresh["reason"])
    assert not [r["text"] for r in rows if r["label"] != "true"]
