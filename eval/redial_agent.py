"""The agent on ReDial: the chat's parser, dialogue state and blend score the whole catalog.

Each sample's seeker messages (``@id`` mentions replaced by ReDial's movie names) are applied in
order to a fresh :class:`bot.state.DialogueState` with the agent's own parser and
:func:`bot.state.apply_message`, exactly as ``Agent.turn`` does. The request is then built from
that state as the agent builds one, except that nothing is excluded (the "all" protocol keeps
context movies in the ranking), and :meth:`bot.recommend.blend.Blender.score_all` scores every catalog item
with the chat's blend formula. The full "agent" system combines these scores with the learned
mention prior (see :mod:`eval.redial_eval`): the chat is what the bot knows about the seeker, the
prior is what ReDial's recommenders tend to say.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from bot.settings import Settings
from cf_engine.data.redial import Sample, replace_mentions
from eval.components import ComponentUnavailable, load_runtime
from eval.redial_systems import replay_request
from eval.suite import eval_settings

if TYPE_CHECKING:
    from bot.agent import Agent


def load_chat(settings: Settings) -> object:
    """The chat's agent (template explanations: explanations never change a ranking)."""
    run_settings = eval_settings(settings.model_copy(update={"llm_backend": "template"}), "redial")
    try:
        return load_runtime(run_settings).agent
    except ComponentUnavailable:
        raise
    except Exception as exc:  # noqa: BLE001 - reported as "agent not run", with the reason
        raise ComponentUnavailable(f"the agent did not load: {type(exc).__name__}: {exc}") from exc


def chat_rows(agent: Agent, samples: Sequence[Sample], titles: dict[int, str], max_chars: int) -> np.ndarray:
    """(samples x catalog) blend scores of the chat's state after each sample's seeker messages."""
    from bot.state import DialogueState, apply_message

    parser, blender = agent.parser, agent.blender  # the chat's Blender: score_all ranks the catalog
    years, max_year = agent.features.years, agent.features.max_year
    out = np.zeros((len(samples), len(blender.dataset.catalog)), dtype=np.float32)
    done: dict[tuple[str, int], int] = {}
    for r, sample in enumerate(samples):
        key = (sample.conversation_id, sample.message_index)
        if key in done:  # the targets of one message share its context
            out[r] = out[done[key]]
            continue
        done[key] = r
        state = DialogueState()
        for message in sample.context:
            if message.sender != sample.seeker:
                continue
            text = " ".join(replace_mentions(message.text, titles).split())[:max_chars]
            if text:
                apply_message(state, parser.parse(text), years, max_year)
        out[r] = blender.score_all(replay_request(state))
    return out
