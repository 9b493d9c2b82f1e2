"""Collaborative filtering: datasets, engines behind one interface, trained artifacts, evaluation.

- ``cf_engine.data``: ``load_dataset(settings)`` (MovieLens CSV / ml-1m / generic, downloads).
- ``cf_engine.base``: the ``Recommender`` interface; ``ease``, ``als``, ``itemknn``, ``popularity``
  implement it and ``registry.create(name, **params)`` picks one.
- ``cf_engine.artifact``: ``CFArtifact``, a fitted engine with its catalog ids, saved and versioned.
- ``cf_engine.evaluation`` / ``model_selection``: RecBole's protocol, tuning on validation.
"""
