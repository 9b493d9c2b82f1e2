"""The dialogue YAML schema: good files load, bad ones name the file, the line and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from eval.dialogue_spec import EXPECT_KEYS, DialogueSpecError, load_dialogue, load_dialogues

REPO = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str, name: str = "d.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_example_from_the_issue_loads(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
name: sci-fi fan
user: new
turns:
  - say: "I loved Alien and Blade Runner"
    expect:
      recommends: true
      any_genre: [Sci-Fi]
      excludes: ["Alien", "Blade Runner"]
  - feedback: {item: 1, kind: seen}
  - say: "more"
    expect: {excludes_feedback: true, recommends: true}
""",
    )
    spec = load_dialogue(path)
    assert spec.name == "sci-fi fan" and spec.user is None
    assert [s.say for s in spec.steps] == ["I loved Alien and Blade Runner", None, "more"]
    assert spec.steps[0].expect == {
        "recommends": True,
        "any_genre": ["Sci-Fi"],
        "excludes": ["Alien", "Blade Runner"],
    }
    assert (spec.steps[1].feedback_item, spec.steps[1].feedback_kind) == (1, "seen")
    assert spec.steps[2].line == 11


def test_known_user_id(tmp_path: Path) -> None:
    spec = load_dialogue(write(tmp_path, "name: x\nuser: 414\nturns:\n  - say: hi\n"))
    assert spec.user == 414


def test_unknown_expectation_key_names_file_line_and_key(tmp_path: Path) -> None:
    path = write(tmp_path, "name: x\nturns:\n  - say: hi\n    expect:\n      recomends: true\n")
    with pytest.raises(DialogueSpecError) as info:
        load_dialogue(path)
    message = str(info.value)
    assert str(path) in message and ":5:" in message and "'recomends'" in message


def test_unknown_top_level_key(tmp_path: Path) -> None:
    with pytest.raises(DialogueSpecError, match=r"d\.yaml:2: unknown key 'turnz'"):
        load_dialogue(write(tmp_path, "name: x\nturnz:\n  - say: hi\n"))


def test_malformed_yaml_names_line(tmp_path: Path) -> None:
    path = write(tmp_path, 'name: x\nturns:\n  - say: "unterminated\n    expect: {recommends: true}\n')
    with pytest.raises(DialogueSpecError) as info:
        load_dialogue(path)
    assert str(path) in str(info.value) and "malformed YAML" in str(info.value)
    assert info.value.line is not None


def test_wrong_value_type(tmp_path: Path) -> None:
    with pytest.raises(DialogueSpecError, match=r":4: expectation 'any_genre' must be a list of genres"):
        load_dialogue(write(tmp_path, "name: x\nturns:\n  - say: hi\n    expect: {any_genre: Comedy}\n"))
    with pytest.raises(DialogueSpecError, match="'year_min' must be a year"):
        load_dialogue(write(tmp_path, "name: x\nturns:\n  - say: hi\n    expect: {year_min: true}\n"))


@pytest.mark.parametrize(
    "feedback, message",
    [
        ("{item: 0, kind: seen}", "1-based index"),
        ("{item: 1, kind: loved}", "'kind' must be one of"),
        ("{item: 1}", "needs 'item' and 'kind'"),
        ("{item: 1, kind: seen, extra: 2}", "unknown key 'extra' in feedback"),
    ],
)
def test_bad_feedback(tmp_path: Path, feedback: str, message: str) -> None:
    with pytest.raises(DialogueSpecError, match=message):
        load_dialogue(write(tmp_path, f"name: x\nturns:\n  - say: hi\n  - feedback: {feedback}\n"))


def test_structure_errors(tmp_path: Path) -> None:
    with pytest.raises(DialogueSpecError, match="missing key 'turns'"):
        load_dialogue(write(tmp_path, "name: x\n"))
    with pytest.raises(DialogueSpecError, match="first turn must be a 'say'"):
        load_dialogue(write(tmp_path, "name: x\nturns:\n  - feedback: {item: 1, kind: seen}\n"))
    with pytest.raises(DialogueSpecError, match="exactly one of 'say' or 'feedback'"):
        load_dialogue(write(tmp_path, "name: x\nturns:\n  - expect: {recommends: true}\n"))
    with pytest.raises(DialogueSpecError, match="'user' must be"):
        load_dialogue(write(tmp_path, "name: x\nuser: someone\nturns:\n  - say: hi\n"))
    with pytest.raises(DialogueSpecError, match="empty"):
        load_dialogue(write(tmp_path, ""))


def test_folder_and_missing_path(tmp_path: Path) -> None:
    write(tmp_path, "name: a\nturns:\n  - say: hi\n", "a.yaml")
    write(tmp_path, "name: b\nturns:\n  - say: hi\n", "b.yml")
    assert [s.name for s in load_dialogues(tmp_path)] == ["a", "b"]
    with pytest.raises(DialogueSpecError, match="no such file"):
        load_dialogues(tmp_path / "nope.yaml")


def test_shipped_dialogues_are_valid_and_cover_the_keys() -> None:
    specs = load_dialogues(REPO / "eval" / "dialogues")
    assert len(specs) >= 30
    used = {key for spec in specs for step in spec.steps for key in step.expect}
    assert used >= set(EXPECT_KEYS) - {"grounded", "all_genres"}
    assert any(spec.user is not None for spec in specs)
    assert any(step.feedback_kind for spec in specs for step in spec.steps)
