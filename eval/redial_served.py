"""The served system on ReDial: each dialogue replayed through ``Agent.turn``, the served ranking scored.

One chat session per dialogue. The seeker's messages (``@id`` mentions replaced by ReDial's movie names)
are sent one by one to :meth:`bot.agent.Agent.turn` (template explanations: they never change a
ranking), exactly as a client of the HTTP API would send them. Each recommender message that names a
movie is scored against the reply to the seeker's message before it: the request that turn ranked
its list by (``Agent.turn(..., on_ranking=...)``) is ranked in full by
:func:`bot.recommend.served.served_scores`, whose first items are the very items the reply showed
(checked at every point: ``list_mismatches`` must be 0). A point whose latest reply showed no list
(a greeting, a question, a "why", or no seeker message yet) is a miss in every protocol, as it is
for a person. Two rankings per point:

* ``all`` protocol: ``keep_context=True`` (the documented difference: the session's own movies stay
  rankable, since ReDial's recommenders often name them again);
* ``fresh`` / ``all_context_removed``: exactly the served request, which excludes what the user named
  and what the bot showed before.

The dialogue model is never learned from the scored dialogues: with ``--split dev`` each fold's
model is trained on the other folds' dialogues; with another split on ``dev_data.jsonl``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from bot.dialogue_training import train_dialogue_model
from bot.recommend.request import BlendRequest
from bot.recommend.served import served_scores
from bot.settings import Settings
from cf_engine.data.redial import Conversation, Sample, replace_mentions
from cf_engine.dialogue_corpus import redial_examples, redial_item_map
from eval.components import ComponentUnavailable, load_runtime
from eval.redial_api import point_key
from eval.suite import eval_settings

if TYPE_CHECKING:
    from bot.runtime import Runtime

Progress = Callable[[str], None]


def load_served(settings: Settings) -> Runtime:
    """The chat's runtime in a fresh eval home, without a stored dialogue model (each fold fits its own)."""
    run = eval_settings(
        settings.model_copy(update={"llm_backend": "template", "dialogue_model": False}), "redial"
    )
    try:
        runtime = load_runtime(run)
        runtime.agent  # noqa: B018 - load now: a failure is "served not run", with the reason
        return runtime
    except ComponentUnavailable:
        raise
    except Exception as exc:  # noqa: BLE001
        raise ComponentUnavailable(f"the agent did not load: {type(exc).__name__}: {exc}") from exc


def served_rows(
    runtime: Runtime,
    conversations: Sequence[Conversation],
    samples: Sequence[Sample],
    titles: dict[int, str],
    fold_of: Callable[[str], int],
    folds: int,
    train_conversations: Sequence[Conversation] | None,
    say: Progress,
    with_dialogue_model: bool = True,
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """(all-protocol scores, served scores, info) for every sample, in ``samples`` order.

    ``with_dialogue_model`` follows the served setting (``RECBOT_DIALOGUE_MODEL``): on, each fold's
    dialogues are scored with a dialogue model learned on the other folds (on dev only for
    ``--split test``); off, the blend alone, as the chat serves it then.
    """
    agent = runtime.agent
    blender = agent.blender
    n_items = len(blender.dataset.catalog)
    row_of: dict[tuple[str, int], list[int]] = {}
    for r, s in enumerate(samples):
        row_of.setdefault((s.conversation_id, s.message_index), []).append(r)
    keep = np.zeros((len(samples), n_items), np.float32)
    served = np.zeros((len(samples), n_items), np.float32)
    info: dict[str, Any] = {
        "turns": 0,
        "turns_with_question_only": 0,
        "points": 0,
        "points_without_list": 0,
        "list_mismatches": 0,
        "dialogue_models": [],
        "lists": {},  # point key (eval.redial_api.point_key) -> the items the latest reply showed
    }
    wanted = {s.conversation_id for s in samples}
    groups = (
        [(None, [c for c in conversations if c.conversation_id in wanted], list(train_conversations))]
        if train_conversations is not None
        else [
            (
                f,
                [c for c in conversations if fold_of(c.conversation_id) == f and c.conversation_id in wanted],
                [c for c in conversations if fold_of(c.conversation_id) != f],
            )
            for f in range(folds)
        ]
    )
    if not with_dialogue_model:
        groups = [(None, [c for c in conversations if c.conversation_id in wanted], [])]
    for f, scored, train in groups:
        if not scored:
            continue
        if not with_dialogue_model:
            for conv in scored:
                _replay(agent, conv, titles, row_of, keep, served, info)
            continue
        model = train_dialogue_model(
            runtime.settings,
            agent.parser,
            blender,
            runtime.features,
            None,
            # the corpus reader's own mapping (cf_engine.dialogue_corpus.read_redial), so a server
            # trained on the same file (RECBOT_DIALOGUE_CORPUS) has this very model
            extra=redial_examples(train, redial_item_map(train, blender.dataset.catalog)),
        )
        blender.dialogue_model = model
        info["dialogue_models"].append(
            {
                "fold": f,
                "train_dialogues": len(train),
                **{k: model.summary[k] for k in ("examples", "weights", "cv_metrics")},
            }
        )
        say(f"served fold {f}: dialogue model from {len(train)} dialogues, weights {model.weights}")
        for done, conv in enumerate(scored):
            _replay(agent, conv, titles, row_of, keep, served, info)
            if done % 50 == 0:
                say(f"served fold {f}: {done}/{len(scored)} dialogues")
    blender.dialogue_model = None
    return keep, served, info


def _replay(
    agent: Any,
    conv: Conversation,
    titles: dict[int, str],
    row_of: dict[tuple[str, int], list[int]],
    keep: np.ndarray,
    served: np.ndarray,
    info: dict[str, Any],
) -> None:
    names = {**titles, **conv.titles}
    sid = agent.create_session()
    shown: list[int] = []  # the latest reply's list
    ranked_by: BlendRequest | None = None  # the request it was ranked by; None: that reply had no list
    for index, message in enumerate(conv.messages):
        rows = row_of.get((conv.conversation_id, index))
        if rows:
            info["points"] += 1
            info["lists"][point_key(conv.conversation_id, index)] = list(shown)
            if ranked_by is None:
                keep[rows] = -np.inf
                served[rows] = -np.inf
                info["points_without_list"] += 1
            else:
                keep[rows] = served_scores(agent.blender, replace(ranked_by, exclude=(), keep_context=True))
                served[rows] = served_scores(agent.blender, ranked_by)
                head = np.argsort(-served[rows[0]], kind="stable")[: len(shown)]
                catalog = agent.blender.dataset.catalog
                info["list_mismatches"] += int([catalog.at(int(c)).item_id for c in head] != shown)
        if message.sender != conv.seeker:
            continue
        text = " ".join(replace_mentions(message.text, names).split())[: agent.settings.max_message_chars]
        if not text:
            continue
        requests: list[BlendRequest] = []
        result = agent.turn(sid, text, template_only=True, on_ranking=requests.append)
        shown = [r.item_id for r in result.recommendations]
        ranked_by = requests[-1] if requests and shown else None
        info["turns"] += 1
        info["turns_with_question_only"] += int(bool(result.question) and not result.recommendations)
