"""ReDial files and the evaluation samples built from them.

The protocol follows Kostric & Balog (SIGIR 2026, iai-group/redial-reproducibility): one sample per
(recommender message, movie it names), where the message is sent by the respondent (the recommender),
names movies as ``@<id>`` and has at least one earlier message as context. A target is *fresh* when
neither speaker mentioned it earlier in the dialogue.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

MENTION = re.compile(r"@(\d+)")

# ReDial's questionnaire answers for "liked": 0 did not like, 1 liked, 2 did not say.
LIKED, DISLIKED, UNKNOWN = 1, 0, 2


class RedialDataError(ValueError):
    """A ReDial file that is missing or does not have the expected shape (names file and line)."""


@dataclass(frozen=True)
class Message:
    text: str
    sender: int


@dataclass(frozen=True)
class Conversation:
    conversation_id: str
    messages: tuple[Message, ...]
    seeker: int
    recommender: int
    # ReDial id -> liked answer (0/1/2), seeker's questionnaire first, then the recommender's.
    liked: dict[int, int] = field(default_factory=dict)
    titles: dict[int, str] = field(default_factory=dict)  # movieMentions of this dialogue


@dataclass(frozen=True)
class Mention:
    """A movie named in the context, with the sentiment the seeker reported for it."""

    movie_id: int
    by_seeker: bool
    liked: int  # LIKED / DISLIKED / UNKNOWN


@dataclass(frozen=True)
class Sample:
    """Predict ``target`` from the dialogue before the recommender message at ``message_index``."""

    conversation_id: str
    message_index: int
    target: int  # ReDial movie id
    fresh: bool
    context: tuple[Message, ...]
    mentions: tuple[Mention, ...]  # context mentions in order of first appearance
    seeker: int
    recommender: int

    @property
    def context_movie_ids(self) -> list[int]:
        return [m.movie_id for m in self.mentions]

    def seeker_text(self) -> str:
        """The seeker's words in the context (what a chat user would have typed)."""
        return " ".join(m.text for m in self.context if m.sender == self.seeker)


def read_movies(path: Path) -> dict[int, tuple[str, int]]:
    """``movies_with_mentions.csv`` -> {ReDial id: (raw name, number of mentions)}."""
    if not path.is_file():
        raise RedialDataError(f"{path}: file not found (expected ReDial's movies_with_mentions.csv)")
    movies: dict[int, tuple[str, int]] = {}
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, [])
        if [h.strip() for h in header[:2]] != ["movieId", "movieName"]:
            raise RedialDataError(f"{path}:1: header should start with movieId,movieName, got {header}")
        for row in reader:
            if not row:
                continue
            try:
                movie_id = int(row[0])
                count = int(row[2]) if len(row) > 2 and row[2].strip() else 0
            except (ValueError, IndexError):
                raise RedialDataError(f"{path}:{reader.line_num}: bad row {row!r}") from None
            movies[movie_id] = (row[1], count)
    return movies


def read_conversations(path: Path) -> list[Conversation]:
    """Parse a ReDial ``*_data.jsonl`` file (one dialogue per line)."""
    if not path.is_file():
        raise RedialDataError(f"{path}: file not found (expected a ReDial <split>_data.jsonl)")
    conversations: list[Conversation] = []
    with open(path, encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
                conversations.append(_conversation(raw))
            except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                raise RedialDataError(
                    f"{path}:{number}: not a ReDial dialogue ({type(exc).__name__}: {exc})"
                ) from None
    return conversations


def _conversation(raw: dict) -> Conversation:
    messages = tuple(Message(text=str(m["text"]), sender=int(m["senderWorkerId"])) for m in raw["messages"])
    liked: dict[int, int] = {}
    for key in ("respondentQuestions", "initiatorQuestions"):  # seeker's answers win (written last)
        answers = raw.get(key) or {}
        if isinstance(answers, dict):
            for movie_id, answer in answers.items():
                if isinstance(answer, dict) and "liked" in answer:
                    value = int(answer["liked"])
                    if key == "initiatorQuestions" or movie_id not in liked or value != UNKNOWN:
                        liked[int(movie_id)] = value
    titles = {int(k): str(v) for k, v in (raw.get("movieMentions") or {}).items() if v is not None}
    return Conversation(
        conversation_id=str(raw["conversationId"]),
        messages=messages,
        seeker=int(raw["initiatorWorkerId"]),
        recommender=int(raw["respondentWorkerId"]),
        liked=liked,
        titles=titles,
    )


def mentions_in(text: str) -> list[int]:
    """Distinct ``@id`` mentions in order of appearance."""
    return list(dict.fromkeys(int(m) for m in MENTION.findall(text)))


def build_samples(conversations: Iterable[Conversation]) -> list[Sample]:
    """One sample per (recommender message with a mention, mentioned movie), context non-empty."""
    samples: list[Sample] = []
    for conv in conversations:
        seen: dict[int, Mention] = {}
        for index, message in enumerate(conv.messages):
            ids = mentions_in(message.text)
            if message.sender == conv.recommender and index > 0 and ids:
                mentions = tuple(seen.values())
                for target in ids:
                    samples.append(
                        Sample(
                            conversation_id=conv.conversation_id,
                            message_index=index,
                            target=target,
                            fresh=target not in seen,
                            context=conv.messages[:index],
                            mentions=mentions,
                            seeker=conv.seeker,
                            recommender=conv.recommender,
                        )
                    )
            for movie_id in ids:
                if movie_id not in seen:
                    seen[movie_id] = Mention(
                        movie_id, message.sender == conv.seeker, conv.liked.get(movie_id, UNKNOWN)
                    )
    return samples


def replace_mentions(text: str, titles: dict[int, str]) -> str:
    """``"like @111776"`` -> ``"like Super Troopers (2001)"`` (unknown ids are dropped)."""
    return MENTION.sub(lambda m: titles.get(int(m.group(1)), ""), text)
