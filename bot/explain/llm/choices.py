"""Finite-choice decoding: the model writes one of a known set of texts, consulted only where they differ.

An explanation is one of a few hundred sentences built from the evidence (:mod:`bot.explain.sentences`).
Under a GBNF grammar llama.cpp spends a full decode step and a vocabulary-wide grammar check on
every token, although most tokens are forced: after "Because you liked The" only "Matrix" can
follow. Here the options are tokenized into a trie; each run of forced tokens is evaluated in one
batch (prompt speed, several times faster than decoding the tokens one by one), and the model's
logits are read only where the trie branches, over the branching tokens alone. The output is always
exactly one of the options: the model chooses which facts to state and how, never what is true.

This module knows nothing of llama.cpp: a model is anything with :class:`LogitsModel`'s two
methods (the llama.cpp adapter is in :mod:`bot.explain.llm.llamacpp`; tests use a scripted one).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np


class LogitsModel(Protocol):
    """What the decoder needs: append tokens to the context, read the next-token logits."""

    def extend(self, tokens: Sequence[int]) -> None:
        """Evaluate ``tokens`` after the current context (one batch)."""

    def logits(self) -> np.ndarray:
        """Next-token logits (vocabulary-sized) after the last evaluated token."""


@dataclass
class TokenTrie:
    """Token sequences of the options, shared prefixes merged. ``option`` is set where one ends."""

    children: dict[int, TokenTrie] = field(default_factory=dict)
    option: int | None = None

    @classmethod
    def build(cls, sequences: Sequence[Sequence[int]]) -> TokenTrie:
        """The trie of ``sequences``; an empty sequence or a duplicate is a ValueError."""
        root = cls()
        for index, tokens in enumerate(sequences):
            if not len(tokens):
                raise ValueError(f"option {index} has no tokens")
            node = root
            for token in tokens:
                node = node.children.setdefault(int(token), cls())
            if node.option is not None:
                raise ValueError(f"options {node.option} and {index} have the same tokens")
            node.option = index
        return root


@dataclass
class Choice:
    """The decoded option and how much model work it took (for logs and benchmarks)."""

    option: int
    tokens: list[int]
    model_calls: int  # batches evaluated after the prompt
    decisions: int  # places where the model's logits chose between branches


def pick(logits: np.ndarray, allowed: Sequence[int], temperature: float, rng: np.random.Generator) -> int:
    """One of ``allowed`` token ids: the most likely at temperature 0, else sampled from their softmax."""
    scores = np.asarray([float(logits[t]) for t in allowed], dtype=np.float64)
    if temperature <= 0.0:
        return int(allowed[int(np.argmax(scores))])
    scores = (scores - scores.max()) / temperature
    probs = np.exp(scores)
    return int(allowed[int(rng.choice(len(allowed), p=probs / probs.sum()))])


def decode_choice(
    model: LogitsModel,
    trie: TokenTrie,
    *,
    end_token: int,
    temperature: float = 0.0,
    seed: int = 0,
) -> Iterator[list[int] | Choice]:
    """Yield the chosen tokens run by run, then the :class:`Choice`.

    The model's context must already hold the prompt (its logits are the first decision's). A run
    ends where the trie branches: the forced tokens so far are evaluated in one batch and the
    next token is picked among the branches. Where an option ends but longer ones continue,
    ``end_token`` competes with the branches. The final run is never evaluated: nothing follows it.
    """
    rng = np.random.default_rng(seed)
    node, run, chosen = trie, [], []
    calls = decisions = 0
    while True:
        branches = list(node.children)
        if node.option is not None and not branches:
            break
        if len(branches) == 1 and node.option is None:
            token = branches[0]  # forced: no need to ask the model
        else:
            if run:
                model.extend(run)
                calls += 1
                chosen += run
                yield run
                run = []
            candidates = branches + ([end_token] if node.option is not None else [])
            token = pick(model.logits(), candidates, temperature, rng)
            decisions += 1
            if node.option is not None and token == end_token:
                break
        run.append(token)
        node = node.children[token]
    if run:
        chosen += run
        yield run
    assert node.option is not None
    yield Choice(option=node.option, tokens=chosen, model_calls=calls, decisions=decisions)
