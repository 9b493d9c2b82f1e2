"""Request and response bodies of the JSON API, one small family per entity.

They mirror the agent's plain objects (``bot.types``) so the OpenAPI document at
``/api/v1/openapi.json`` describes exactly what a client gets. Request models forbid unknown
fields: a typo in a client becomes a clear 422 instead of a silently ignored value.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from bot.types import FeedbackKind

# Generous outer bound; the configured settings.max_message_chars is checked in the route.
MAX_BODY_MESSAGE_CHARS = 100_000


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OpenModel(BaseModel):
    """A response whose extra fields (added by the agent later) pass through unchanged."""

    model_config = ConfigDict(extra="allow")


# --- sessions -------------------------------------------------------------------------------
class SessionCreate(StrictModel):
    user_id: int | None = Field(
        default=None, ge=1, description="A known MovieLens user id, or null for a new visitor."
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
class MessageIn(StrictModel):
    message: str = Field(
        min_length=1, max_length=MAX_BODY_MESSAGE_CHARS, description="What the visitor typed."
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


# --- feedback -------------------------------------------------------------------------------
class FeedbackIn(StrictModel):
    item_id: int | None = Field(
        default=None, description="The recommended item; null only for reply_up / reply_down."
    )
    kind: FeedbackKind
    event_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        description="Client-chosen id: sending the same event again records it once.",
    )
    value: float | None = Field(
        default=None, description="The rating for kind=rating; the turn id for reply_*."
    )


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
