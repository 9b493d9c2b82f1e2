"""The one ranking the chat serves, as a function of the session state.

:meth:`bot.agent.Agent.turn` takes its candidates from :func:`request_for` and the blender; the
evaluators (``recbot eval redial``, ``recbot eval simulate``) score :func:`served_scores` of the same
request, so what is measured is what a person chatting gets. The one documented difference:
``keep_context=True`` (ReDial's "all" protocol) leaves the session's own liked / disliked / named /
shown movies rankable instead of excluding them.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from bot.recommend.request import BlendRequest, DialogueContext

if TYPE_CHECKING:
    from bot.recommend.blend import Blender
    from bot.state import DialogueState

SAID_KEPT = 12  # the user's last messages the dialogue model reads


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


def served_scores(blender: Blender, request: BlendRequest, top: int = 100) -> np.ndarray:
    """A catalog-order score whose ranking is the served one: the blend's list of ``top`` first.

    The blend's own list (pool, scores, MMR, as served) takes ranks 1..``top`` in its order; the rest
    of the catalog follows by :meth:`Blender.score_all` (same formula, no MMR).
    """
    rest = blender.score_all(request)
    out = rest / max(float(np.abs(rest).max()), 1e-12)  # in [-1, 1]
    catalog = blender.dataset.catalog
    for position, item_id in enumerate(blender.ranked_ids(replace(request, k=top))):
        out[catalog.index_of(item_id)] = 2.0 + (top - position)
    return out
