"""Step 3 of a turn: explain each candidate from its evidence, validated word by word.

``explainer.py`` (the :class:`Explainer`), ``facts.py`` (what an explanation may state),
``sentences.py`` (the evidence sentences an LLM may choose among, as choices or a GBNF grammar),
``prompts.py``, ``templates.py`` (the no-LLM wording), ``validator.py``, ``llm/`` (the backends).
"""
