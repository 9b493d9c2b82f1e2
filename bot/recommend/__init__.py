"""Step 2 of a turn: candidates from CF and semantics, blended, filtered, diversified, with evidence.

``request.py`` (what the blend is asked; the ``CandidateSource`` protocol the agent calls),
``sources.py`` (the ``CFScorer`` and ``ItemSearch`` protocols of the lower layers), ``item_features.py``
(per-item statistics, genres and priors, computed once per dataset), ``blend.py`` (the Blender),
``fusion.py`` (the learned cold-start score) and ``fusion_fit.py`` (fitting it; ``build_blender``),
``constraints.py`` (the hard filters), ``ranking.py`` (min-max, top-n, MMR), ``evidence.py`` (what is
true about each candidate).
"""
