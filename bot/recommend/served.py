"""The one ranking the chat serves, as a function of the session state.

:meth:`bot.agent.Agent.turn` shows the first ``n_recommendations`` of :func:`served_candidates` of
:func:`request_for`; the evaluators (``recbot eval redial``, ``recbot eval simulate``) score
:func:`served_scores` of the very request the turn used (``Agent.turn(..., on_ranking=...)`` hands it
over), so what is measured is what a person chatting gets. The ranking is one list whatever number of
items is shown: the blend's MMR is prefix-consistent (:func:`bot.recommend.ranking.mmr`) and the mood
re-ranking always reads the blend's first :data:`MOOD_LIST`, so the first 3 of a 20-item list are the
3-item list itself. The one documented difference: ``keep_context=True`` (ReDial's "all" protocol)
leaves the session's own liked / disliked / named / shown movies rankable instead of excluding them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from bot.recommend.request import BlendRequest, CandidateSource, DialogueContext
from bot.types import Candidate
from bot.understand.moods import rerank_ids
from cf_engine.data.catalog import Catalog

if TYPE_CHECKING:
    from bot.recommend.blend import Blender
    from bot.state import DialogueState

SAID_KEPT = 12  # the user's last messages the dialogue model reads
MOOD_LIST = 12  # with moods in effect, the blend's first 12 are re-ranked by mood fit (then the rest)


def dialogue_context(state: DialogueState) -> DialogueContext:
    """The movies the user named (in order; liked +1, disliked -1) and their words this session."""
    disliked = set(state.all_disliked())
    order = list(dict.fromkeys([*state.mentioned, *state.all_liked(), *state.all_disliked()]))
    items = tuple((i, -1 if i in disliked else 1) for i in order)
    return DialogueContext(items=items, text=" ".join(state.said[-SAID_KEPT:]))


def request_for(
    state: DialogueState, *, popular: bool, known: int | None, k: int, keep_context: bool = False
) -> BlendRequest:
    """The blend request of this state, as :meth:`Agent.turn` builds it.

    ``popular``: the policy's "show popular items" (nothing liked yet): liked items and text are left
    out; the dialogue model still reads the session.
    """
    popular = popular and not state.all_liked()
    return BlendRequest(
        moods=tuple(state.moods),
        liked=[] if popular else state.all_liked(),
        disliked=state.all_disliked(),
        exclude=[] if keep_context else state.excluded(),
        text=None if popular else (state.soft_text or None),
        constraints=state.constraints,
        user_id=known,
        k=k,
        dialogue=dialogue_context(state),
        keep_context=keep_context,
    )


def served_order(item_ids: Sequence[int], catalog: Catalog, moods: Sequence[str]) -> list[int]:
    """The blend's list in served order: with moods, its first :data:`MOOD_LIST` re-ranked by mood fit."""
    if not moods:
        return list(item_ids)
    head = rerank_ids(item_ids[:MOOD_LIST], catalog, moods, MOOD_LIST)
    return [*head, *item_ids[MOOD_LIST:]]


def served_candidates(
    source: CandidateSource, catalog: Catalog, request: BlendRequest, n: int
) -> list[Candidate]:
    """The served ranking of ``request`` with evidence, at least ``n`` long when the catalog allows:
    a turn shows its first ``n`` (:meth:`bot.turn.TurnRecord.admit` drops anything a faulty source
    proposed that must not be shown, and cuts)."""
    depth = max(n, MOOD_LIST) if request.moods else n
    found = source.blend(replace(request, k=depth))
    by_id = {c.item_id: c for c in found}
    return [by_id[i] for i in served_order(list(by_id), catalog, request.moods)]


def served_scores(blender: Blender, request: BlendRequest, top: int = 100) -> np.ndarray:
    """A catalog-order score whose ranking is the served one: the served list of ``top`` first.

    The served list (pool, scores, MMR, mood order, as a turn shows it) takes ranks 1..``top`` in its
    order; the rest of the catalog follows by :meth:`Blender.score_all` (same formula, no MMR).
    """
    rest = blender.score_all(request)
    out = rest / max(float(np.abs(rest).max()), 1e-12)  # in [-1, 1]
    catalog = blender.dataset.catalog
    ids = blender.ranked_ids(replace(request, k=max(top, MOOD_LIST)))
    for position, item_id in enumerate(served_order(ids, catalog, request.moods)[:top]):
        out[catalog.index_of(item_id)] = 2.0 + (top - position)
    return out
