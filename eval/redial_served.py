"""The served system on ReDial: each dialogue replayed through ``Agent.turn``, the served ranking scored.

One chat session per dialogue. The seeker's messages (``@id`` mentions replaced by ReDial's movie names)
are sent one by one to :meth:`bot.agent.Agent.turn` (template explanations: they never change a
ranking). Before each recommender message that names a movie, the session's stored state is turned
into the served request (:func:`bot.recommend.served.request_for`, the function ``Agent.turn`` uses)
and ranked by :func:`bot.recommend.served.served_scores` (the blend's list, with the dialogue model,
then the rest of the catalog by the same formula). Two rankings per point:

* ``all`` protocol: ``keep_context=True`` (the documented difference: the session's own movies stay
  rankable, since ReDial's recommenders often name them again);
* ``fresh`` / ``all_context_removed``: exactly the served request, which excludes what the user named
  and what the bot showed.

The dialogue model is never learned from the scored dialogues: with ``--split dev`` each fold's
model is trained on the other folds' dialogues; with another split on ``dev_data.jsonl``.
Documented differences from a live chat: the blend's list is taken 100 long (MMR over a longer pool
than the 3 shown), and the policy's "show popular items" flag (after "surprise me" or two unanswered
questions) is not replayed, so the session's words are always used.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from bot.dialogue_training import train_dialogue_model
from bot.recommend.served import request_for, served_scores
from bot.settings import Settings
from bot.state import DialogueState
from cf_engine.data.redial import Conversation, Sample, replace_mentions
from cf_engine.dialogue_corpus import redial_examples
from eval.components import ComponentUnavailable, load_runtime
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
    item_of: dict[int, int],
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
    info: dict[str, Any] = {"turns": 0, "turns_with_question_only": 0, "points": 0, "dialogue_models": []}
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
            extra=redial_examples(train, item_of),
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
    for index, message in enumerate(conv.messages):
        rows = row_of.get((conv.conversation_id, index))
        if rows:
            state = DialogueState.from_json(agent.store.get_session(sid)["state"])
            keep[rows] = served_scores(
                agent.blender, request_for(state, popular=False, known=None, k=agent.limit, keep_context=True)
            )
            served[rows] = served_scores(
                agent.blender, request_for(state, popular=False, known=None, k=agent.limit)
            )
            info["points"] += 1
        if message.sender != conv.seeker:
            continue
        text = " ".join(replace_mentions(message.text, names).split())[: agent.settings.max_message_chars]
        if not text:
            continue
        result = agent.turn(sid, text, template_only=True)
        info["turns"] += 1
        info["turns_with_question_only"] += int(bool(result.question) and not result.recommendations)
