"""The dialogue agent: the one place every UI, the API, the CLI and the evaluators call.

A turn: check the message (:func:`bot.turn.check_message`) -> parse (:mod:`bot.understand.parser`) ->
update the session state (:mod:`bot.state`) -> decide (:mod:`bot.policy`) -> candidates from the
blender (:class:`~bot.recommend.blend.Blender`), checked once by the :class:`~bot.turn.TurnRecord` ->
explanations from the explainer (:class:`~bot.explain.explainer.Explainer`) -> the record writes the
turn (:mod:`bot.store`) -> :class:`~bot.types.TurnResult` with per-stage latencies (parse, candidates,
explain, record, total). :class:`Agent` implements :class:`bot.chat_agent.ChatAgent`.

Input rules: control characters are stripped; a message that is empty after that, or longer than
``settings.max_message_chars``, raises :class:`InvalidInputError` (the API answers 400/422; the
interactive CLI simply re-prompts). The reply text contains the question too (streaming clients show
it), and ``TurnResult.question`` repeats it for UIs that render it as a prompt.

Feedback (:mod:`bot.feedback`) changes the session at once; see there for what each kind does.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import replace
from typing import Any

from bot.errors import InvalidInputError, StoreError
from bot.explain.explainer import CandidateExplainer, ExplainContext, Explanation
from bot.explain.facts import display_title
from bot.feedback import FeedbackRecorder
from bot.policy import Decision, Policy
from bot.recommend.item_features import ItemFeatures
from bot.recommend.request import BlendRequest, CandidateSource
from bot.recommend.served import SAID_KEPT, request_for, served_candidates
from bot.recommend.sources import CFScorer
from bot.reply_wording import liked_titles, numbered, why_text
from bot.reply_wording import opening as reply_opening
from bot.retrain import cf_user_id
from bot.sessions import session_row
from bot.settings import Settings
from bot.state import DialogueState, apply_message, merge_constraints
from bot.store import SessionStore, check_session_id
from bot.turn import TurnRecord, candidate_from, check_message, remember
from bot.types import Candidate, CardReady, Constraints, RankedItem, RankedList, TurnEvent, TurnResult
from bot.understand.catalog_fields import CatalogFields
from bot.understand.parser import MessageParser
from bot.understand.titles import TitleIndex
from cf_engine.data.catalog import Dataset

log = logging.getLogger(__name__)

# Hands an evaluator the request a turn ranked its list by (bot.recommend.served.served_scores of it
# is the whole served ranking, the shown items first).
RankingObserver = Callable[[BlendRequest], None]


class Agent:
    """Conversational recommender over one dataset, blender, explainer and store."""

    def __init__(
        self,
        dataset: Dataset,
        blender: CandidateSource,
        explainer: CandidateExplainer,
        store: SessionStore,
        settings: Settings,
        cf: CFScorer | None = None,
        features: ItemFeatures | None = None,
    ) -> None:
        """``features``: the runtime's shared one (built here when not given)."""
        self.dataset = dataset
        self.catalog = dataset.catalog
        self.blender = blender
        self.explainer = explainer
        self.store = store
        self.settings = settings
        self.cf = cf
        if features is None:
            features = ItemFeatures.from_dataset(dataset, settings.positive_threshold)
        self.features = features
        self.titles = TitleIndex.build(self.catalog, features.rating_counts)
        tags = {t for item in self.catalog for t in item.tags}
        fields = CatalogFields.detect(self.catalog, settings.catalog_fields)
        self.parser = MessageParser(self.titles, tags, features.max_year, fields)
        self.policy = Policy(self.catalog, features.rating_counts)
        self._feedback = FeedbackRecorder(store)

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
        row = session_row(self.store, session_id)
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
        return check_message(message, self.settings.max_message_chars)

    def turn(
        self,
        session_id: str,
        message: str,
        constraints: Constraints | None = None,
        template_only: bool = False,
        on_ranking: RankingObserver | None = None,
    ) -> TurnResult:
        """One full turn: :meth:`turn_events`, consumed (the evaluators get the streamed page's cards).

        ``on_ranking`` is called with the request the turn's list was ranked by, when it shows one.
        """
        result = None
        events = self.turn_events(
            session_id, message, constraints=constraints, template_only=template_only, on_ranking=on_ranking
        )
        for event in events:
            if isinstance(event, TurnResult):
                result = event
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

        :meth:`turn_events` without the card events, for clients that show text only (``recbot chat``).
        """
        events = self.turn_events(session_id, message, constraints=constraints, template_only=template_only)
        return (e for e in events if isinstance(e, str | TurnResult))

    def turn_events(
        self,
        session_id: str,
        message: str,
        constraints: Constraints | None = None,
        template_only: bool = False,
        on_ranking: RankingObserver | None = None,
    ) -> Iterator[TurnEvent]:
        """The turn as it happens: text chunks, the :class:`RankedList`, one :class:`CardReady` per card
        as soon as its explanation is validated, then the :class:`TurnResult` (last).

        ``template_only`` explains from templates without asking the LLM: the API sets it when many
        turns are queued, so a burst of visitors gets fast answers instead of a long LLM queue.

        The message and the session are checked before the first event (errors raise here, at call
        time). The turn row and the session's new state are written once the ranked list is known,
        before any title or card is sent, so feedback on a shown item is always accepted; the reply
        and the cards are filled into that row when the turn ends. ``constraints`` (from a UI's
        filter widgets) override the corresponding parts of the session's constraints: a non-empty
        genre set or a given year / rating bound replaces what the conversation said.
        """
        text = self.check_message(message)
        session_row(self.store, session_id)
        return self._turn_gen(session_id, text, constraints, template_only, on_ranking)

    def _turn_gen(
        self,
        session_id: str,
        text: str,
        ui_constraints: Constraints | None,
        template_only: bool,
        on_ranking: RankingObserver | None = None,
    ) -> Generator[TurnEvent, None, None]:
        # The store's lock holds across threads and processes (API replicas): one turn or
        # feedback call per session at a time. Feedback sent while cards stream waits for the turn.
        with self.store.session_lock(session_id):
            t0 = time.perf_counter()
            state = DialogueState.from_json(session_row(self.store, session_id)["state"])
            turn = TurnRecord(session_id, text, state, self.parser.parse(text), started=t0)
            t_parse = time.perf_counter()
            change = apply_message(state, turn.parsed, self.features.years, self.features.max_year)
            state.said = [*state.said, text][-SAID_KEPT:]
            if ui_constraints is not None and not ui_constraints.is_empty():
                state.constraints = merge_constraints(state.constraints, ui_constraints)
            known = self.known_user(state)
            decision = self.policy.decide(state, turn.parsed, change, known_user=known is not None)
            candidates: list[Candidate] = []
            if decision.action == "recommend":
                candidates = turn.admit(
                    self._candidates(state, decision, known, on_ranking), self.features, self.limit
                )
            why = self._why_candidates(session_id, decision.why_items) if decision.action == "why" else []
            t_cand = time.perf_counter()

            opening = reply_opening(self.catalog, state, turn.parsed, change, decision, candidates, why)
            context = ExplainContext(
                liked_titles=liked_titles(self.catalog, state.all_liked()[-5:]),
                request=state.soft_text or text,
                constraints=state.constraints,
                seed=state.turn_count,
                said=tuple(state.said),
                recent_openings=tuple(state.openings),
            )
            turn.question = decision.question
            # Nothing later in the turn changes the state, so it is final now: record the turn (and
            # what it shows) before the user can see any of it.
            remember(state, decision, candidates)
            turn.record(self.store)
            t_recorded = time.perf_counter()
            finished = False
            try:
                if opening:
                    yield turn.say(opening)
                if candidates:
                    yield RankedList(session_id, turn.turn_id, [self._ranked_item(c) for c in candidates])
                llm_down = template_only
                t_first_card: float | None = None
                for n, cand in enumerate(candidates, start=1):
                    item = self.catalog.get(cand.item_id)
                    yield turn.say(numbered(n, display_title(item.title), item.year))
                    explainer = self.explainer.template_only() if llm_down else self.explainer
                    explanation = yield from self._explain(explainer, cand, context, turn)
                    # the next card opens another way ("Alien is a ..." / "Psycho is a ...")
                    context = replace(context, used_openings=(*context.used_openings, explanation.opening))
                    # One LLM failure (timeout, crash) in a turn: the rest of the turn uses templates, so
                    # a stuck model costs one llm_timeout_s per turn, not one per recommendation.
                    failed = (explanation.reason or "").startswith(("llm_error", "explainer_error"))
                    llm_down = llm_down or failed
                    turn.add(cand, explanation, self.features)
                    t_first_card = t_first_card or time.perf_counter()
                    yield CardReady(session_id, turn.turn_id, n - 1, turn.recommendations[-1])
                t_explain = time.perf_counter()
                if turn.question:
                    yield turn.say(("\n\n" if turn.chunks else "") + turn.question)

                turn.latency_ms = {"parse": _ms(t0, t_parse), "candidates": _ms(t_parse, t_cand)}
                turn.latency_ms["explain"] = _ms(t_recorded, t_explain)
                if t_first_card is not None:
                    turn.latency_ms["first_card"] = _ms(t0, t_first_card)
                turn.finish(self.store)
                finished = True
                t_end = time.perf_counter()
                # both writes: the row before the first card, the reply after the last
                turn.latency_ms["record"] = round(_ms(t_cand, t_recorded) + _ms(t_explain, t_end), 2)
                turn.latency_ms["total"] = _ms(t0, t_end)
                turn.log()
                yield turn.result()
            finally:
                if not finished:  # the consumer went away or a step failed: keep what was shown
                    self._finish_partial(turn)

    def _finish_partial(self, turn: TurnRecord) -> None:
        try:
            turn.finish(self.store)
        except Exception as exc:  # noqa: BLE001 - the row with the shown items is already written
            log.warning("could not record the end of turn %s: %s", turn.turn_id, exc)

    def _ranked_item(self, cand: Candidate) -> RankedItem:
        item = self.catalog.get(cand.item_id)
        return RankedItem(cand.item_id, display_title(item.title), item.year)

    @property
    def limit(self) -> int:
        return self.settings.n_recommendations

    def _explain(
        self, explainer: CandidateExplainer, cand: Candidate, context: ExplainContext, turn: TurnRecord
    ) -> Generator[str, None, Explanation]:
        """Stream one explanation; an explainer that fails entirely falls back to the evidence text."""
        try:
            stream = explainer.explain_stream(cand, context)
            while True:
                try:
                    piece = next(stream)
                except StopIteration as done:
                    return done.value  # type: ignore[no-any-return]
                yield turn.say(piece)
        except Exception as exc:  # noqa: BLE001 - a broken explainer must not lose the turn
            log.warning("explainer failed for item %s: %s; using the evidence text", cand.item_id, exc)
            text = why_text(cand, context.said).split(": ", 1)[-1]
            yield turn.say(text)
            return Explanation(text=text, source="template", path="template", reason=f"explainer_error:{exc}")

    def _candidates(
        self, state: DialogueState, decision: Decision, known: int | None, on_ranking: RankingObserver | None
    ) -> list[Candidate]:
        # The one served ranking (bot/recommend/served.py; the evaluators score the same request).
        request = request_for(state, popular=decision.popular, known=known, k=self.limit)
        try:
            candidates = served_candidates(self.blender, self.catalog, request, self.limit)
        except Exception as exc:  # noqa: BLE001 - e.g. the embedding model failed: retry without the text
            if not request.text:
                raise
            log.warning("blend failed (%s); retrying without the semantic query", exc)
            request = replace(request, text=None)
            candidates = served_candidates(self.blender, self.catalog, request, self.limit)
        if on_ranking is not None:
            on_ranking(request)
        return candidates

    def _why_candidates(self, session_id: str, item_ids: list[int]) -> list[Candidate]:
        """The recorded candidates (with evidence) of the items a "why" asks about."""
        wanted = list(dict.fromkeys(item_ids))
        found: dict[int, Candidate] = {}
        for turn in reversed(self.store.turns(session_id)):
            for c in turn["candidates"]:
                if c["item_id"] in wanted and c["item_id"] not in found:
                    found[c["item_id"]] = candidate_from(c)
        return [found[i] for i in wanted if i in found]

    # --- feedback ---------------------------------------------------------------------------
    def feedback(
        self,
        session_id: str,
        item_id: int | None,
        kind: str,
        event_id: str | None = None,
        value: float | None = None,
    ) -> dict[str, Any]:
        """Record feedback and apply it to the session (:class:`bot.feedback.FeedbackRecorder`)."""
        return self._feedback.feedback(session_id, item_id, kind, event_id=event_id, value=value)


def _ms(a: float, b: float) -> float:
    return round((b - a) * 1000.0, 2)
