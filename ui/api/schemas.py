"""Request and response bodies of the JSON API, one small family per entity.

They mirror the agent's plain objects (``bot.types``) so the OpenAPI document at
``/api/v1/openapi.json`` describes exactly what a client gets. Request models forbid unknown
fields and take no string for a number: a typo in a client becomes a clear 422 instead of a
silently ignored or reinterpreted value.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from bot.types import FeedbackKind

# Generous outer bound; the configured settings.max_message_chars is checked in the route.
MAX_BODY_MESSAGE_CHARS = 100_000


def _json_number(value: object) -> object:
    """Refuse what JSON Schema does not call a number: "238" or true for an integer field (a 422).

    Pydantic's strict mode would also refuse 1.0, which JSON Schema counts as an integer, so numbers
    stay lax and only strings and booleans are turned away.
    """
    if isinstance(value, str | bytes | bool):
        raise ValueError("must be a JSON number")
    return value


JsonInt = Annotated[int, BeforeValidator(_json_number)]
JsonFloat = Annotated[float, BeforeValidator(_json_number)]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OpenModel(BaseModel):
    """A response whose extra fields (added by the agent later) pass through unchanged."""

    model_config = ConfigDict(extra="allow")


# --- sessions -------------------------------------------------------------------------------
class SessionCreate(StrictModel):
    # le: 2**53 - 1 is the largest integer every JSON client reads exactly (JavaScript's numbers).
    user_id: Annotated[int, Field(ge=1, le=2**53 - 1), BeforeValidator(_json_number)] | None = Field(
        default=None, description="A known MovieLens user id, or null for a new visitor."
    )


class SessionCreated(BaseModel):
    session_id: str
    user_id: int | None = None


class SessionOut(OpenModel):
    """A session as the agent records it: its turns and its feedback events (with event ids)."""

    session_id: str
    user_id: int | str | None = None
    site_key: str | None = None
    turns: list[dict[str, Any]] = Field(default_factory=list)
    feedback: list[dict[str, Any]] = Field(default_factory=list)


# --- messages -------------------------------------------------------------------------------
# A message must hold one character that is neither space nor a control or invisible one (what
# bot.parse.clean_text removes, written out so JSON Schema and Python read it alike). Documented only:
# the agent checks it and answers "message is empty" rather than a regular expression.
VISIBLE_CHARACTER = r"[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200f\u2028-\u202f\u205f-\u206f\u3000\ufeff]"


class MessageIn(StrictModel):
    message: str = Field(
        min_length=1,
        max_length=MAX_BODY_MESSAGE_CHARS,
        description="What the visitor typed (at most the server's max_message_chars).",
        json_schema_extra={"pattern": VISIBLE_CHARACTER},
    )


class RecommendationOut(BaseModel):
    item_id: int
    title: str
    year: int | None = None
    genres: list[str] = Field(default_factory=list)
    explanation: str
    explanation_source: Literal["llm", "template"]
    score: float
    evidence: dict[str, Any] = Field(default_factory=dict)


class TurnOut(BaseModel):
    """One turn's reply (``bot.types.TurnResult``); the SSE ``result`` event carries the same object."""

    session_id: str
    turn_id: int
    reply: str
    question: str | None = None
    recommendations: list[RecommendationOut] = Field(default_factory=list)
    latency_ms: dict[str, float] = Field(default_factory=dict)
    intent: str = "recommend"


# --- the SSE stream of a turn (``Accept: text/event-stream``) -------------------------------
class TokenEventOut(BaseModel):
    """``event: token``: the next piece of the reply text."""

    text: str


class RankedItemOut(BaseModel):
    item_id: int
    title: str
    year: int | None = None


class RankedEventOut(BaseModel):
    """``event: ranked``: the items this turn will show, in order, before any explanation is written.

    The turn is recorded before this is sent: feedback on these items is accepted from now on.
    """

    session_id: str
    turn_id: int
    items: list[RankedItemOut]


