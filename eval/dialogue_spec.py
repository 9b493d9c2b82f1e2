"""The YAML format of a scripted dialogue, read strictly: every mistake names the file, line and key.

One dialogue per file::

    name: sci-fi fan who wants less violence
    user: new            # "new" or a user id from the catalog's interactions
    turns:
      - say: "I loved Alien and Blade Runner"
        expect: {recommends: true, any_genre: [Sci-Fi], excludes: ["Alien", "Blade Runner"]}
      - feedback: {item: 1, kind: seen}      # 1-based index into the last shown list
      - say: "more"
        expect: {excludes_feedback: true}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.types import FeedbackKind

# key -> (python types accepted, what to say when wrong)
EXPECT_KEYS: dict[str, tuple[tuple[type, ...], str]] = {
    "recommends": ((bool,), "true or false"),
    "asks_question": ((bool,), "true or false"),
    "any_genre": ((list,), "a list of genres"),
    "all_genres": ((list,), "a list of genres"),
    "no_genre": ((list,), "a list of genres"),
    "year_min": ((int,), "a year"),
    "year_max": ((int,), "a year"),
    "excludes": ((list,), "a list of titles"),
    "includes_any": ((list,), "a list of titles"),
    "excludes_feedback": ((bool,), "true or false"),
    "grounded": ((bool,), "true or false"),
    "min_distinct_genres": ((int,), "a whole number"),
    "reply_mentions": ((list,), "a list of words the reply must contain"),
    "reply_lacks": ((list,), "a list of words the reply must not contain"),
    "no_seed": ((list,), "a list of titles that must not be treated as liked"),
}
DIALOGUE_KEYS = {"name", "user", "turns", "description"}
FEEDBACK_KEYS = {"item", "kind"}
FEEDBACK_KINDS = {
    k.value
    for k in FeedbackKind
    if k not in (FeedbackKind.REPLY_UP, FeedbackKind.REPLY_DOWN, FeedbackKind.RATING)
}


class DialogueSpecError(ValueError):
    """A dialogue file that cannot be used; the message starts with ``file:line:``."""

    def __init__(self, path: Path | str, line: int | None, message: str) -> None:
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}: {message}")
        self.path, self.line = Path(path), line


@dataclass(frozen=True)
class Step:
    """One scripted step: a user message (``say``) or feedback on a shown item."""

    line: int
    say: str | None = None
    feedback_item: int | None = None  # 1-based index into the last shown list
    feedback_kind: str | None = None
    expect: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DialogueSpec:
    name: str
    user: int | None  # None: a new user
    steps: tuple[Step, ...]
    path: Path


def load_dialogues(path: Path) -> list[DialogueSpec]:
    """A YAML file, or every ``*.yaml`` / ``*.yml`` file under a folder (sorted by name)."""
    path = Path(path)
    if path.is_dir():
        files = sorted([*path.rglob("*.yaml"), *path.rglob("*.yml")])
        if not files:
            raise DialogueSpecError(path, None, "folder holds no .yaml dialogue files")
        return [load_dialogue(f) for f in files]
    if not path.is_file():
        raise DialogueSpecError(path, None, "no such file or folder")
    return [load_dialogue(path)]


def load_dialogue(path: Path) -> DialogueSpec:
    """Parse and check one dialogue file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DialogueSpecError(path, None, f"cannot read the file ({exc})") from None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise DialogueSpecError(path, line, f"malformed YAML: {exc.problem or exc}") from None
    except yaml.YAMLError as exc:
        raise DialogueSpecError(path, None, f"malformed YAML: {exc}") from None
    if root is None:
        raise DialogueSpecError(path, None, "the file is empty")
    return _dialogue(path, root)


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _mapping(path: Path, node: yaml.Node, what: str) -> dict[str, tuple[yaml.Node, yaml.Node]]:
    if not isinstance(node, yaml.MappingNode):
        raise DialogueSpecError(path, _line(node), f"{what} must be a mapping (key: value)")
    out: dict[str, tuple[yaml.Node, yaml.Node]] = {}
    for key_node, value_node in node.value:
        key = str(key_node.value)
        if key in out:
            raise DialogueSpecError(path, _line(key_node), f"duplicate key {key!r} in {what}")
        out[key] = (key_node, value_node)
    return out


def _value(node: yaml.Node) -> Any:
    return (
        yaml.SafeLoader(yaml.serialize(node)).get_single_data()
        if not isinstance(node, yaml.ScalarNode)
        else yaml.safe_load(yaml.serialize(node))
    )


