"""The dialogue runner with a scripted fake agent: checks, feedback bookkeeping, summaries."""

from __future__ import annotations

from pathlib import Path

import pytest
from eval_fakes import FakeAgent, recommendation

from bot.types import Recommendation, TurnResult
from cf_engine.data.catalog import Item
from eval import dialogue_checks as checks
from eval.dialogue_runner import run_dialogue, summarise_outcomes
from eval.dialogue_spec import load_dialogue

ALIEN = Item(1, "Alien", 1979, ("Horror", "Sci-Fi"))
ALIENS = Item(2, "Aliens", 1986, ("Action", "Sci-Fi"))
MATRIX = Item(3, "Matrix, The", 1999, ("Action", "Sci-Fi"))
NOTEBOOK = Item(4, "Notebook, The", 2004, ("Drama", "Romance"))
SOLARIS = Item(5, "Solaris", 2002, ("Drama", "Sci-Fi"))


def result(*items: Item, question: str | None = None) -> TurnResult:
    return TurnResult("s", 1, "", question, [recommendation(i) for i in items], {})


@pytest.fixture(autouse=True)
def _no_validation(monkeypatch: pytest.MonkeyPatch) -> None:
    # The fake shows empty explanations; grounding is tested with the real agent (slow test).
    monkeypatch.setitem(checks.CHECKS, "grounded", lambda r, e, c: (True, "skipped in unit test"))


def test_genre_year_and_title_checks() -> None:
    ctx = checks.CheckContext()
    shown = result(ALIENS, MATRIX)
    assert checks.check_any_genre(shown, ["Sci-Fi"], ctx)[0]
    assert not checks.check_no_genre(shown, ["Action"], ctx)[0]
    assert checks.check_all_genres(shown, ["Action", "sci-fi"], ctx)[0]
    assert checks.check_year_min(shown, 1986, ctx)[0] and not checks.check_year_max(shown, 1990, ctx)[0]
    assert checks.check_excludes(shown, ["Alien"], ctx)[0]  # "Aliens" is not "Alien"
    assert not checks.check_excludes(shown, ["the matrix"], ctx)[0]  # "Matrix, The" is
    assert checks.check_includes_any(shown, ["Matrix", "Heat"], ctx)[0]
    assert (
        checks.check_min_distinct_genres(shown, 2, ctx)[0]
        and not checks.check_min_distinct_genres(shown, 3, ctx)[0]
    )
    assert not checks.check_any_genre(result(), ["Sci-Fi"], ctx)[0]  # nothing shown fails item checks
    assert checks.check_asks_question(result(question="Which one?"), True, ctx)[0]
    assert checks.check_recommends(result(), False, ctx)[0]


def test_grounded_uses_the_validator(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.undo()
    rec = Recommendation(
        item_id=5,
        title="Solaris",
        year=2002,
        genres=["Drama", "Sci-Fi"],
        explanation="A quiet sci-fi drama about grief, starring George Clooney.",
        explanation_source="llm",
        score=1.0,
        evidence={"genres": ["Drama", "Sci-Fi"], "matched_genres": ["Sci-Fi"], "year": 2002},
    )
    passed, detail = checks.check_grounded(
        TurnResult("s", 1, "", None, [rec], {}), True, checks.CheckContext()
    )
    assert not passed and "Solaris" in detail  # invented plot and cast are not in the evidence


def test_runner_end_to_end_with_fake_agent(tmp_path: Path) -> None:
    path = tmp_path / "d.yaml"
    path.write_text("""
name: fake
turns:
  - say: "I loved Alien"
    expect: {recommends: true, any_genre: [Sci-Fi], excludes: [Alien]}
  - feedback: {item: 1, kind: seen}
  - say: "more"
    expect: {excludes_feedback: true, no_genre: [Romance]}
  - say: "again"
    expect: {excludes_feedback: true}
""")

    def reply(message: str, rejected: set[int]) -> tuple[list[Item], str | None]:
        if message == "more":
            return [i for i in (ALIENS, SOLARIS, NOTEBOOK) if i.item_id not in rejected], None
        return [ALIENS, MATRIX], None  # "again" brings back the rejected Aliens

    agent = FakeAgent(reply)
    outcome = run_dialogue(agent, load_dialogue(path))
    assert agent.feedback_log == [(2, "seen")]
    failed = [(c.turn, c.key) for c in outcome.checks if not c.passed]
    assert failed == [(2, "no_genre"), (3, "excludes_feedback")]
    assert not outcome.passed and len(outcome.latencies_ms) == 3
    summary = summarise_outcomes([outcome])
    assert summary["per_key"]["excludes_feedback"] == {"passed": 1, "total": 2, "rate": 0.5}
    assert summary["dialogue_pass_rate"] == 0.0 and summary["latency_ms"]["turns"] == 3


def test_agent_crash_is_recorded_not_raised(tmp_path: Path) -> None:
    path = tmp_path / "d.yaml"
    path.write_text("name: crash\nturns:\n  - say: hi\n")

    def reply(message: str, rejected: set[int]) -> tuple[list[Item], str | None]:
        raise RuntimeError("boom")

    outcome = run_dialogue(FakeAgent(reply), load_dialogue(path))
    assert outcome.error == "RuntimeError: boom" and not outcome.passed


def test_feedback_on_a_missing_item_fails_the_check(tmp_path: Path) -> None:
    path = tmp_path / "d.yaml"
    path.write_text("name: f\nturns:\n  - say: hi\n  - feedback: {item: 3, kind: seen}\n")
    outcome = run_dialogue(FakeAgent(lambda m, r: ([ALIEN], None)), load_dialogue(path))
    assert [(c.key, c.passed) for c in outcome.checks if c.key == "feedback_target"] == [
        ("feedback_target", False)
    ]


def test_grounded_reads_the_explanation_with_the_users_messages() -> None:
    """'matches "high school"' quotes words that stood next to each other in what the user said: the
    check reads the evidence with the messages, as the explainer did (without them it cannot tell)."""
    from dataclasses import asdict

    from bot.types import Evidence

    ev = Evidence(genres=["Comedy"], query_terms=["high", "school"], n_ratings=42, mean_rating=3.5)
    text = 'Fast Times at Ridgemont High matches "high school" from your request. It is a comedy film.'
    rec = Recommendation(3210, "Fast Times at Ridgemont High", 1982, ["Comedy"], text, "llm", 1.0, asdict(ev))
    result = TurnResult("s", 1, text, None, [rec], {})
    said = checks.CheckContext(said=["something set in a high school"])
    assert checks.check_grounded(result, True, said)[0]
    assert not checks.check_grounded(result, True, checks.CheckContext(said=["high marks at school"]))[0]