class CardEventOut(BaseModel):
    """``event: card``: one recommendation, sent as soon as its explanation passed the validator.

    ``index`` counts from 0 in the order of the ``ranked`` event; the ``result`` event's
    ``recommendations[index]`` is the same object.
    """

    session_id: str
    turn_id: int
    index: int = Field(ge=0)
    recommendation: RecommendationOut


class StreamErrorOut(BaseModel):
    """``event: error``: the turn failed after the stream began (``status`` as the HTTP answer would be)."""

    status: int
    detail: str


# Event name -> the schema of its ``data`` (JSON), in the order a turn sends them.
SSE_EVENTS: dict[str, type[BaseModel]] = {
    "token": TokenEventOut,
    "ranked": RankedEventOut,
    "card": CardEventOut,
    "result": TurnOut,
    "error": StreamErrorOut,
}


# --- feedback -------------------------------------------------------------------------------
EventId = Annotated[
    str | None,
    Field(
        min_length=1,
        max_length=128,
        description="Client-chosen id: sending the same event again records it once.",
    ),
]


class ItemFeedbackIn(StrictModel):
    """Thumbs up/down, seen it, not interested or a click on a recommended item."""

    kind: Literal["up", "down", "seen", "not_interested", "click"]
    item_id: JsonInt = Field(description="An item this session showed (else 409).")
    event_id: EventId = None
    value: JsonFloat | None = None


class RatingFeedbackIn(StrictModel):
    """A star rating of a recommended item."""

    kind: Literal["rating"]
    item_id: JsonInt = Field(description="An item this session showed (else 409).")
    value: JsonFloat = Field(ge=0.5, le=5.0, description="The rating, 0.5 to 5.")
    event_id: EventId = None


class ReplyFeedbackIn(StrictModel):
    """Thumbs on a whole reply."""

    kind: Literal["reply_up", "reply_down"]
    item_id: JsonInt | None = Field(default=None, description="Optional; an item this session showed.")
    event_id: EventId = None
    value: JsonFloat | None = Field(default=None, description="The turn id of the reply.")


# One body per kind of feedback, told apart by ``kind``: the schema says which fields each needs, so a
# request it allows is one the agent accepts (or refuses for the session's state: 409).
FeedbackIn = Annotated[ItemFeedbackIn | RatingFeedbackIn | ReplyFeedbackIn, Field(discriminator="kind")]
assert {k.value for k in FeedbackKind} == {
    kind
    for model in (ItemFeedbackIn, RatingFeedbackIn, ReplyFeedbackIn)
    for kind in model.model_fields["kind"].annotation.__args__  # type: ignore[union-attr]
}, "every FeedbackKind needs a request body"


class FeedbackOut(OpenModel):
    event_id: str | None = None
    session_id: str | None = None
    item_id: int | None = None
    kind: str | None = None


# --- items and health -------------------------------------------------------------------------
class ItemOut(BaseModel):
    item_id: int
    title: str
    display_title: str
    year: int | None = None
    genres: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    text: str = ""
    links: dict[str, str] = Field(default_factory=dict)


class HealthOut(BaseModel):
    status: Literal["ok", "degraded"]
    components: dict[str, Any] = Field(default_factory=dict)


class ErrorOut(BaseModel):
    detail: str


class ValidationIssue(OpenModel):
    """One field a request got wrong (FastAPI's shape; ``input`` and ``ctx`` may come with it)."""

    loc: list[str | int]
    msg: str
    type: str


class ValidationErrorOut(BaseModel):
    """A 422: a sentence when the agent refuses a value, or one issue per field the schema rejects."""

    detail: str | list[ValidationIssue]


# The answers every route with a JSON body can give besides its own: a body that is not UTF-8 JSON
# (FastAPI's 400) and a body or parameter that does not validate (422).
BODY_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "The body could not be read (not UTF-8 JSON)."},
    422: {"model": ValidationErrorOut, "description": "A field is missing, malformed or refused."},
}
PARAM_ERRORS: dict[int | str, dict[str, Any]] = {
    422: {"model": ValidationErrorOut, "description": "A path parameter is malformed."},
}