def _dialogue(path: Path, root: yaml.Node) -> DialogueSpec:
    top = _mapping(path, root, "the dialogue")
    for key, (key_node, _) in top.items():
        if key not in DIALOGUE_KEYS:
            raise DialogueSpecError(
                path,
                _line(key_node),
                f"unknown key {key!r} (expected one of {', '.join(sorted(DIALOGUE_KEYS))})",
            )
    for required in ("name", "turns"):
        if required not in top:
            raise DialogueSpecError(path, _line(root), f"missing key {required!r}")
    name = _value(top["name"][1])
    if not isinstance(name, str) or not name.strip():
        raise DialogueSpecError(path, _line(top["name"][1]), "'name' must be a non-empty text")
    user: int | None = None
    if "user" in top:
        raw_user = _value(top["user"][1])
        if isinstance(raw_user, bool) or not (raw_user == "new" or isinstance(raw_user, int)):
            raise DialogueSpecError(
                path, _line(top["user"][1]), f"'user' must be \"new\" or a user id, got {raw_user!r}"
            )
        user = None if raw_user == "new" else int(raw_user)
    turns_node = top["turns"][1]
    if not isinstance(turns_node, yaml.SequenceNode) or not turns_node.value:
        raise DialogueSpecError(path, _line(turns_node), "'turns' must be a non-empty list")
    steps = tuple(_step(path, node) for node in turns_node.value)
    if steps[0].say is None:
        raise DialogueSpecError(path, steps[0].line, "the first turn must be a 'say' (nothing is shown yet)")
    return DialogueSpec(name=name.strip(), user=user, steps=steps, path=path)


def _step(path: Path, node: yaml.Node) -> Step:
    fields = _mapping(path, node, "a turn")
    kinds = [k for k in ("say", "feedback") if k in fields]
    for key, (key_node, _) in fields.items():
        if key not in {"say", "feedback", "expect"}:
            raise DialogueSpecError(
                path, _line(key_node), f"unknown key {key!r} in a turn (expected say, feedback, expect)"
            )
    if len(kinds) != 1:
        raise DialogueSpecError(path, _line(node), "a turn needs exactly one of 'say' or 'feedback'")
    expect = _expect(path, fields["expect"][1]) if "expect" in fields else {}
    if kinds[0] == "say":
        text = _value(fields["say"][1])
        if not isinstance(text, str | int | float) or not str(text).strip():
            raise DialogueSpecError(path, _line(fields["say"][1]), "'say' must be a non-empty message")
        return Step(line=_line(node), say=str(text), expect=expect)
    if expect:
        raise DialogueSpecError(
            path, _line(fields["expect"][0]), "'expect' belongs to a 'say' turn, not to feedback"
        )
    feedback = _mapping(path, fields["feedback"][1], "'feedback'")
    for key, (key_node, _) in feedback.items():
        if key not in FEEDBACK_KEYS:
            raise DialogueSpecError(
                path, _line(key_node), f"unknown key {key!r} in feedback (expected item, kind)"
            )
    if set(feedback) != FEEDBACK_KEYS:
        raise DialogueSpecError(path, _line(fields["feedback"][1]), "feedback needs 'item' and 'kind'")
    item = _value(feedback["item"][1])
    if isinstance(item, bool) or not isinstance(item, int) or item < 1:
        raise DialogueSpecError(
            path, _line(feedback["item"][1]), f"feedback 'item' must be a 1-based index, got {item!r}"
        )
    kind = _value(feedback["kind"][1])
    if kind not in FEEDBACK_KINDS:
        raise DialogueSpecError(
            path,
            _line(feedback["kind"][1]),
            f"feedback 'kind' must be one of {', '.join(sorted(FEEDBACK_KINDS))}, got {kind!r}",
        )
    return Step(line=_line(node), feedback_item=item, feedback_kind=str(kind))


def _expect(path: Path, node: yaml.Node) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, (key_node, value_node) in _mapping(path, node, "'expect'").items():
        if key not in EXPECT_KEYS:
            raise DialogueSpecError(
                path,
                _line(key_node),
                f"unknown expectation key {key!r} (expected one of {', '.join(EXPECT_KEYS)})",
            )
        types, wanted = EXPECT_KEYS[key]
        value = _value(value_node)
        bad_type = not isinstance(value, types) or (isinstance(value, bool) and bool not in types)
        if not bad_type and isinstance(value, list):
            bad_type = not value or not all(isinstance(v, str | int) and str(v).strip() for v in value)
            value = [str(v) for v in value] if not bad_type else value
        if bad_type:
            raise DialogueSpecError(
                path, _line(value_node), f"expectation {key!r} must be {wanted}, got {value!r}"
            )
        out[key] = value
    return out
