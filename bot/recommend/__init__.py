"""Step 2 of a turn: candidates from CF and semantics, blended, filtered, diversified, with evidence.

``request.py`` (what the blend is asked), ``blend.py`` (the :class:`Blender`), ``fusion.py`` (the
learned cold-start score) and ``fusion_fit.py`` (fitting it; :func:`build_blender`),
``constraints.py`` (the hard filters), ``ranking.py`` (min-max, top-n, MMR), ``evidence.py`` (what is
true about each candidate).
"""
