"""Prompt rendering shared by the backends that build raw prompts themselves.

Base (non-chat) models get chat messages as a plain few-shot continuation: the system text, then
each example as "<facts>\\nExplanation: <sentence>", then the new facts and "Explanation:"; the
reply ends at the newline. Both the llama.cpp ``recbot-fewshot`` chat format and the transformers
backend (for tokenizers without a chat template) use :func:`render_fewshot`.
"""

from __future__ import annotations

from collections.abc import Iterable

FEWSHOT_STOP = "\n"


def render_fewshot(messages: Iterable[tuple[str, str]]) -> str:
    """``(role, content)`` pairs (role: system / user / assistant) -> one completion prompt."""
    parts: list[str] = []
    for role, content in messages:
        content = content.strip()
        if role == "system":
            parts.append(content + "\n\n")
        elif role == "user":
            parts.append(content + "\nExplanation:")
        else:
            parts.append(" " + content + "\n\n")
    return "".join(parts)
