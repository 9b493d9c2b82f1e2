"""The dialogue agent: the one place every UI, the API, the CLI and the evaluators call.

A turn: clean and check the message -> parse (:mod:`bot.understand.parser`) -> update the session state
(:mod:`bot.state`) -> decide (:mod:`bot.policy`) -> candidates from the :class:`~bot.recommend.blend.Blender`
-> explanations from the :class:`~bot.explain.explainer.Explainer` -> record the turn (:mod:`bot.store`) ->
:class:`~bot.types.TurnResult` with per-stage latencies (parse, candidates, explain, record, total).

Input rules: control characters are stripped; a message that is empty after that, or longer than
``settings.max_message_chars``, raises :class:`InvalidInputError` (the API answers 400/422; the
interactive CLI simply re-prompts). The reply text contains the question too (streaming clients show
it), and ``TurnResult.question`` repeats it for UIs that render it as a prompt.

Feedback changes the session at once: up -> liked seed; down -> disliked (a negative in the CF
fold-in, so close neighbours sink too) and never shown again; seen -> excluded; not_interested ->
excluded and a negative for this session only (not carried to the user's later sessions: "not now"
is not "dislike"); click -> recorded, and becomes the item "that one" refers to; rating -> >= 4 like,
<= 2 dislike, else seen. Feedback on an item never shown in the session is an InvalidInputError.
"""

from __future__ import annotations

import logging
import secrets
import time
import uuid
from collections.abc import Generator, Iterator
from dataclasses import asdict, replace
from typing import Any

from bot.errors import InvalidInputError, ItemNotShownError, StoreError, UnknownSessionError
from bot.explain.explainer import ExplainContext, Explanation
from bot.explain.facts import display_title
from bot.logs import current_request_id, new_request_id
from bot.policy import Decision, Policy
from bot.recommend.constraints import ItemStats, satisfies
from bot.recommend.request import BlendRequest
from bot.reply_wording import liked_titles, numbered, why_text
from bot.reply_wording import opening as reply_opening
from bot.retrain import cf_user_id
from bot.settings import Settings
from bot.state import DialogueState, apply_feedback, apply_message, merge_constraints
from bot.store import SessionStore, check_session_id
from bot.types import Candidate, Constraints, Evidence, FeedbackKind, Neighbour, Recommendation, TurnResult
from bot.understand.parser import MessageParser, clean_text
from bot.understand.titles import TitleIndex
from cf_engine.data.catalog import Dataset

log = logging.getLogger(__name__)

ITEM_KINDS = {
    FeedbackKind.UP,
    FeedbackKind.DOWN,
    FeedbackKind.SEEN,
    FeedbackKind.NOT_INTERESTED,
    FeedbackKind.CLICK,
    FeedbackKind.RATING,
}


