"""The full agent on ReDial: the seeker's context messages are replayed through ``Agent.turn``.

Each sample gets a fresh session; the seeker's messages of the context are sent in order with the
``@id`` mentions replaced by ReDial's movie names, so the agent's own parser, state and policy do
what they do in the chat. The ranking is the last turn's shown list (``n_recommendations`` raised to
its maximum, 20); when that turn showed nothing (the seeker's last words were "thanks" or a
question), one "What would you recommend?" is sent. Explanations do not change rankings, so the run
uses template explanations.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.settings import Settings
from eval.components import ComponentUnavailable, load_runtime
from eval.redial_data import Sample, replace_mentions
from eval.suite import eval_settings

FOLLOW_UP = "What would you recommend?"
MAX_LIST = 20


def agent_ranked_items(
    settings: Settings, titles: dict[int, str], item_of: dict[int, int]
) -> Callable[[Sample], list[int]]:
    """A function from a sample to the item ids the agent shows after its context, in order."""
    run_settings = eval_settings(
        settings.model_copy(update={"n_recommendations": MAX_LIST, "llm_backend": "template"}), "redial"
    )
    try:
        agent = load_runtime(run_settings).agent
    except ComponentUnavailable:
        raise
    except Exception as exc:  # noqa: BLE001 - reported as "agent not run", with the reason
        raise ComponentUnavailable(f"the agent did not load: {type(exc).__name__}: {exc}") from exc

    cache: dict[tuple[str, int], list[int]] = {}

    def ranked(sample: Sample) -> list[int]:
        key = (sample.conversation_id, sample.message_index)
        if key not in cache:  # the targets of one message share its context: replay it once
            cache[key] = replay(sample)
        return cache[key]

    def replay(sample: Sample) -> list[int]:
        session = agent.create_session()
        shown: list[int] = []
        for message in sample.context:
            if message.sender != sample.seeker:
                continue
            text = " ".join(replace_mentions(message.text, titles).split())
            if not text:
                continue
            result = agent.turn(session, text[: settings.max_message_chars])
            shown = [r.item_id for r in result.recommendations]
        if not shown:
            shown = [r.item_id for r in agent.turn(session, FOLLOW_UP).recommendations]
        return shown

    return ranked
