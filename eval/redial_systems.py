"""The systems compared on ReDial, each turning samples into a (samples x catalog) score matrix.

Every system ranks the whole catalog. Ties are broken by MovieLens popularity (a 1e-6 nudge) so a
system with no signal for a sample (no liked movie for CF, say) ranks like popularity, not last.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from cf_engine.data.catalog import Dataset
from cf_engine.data.redial import DISLIKED, Sample, replace_mentions
from eval.components import CFScorer, embed_texts

if TYPE_CHECKING:
    from bot.recommend.blend import Blender
    from bot.recommend.request import BlendRequest
    from bot.state import DialogueState

log = logging.getLogger(__name__)
TIE_BREAK = 1e-6


def popularity_vector(dataset: Dataset) -> np.ndarray:
    """MovieLens interaction counts per catalog column, scaled to [0, 1]."""
    counts = dataset.item_stats()["count"].to_numpy(dtype=np.float32)
    return counts / max(float(counts.max()), 1.0)


def liked_and_disliked(sample: Sample, item_of: dict[int, int]) -> tuple[list[int], list[int]]:
    """Catalog item ids of the context's movies: liked or not rated -> liked, disliked -> disliked.

    "Not rated" counts as liked because people mostly name movies they want more of; the
    questionnaire's explicit "did not like" is what turns a mention into a dislike.
    """
    liked: list[int] = []
    disliked: list[int] = []
    for mention in sample.mentions:
        item = item_of.get(mention.movie_id)
        if item is None:
            continue
        (disliked if mention.liked == DISLIKED else liked).append(item)
    return liked, disliked


def seeker_query(sample: Sample, titles: dict[int, str]) -> str:
    """What the seeker typed so far, movie ids replaced by their names (the chat's input)."""
    return " ".join(replace_mentions(m.text, titles) for m in sample.context if m.sender == sample.seeker)


def cf_rows(cf: CFScorer, samples: Sequence[Sample], item_of: dict[int, int]) -> np.ndarray:
    """CF fold-in scores for every sample's liked / disliked context movies."""
    out = np.zeros((len(samples), len(cf.dataset.catalog)), dtype=np.float32)
    cache: dict[tuple[tuple[int, ...], tuple[int, ...]], np.ndarray] = {}
    for r, sample in enumerate(samples):
        liked, disliked = liked_and_disliked(sample, item_of)
        key = (tuple(liked), tuple(disliked))
        if key not in cache:
            cache[key] = cf.scores(liked, disliked)
        out[r] = cache[key]
    return out


def semantic_rows(
    item_vectors: np.ndarray, embedder: Any, samples: Sequence[Sample], titles: dict[int, str]
) -> np.ndarray:
    """Cosine of the seeker's words (titles included) to every item vector."""
    texts = [seeker_query(s, titles) for s in samples]
    unique = list(dict.fromkeys(texts))  # samples of one message share their context: embed it once
    embedded = embed_texts(embedder, unique)
    row_of = {t: i for i, t in enumerate(unique)}
    queries = embedded[[row_of[t] for t in texts]]
    return (queries @ item_vectors.T).astype(np.float32)


def replay_request(state: DialogueState, k: int = 3) -> BlendRequest:
    """The blend request of a replayed dialogue state: as the agent builds one, but nothing excluded.

    The ReDial "all" setting keeps context movies in the ranking, and a replay has no known user.
    """
    from bot.recommend.request import BlendRequest

    return BlendRequest(
        liked=state.all_liked(),
        disliked=state.all_disliked(),
        exclude=[],
        text=state.soft_text or None,
        constraints=state.constraints,
        user_id=None,
        k=k,
    )


def blend_rows(
    blender: Blender,
    samples: Sequence[Sample],
    item_of: dict[int, int],
    titles: dict[int, str],
    dataset: Dataset,
    k: int = 100,
) -> np.ndarray:
    """The chat's Blender on the chat's state object filled from the sample.

    A :class:`bot.state.DialogueState` gets the context's liked / disliked mentions and the seeker's
    words as its soft text; the request is built from it as the agent builds one, except that nothing
    is excluded (the "all" setting keeps context movies in the ranking). The Blender returns a
    top-``k`` list; its order is kept (score k..1) and the rest of the catalog follows in popularity
    order (the tie-break added by the caller).
    """
    from bot.state import DialogueState

    out = np.zeros((len(samples), len(dataset.catalog)), dtype=np.float32)
    done: dict[tuple[Any, ...], int] = {}
    for r, sample in enumerate(samples):
        state = DialogueState()
        liked, disliked = liked_and_disliked(sample, item_of)
        for item_id in liked:
            state.like(item_id)
        for item_id in disliked:
            state.dislike(item_id)
        state.soft_text = seeker_query(sample, titles)
        key = (tuple(state.all_liked()), tuple(state.all_disliked()), state.soft_text)
        if key in done:  # another target of the same message: same request, same list
            out[r] = out[done[key]]
            continue
        done[key] = r
        request = replay_request(state, k)
        for position, candidate in enumerate(blender.blend(request)):
            out[r, dataset.catalog.index_of(candidate.item_id)] = float(k - position)
    return out


AgentTurnFn = Callable[[Sample], list[int]]


def agent_rows(
    ranked_items: Callable[[Sample], list[int]], samples: Sequence[Sample], dataset: Dataset
) -> np.ndarray:
    """Scores from the item ids a full agent showed for each sample, in the order shown."""
    out = np.zeros((len(samples), len(dataset.catalog)), dtype=np.float32)
    for r, sample in enumerate(samples):
        shown = ranked_items(sample)
        for position, item_id in enumerate(shown):
            if item_id in dataset.catalog:
                out[r, dataset.catalog.index_of(item_id)] = float(len(shown) - position)
    return out
