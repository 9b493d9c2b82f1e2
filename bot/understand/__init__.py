"""Step 1 of a turn: understand one message without an LLM.

``parser.py`` (:class:`MessageParser`, :class:`ParsedMessage`), ``rules.py`` (token-level rules:
sentiment, negation, title spans, soft text), ``vocabulary.py`` (genre words, critiques, patterns),
``titles.py`` (finding catalog titles in text).
"""