class Agent:
    """Conversational recommender over one dataset, blender, explainer and store."""

    def __init__(
        self,
        dataset: Dataset,
        blender: Any,
        explainer: Any,
        store: SessionStore,
        settings: Settings,
        cf: Any | None = None,
    ) -> None:
        self.dataset = dataset
        self.catalog = dataset.catalog
        self.blender = blender
        self.explainer = explainer
        self.store = store
        self.settings = settings
        self.cf = cf
        counts = dataset.interactions.groupby("item_id").size()
        means = dataset.interactions.groupby("item_id")["rating"].mean()
        self.popularity = {int(k): int(v) for k, v in counts.items()}
        self.stats = {int(k): ItemStats(int(counts[k]), float(means[k])) for k in counts.index}
        self.years = {item.item_id: item.year for item in self.catalog}
        self.max_year = max((y for y in self.years.values() if y), default=2018)
        self.titles = TitleIndex.build(self.catalog, self.popularity)
        tags = {t for item in self.catalog for t in item.tags}
        self.parser = MessageParser(self.titles, tags, self.max_year)
        self.policy = Policy(self.catalog, self.popularity)
        self._templates: Any = None

    # --- sessions ---------------------------------------------------------------------------
    def create_session(
        self, user_id: str | int | None = None, site_key: str | None = None, session_id: str | None = None
    ) -> str:
        """A new session (unguessable id unless the caller names one), with the user's earlier preferences."""
        session_id = secrets.token_urlsafe(24) if session_id is None else check_session_id(session_id)
        user = None if user_id is None or str(user_id).strip() == "" else str(user_id).strip()
        if user is not None and len(user) > 128:
            raise InvalidInputError("user id is longer than 128 characters")
        state = DialogueState(user_id=user)
        if user is not None:
            self._load_history(state, user)
        try:
            self.store.create_session(session_id, user, site_key, state.to_json())
        except StoreError as exc:
            raise InvalidInputError(str(exc)) from exc
        return session_id

    def session(self, session_id: str) -> dict[str, Any]:
        """The session's state, turns and feedback events."""
        row = self._row(session_id)
        return {
            "session_id": session_id,
            "user_id": row["user_id"],
            "site_key": row["site_key"],
            "created": row["created"],
            "state": DialogueState.from_json(row["state"]).to_dict(),
            "turns": self.store.turns(session_id),
            "feedback": self.store.feedback(session_id),
        }

    def has_session(self, session_id: str) -> bool:
        return self.store.get_session(session_id) is not None

    def _row(self, session_id: str) -> dict[str, Any]:
        row = self.store.get_session(session_id) if isinstance(session_id, str) else None
        if row is None:
            raise UnknownSessionError(f"unknown session {session_id!r}")
        return row

    def _load_history(self, state: DialogueState, user: str) -> None:
        """Liked / disliked items from this user's earlier sessions (their state JSON)."""
        for row in self.store.user_sessions(user):
            old = DialogueState.from_json(row["state"])
            for i in old.liked:
                if i in self.catalog and i not in state.history_liked:
                    state.history_liked.append(i)
            for i in old.disliked:
                if i in self.catalog and i not in state.history_disliked:
                    state.history_disliked.append(i)
        state.history_liked = [i for i in state.history_liked if i not in state.history_disliked]

    def known_user(self, state: DialogueState) -> int | None:
        """The user id as the CF model knows it (MovieLens ids are ints), or None."""
        uid = cf_user_id(state.user_id)
        return uid if uid is not None and self.cf is not None and self.cf.knows_user(uid) else None

    # --- turns ------------------------------------------------------------------------------
    def check_message(self, message: object) -> str:
        """The cleaned message, or :class:`InvalidInputError` (not a string, empty, too long)."""
        if not isinstance(message, str):
            raise InvalidInputError("message must be a string")
        if len(message) > self.settings.max_message_chars:
            raise InvalidInputError(
                f"message is {len(message)} characters; the limit is {self.settings.max_message_chars}"
            )
        # Lone surrogates (JSON "\\ud800") are not text and cannot be stored as UTF-8: dropped.
        text = clean_text(message.encode("utf-8", "ignore").decode("utf-8"))
        if not text:
            raise InvalidInputError(
                "message is empty: say what you'd like to watch, or name a movie you liked"
            )
        return text

    def turn(
        self,
        session_id: str,
        message: str,
        constraints: Constraints | None = None,
        template_only: bool = False,
    ) -> TurnResult:
        """One full turn (the streaming path, consumed)."""
        result = None
        chunks = self.turn_stream(session_id, message, constraints=constraints, template_only=template_only)
        for chunk in chunks:
            if isinstance(chunk, TurnResult):
                result = chunk
        assert result is not None
        return result

    def turn_stream(
        self,
        session_id: str,
        message: str,
        constraints: Constraints | None = None,
        template_only: bool = False,
    ) -> Iterator[str | TurnResult]:
        """Text chunks of the reply as they are ready, then the :class:`TurnResult` (last).

        ``template_only`` explains from templates without asking the LLM: the API sets it when many
        turns are queued, so a burst of visitors gets fast answers instead of a long LLM queue.

        The message and the session are checked before the first chunk (errors raise here, at call
        time); the turn is recorded once the last chunk is produced. ``constraints`` (from a UI's
        filter widgets) override the corresponding parts of the session's constraints: a non-empty
        genre set or a given year / rating bound replaces what the conversation said.
        """
        text = self.check_message(message)
        self._row(session_id)
        return self._turn_gen(session_id, text, constraints, template_only)

    def _turn_gen(
        self,
        session_id: str,
        text: str,
        ui_constraints: Constraints | None = None,
        template_only: bool = False,
    ) -> Generator[str | TurnResult, None, None]:
        # The store's lock holds across threads and processes (API replicas): one turn or
        # feedback call per session at a time.
        with self.store.session_lock(session_id):
            t0 = time.perf_counter()
            row = self._row(session_id)
            state = DialogueState.from_json(row["state"])
            parsed = self.parser.parse(text)
            t_parse = time.perf_counter()
            change = apply_message(state, parsed, self.years, self.max_year)
            if ui_constraints is not None and not ui_constraints.is_empty():
                state.constraints = merge_constraints(state.constraints, ui_constraints)
            known = self.known_user(state)
            decision = self.policy.decide(state, parsed, change, known_user=known is not None)
            candidates: list[Candidate] = []
            if decision.action == "recommend":
                candidates = self._candidates(state, decision, known)
            why = self._why_candidates(session_id, decision.why_items) if decision.action == "why" else []
            t_cand = time.perf_counter()

            chunks: list[str] = []
            recs: list[Recommendation] = []
            explanations: list[Explanation] = []
            opening = reply_opening(self.catalog, state, parsed, change, decision, candidates, why)
            if opening:
                chunks.append(opening)
                yield opening
            context = ExplainContext(
                liked_titles=liked_titles(self.catalog, state.all_liked()[-5:]),
                request=state.soft_text or text,
                constraints=state.constraints,
                seed=state.turn_count,
            )
            llm_down = template_only
            for n, cand in enumerate(candidates, start=1):
                item = self.catalog.get(cand.item_id)
                head = numbered(n, display_title(item.title), item.year)
                chunks.append(head)
                yield head
                explainer = self._fallback_explainer() if llm_down else self.explainer
                explanation = yield from self._explain(explainer, cand, context, chunks)
                # One LLM failure (timeout, crash) in a turn: the rest of the turn uses templates, so a
                # stuck model costs one llm_timeout_s per turn, not one per recommendation.
                llm_down = llm_down or (explanation.reason or "").startswith(("llm_error", "explainer_error"))
                explanations.append(explanation)
                recs.append(
                    Recommendation(
                        item_id=cand.item_id,
                        title=display_title(item.title),
                        year=item.year,
                        genres=list(item.genres),
                        explanation=explanation.text,
                        explanation_source=explanation.source,
                        score=cand.score,
                        evidence=asdict(cand.evidence),
                    )
                )
            t_explain = time.perf_counter()
            question = decision.question
            if question:
                tail = ("\n\n" if chunks else "") + question
                chunks.append(tail)
                yield tail

            self._remember(state, decision, candidates)
            latency = {
                "parse": _ms(t0, t_parse),
                "candidates": _ms(t_parse, t_cand),
                "explain": _ms(t_cand, t_explain),
            }
            reply = "".join(chunks).strip()
            turn_id = self.store.add_turn(
                session_id,
                state.to_json(),
                user_id=state.user_id,
                message=text,
                intent=parsed.intent,
                parse=parsed.to_dict(),
                candidates=[_candidate_dict(c) for c in candidates],
                recommendations=[asdict(r) for r in recs],
                shown=[c.item_id for c in candidates],
                reply=reply,
                question=question,
                explanations=[
                    {
                        "item_id": c.item_id,
                        "source": e.source,
                        "path": e.path,
                        "reason": e.reason,
                        "latency_ms": round(e.latency_ms, 2),
                    }
                    for c, e in zip(candidates, explanations, strict=True)
                ],
                latency_ms=latency,
            )
            t_end = time.perf_counter()
            latency["record"] = _ms(t_explain, t_end)
            latency["total"] = _ms(t0, t_end)
            # One structured line per turn; the API's request id, or a fresh one (CLI, evaluators).
            log.info(
                "turn",
                extra={
                    "request_id": current_request_id() or new_request_id(),
                    "session_id": session_id,
                    "turn_id": turn_id,
                    "intent": parsed.intent,
                    "shown": [c.item_id for c in candidates],
                    "latency_ms": latency,
                    "explanations": [e.path for e in explanations],
                },
            )
            yield TurnResult(
                session_id=session_id,
                turn_id=turn_id,
                reply=reply,
                question=question,
                recommendations=recs,
                latency_ms=latency,
                intent=parsed.intent,
            )

    def _fallback_explainer(self) -> Any:
        """A template-only explainer of the same kind (no LLM)."""
        if self._templates is None:
            try:
                self._templates = type(self.explainer)(None, self.settings)
            except Exception:  # noqa: BLE001 - an explainer class without that signature: keep the given one
                self._templates = self.explainer
        return self._templates

    def _explain(
        self, explainer: Any, cand: Candidate, context: ExplainContext, chunks: list[str]
    ) -> Generator[str, None, Explanation]:
        """Stream one explanation; an explainer that fails entirely falls back to the evidence text."""
        try:
            stream = explainer.explain_stream(cand, context)
            while True:
                try:
                    piece = next(stream)
                except StopIteration as done:
                    return done.value  # type: ignore[no-any-return]
                chunks.append(piece)
                yield piece
        except Exception as exc:  # noqa: BLE001 - a broken explainer must not lose the turn
            log.warning("explainer failed for item %s: %s; using the evidence text", cand.item_id, exc)
            text = why_text(cand).split(": ", 1)[-1]
            chunks.append(text)
            yield text
            return Explanation(text=text, source="template", path="template", reason=f"explainer_error:{exc}")

    def _candidates(self, state: DialogueState, decision: Decision, known: int | None) -> list[Candidate]:
        popular = decision.popular and not state.all_liked()
        request = BlendRequest(
            liked=[] if popular else state.all_liked(),
            disliked=state.all_disliked(),
            exclude=state.excluded(),
            text=None if popular else (state.soft_text or None),
            constraints=state.constraints,
            user_id=known,
            k=self.settings.n_recommendations,
        )
        try:
            candidates = list(self.blender.blend(request))
        except Exception as exc:  # noqa: BLE001 - e.g. the embedding model failed: retry without the text
            if not request.text:
                raise
            log.warning("blend failed (%s); retrying without the semantic query", exc)
            candidates = list(self.blender.blend(replace(request, text=None)))
        excluded = set(state.excluded())
        kept = []
        for c in candidates:  # the blender promises this; a violation must never reach the user
            item = self.catalog.get(c.item_id)
            if c.item_id in excluded or not satisfies(
                item, self.stats.get(c.item_id, ItemStats()), state.constraints
            ):
                log.error(
                    "blender returned item %s that is excluded or violates %s", c.item_id, state.constraints
                )
                continue
            kept.append(c)
        return kept[: self.settings.n_recommendations]

    def _why_candidates(self, session_id: str, item_ids: list[int]) -> list[Candidate]:
        """The recorded candidates (with evidence) of the items a "why" asks about."""
        wanted = list(dict.fromkeys(item_ids))
        found: dict[int, Candidate] = {}
        for turn in reversed(self.store.turns(session_id)):
            for c in turn["candidates"]:
                if c["item_id"] in wanted and c["item_id"] not in found:
                    found[c["item_id"]] = _candidate_from(c)
        return [found[i] for i in wanted if i in found]

    def _remember(self, state: DialogueState, decision: Decision, candidates: list[Candidate]) -> None:
        if candidates:
            state.last_shown = [c.item_id for c in candidates]
            state.last_list_kind = "recommendations"
            state.focus_item = None
            state.shown.extend(c.item_id for c in candidates if c.item_id not in state.shown)
            state.questions_asked = 0
        elif decision.seeds:
            state.last_shown = list(decision.seeds)
            state.last_list_kind = "options"
            state.offered_seeds.extend(i for i in decision.seeds if i not in state.offered_seeds)
        if decision.action in ("ask", "steer") and decision.question:
            state.questions_asked += 1

    # --- feedback ---------------------------------------------------------------------------
    def feedback(
        self,
        session_id: str,
        item_id: int | None,
        kind: str,
        event_id: str | None = None,
        value: float | None = None,
    ) -> dict[str, Any]:
        """Record feedback and apply it to the session; a repeated ``event_id`` is recorded once.

        Event ids are scoped to the session: the same id sent in another session is a new event there.
        """
        try:
            fkind = FeedbackKind(kind)
        except ValueError:
            raise InvalidInputError(
                f"unknown feedback kind {kind!r}; expected one of {', '.join(k.value for k in FeedbackKind)}"
            ) from None
        if event_id is not None and (not isinstance(event_id, str) or not 0 < len(event_id) <= 128):
            raise InvalidInputError("event_id must be a string of 1-128 characters")
        event_id = event_id or uuid.uuid4().hex
        with self.store.session_lock(session_id):
            row = self._row(session_id)
            old = self.store.get_feedback(session_id, event_id)  # ids are idempotency keys per session
            if old is not None:
                return _feedback_dict(old, duplicate=True)
            state = DialogueState.from_json(row["state"])
            if fkind in ITEM_KINDS:
                item_id = self._check_item(state, item_id)
                apply_feedback(state, item_id, fkind.value, value)
            elif item_id is not None:
                item_id = self._check_item(state, item_id)
            stored, new = self.store.add_feedback(
                event_id, session_id, state.user_id, item_id, fkind.value, value, state.to_json()
            )
        return _feedback_dict(stored, duplicate=not new)

    def _check_item(self, state: DialogueState, item_id: object) -> int:
        try:
            item = int(item_id)  # type: ignore[call-overload]
        except (TypeError, ValueError):
            raise InvalidInputError(f"item_id must be an integer, got {item_id!r}") from None
        if item not in state.shown and item not in state.offered_seeds:
            raise ItemNotShownError(f"item {item} was never shown in this session")
        return item


def _ms(a: float, b: float) -> float:
    return round((b - a) * 1000.0, 2)


def _candidate_dict(c: Candidate) -> dict[str, Any]:
    return asdict(c)


def _candidate_from(data: dict[str, Any]) -> Candidate:
    ev = dict(data.get("evidence") or {})
    ev["neighbours"] = [Neighbour(**n) for n in ev.get("neighbours", [])]
    known = set(Evidence.__dataclass_fields__)
    return Candidate(
        item_id=data["item_id"],
        title=data["title"],
        score=data["score"],
        cf_score=data.get("cf_score", 0.0),
        semantic_score=data.get("semantic_score", 0.0),
        evidence=Evidence(**{k: v for k, v in ev.items() if k in known}),
    )


def _feedback_dict(row: dict[str, Any], duplicate: bool) -> dict[str, Any]:
    return {
        "event_id": row["event_id"],
        "session_id": row["session_id"],
        "item_id": row["item_id"],
        "kind": row["kind"],
        "value": row["value"],
        "created": row["created"],
        "duplicate": duplicate,
    }
