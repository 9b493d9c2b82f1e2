"""The simulation's agent, built from the training split only, and the audit that proves it.

:class:`HeldOutRuntime` is the chat's :class:`~bot.runtime.Runtime` with its dataset replaced by the
training split of :func:`eval.simulate.held_out_split` before anything is built from it, so every part
that reads interactions or tags reads the training users' only:

* the dataset (the agent's titles, parser and policy tie-breakers), the item features (popularity,
  shrunk ratings, the quality prior, co-rating evidence) and the blender;
* the CF artifact, trained now on the split (never saved, never the chat's);
* the learned fusion, fitted by the blender from ``blender.dataset``: its validation users are drawn
  among the training users, so they are disjoint from the simulated users;
* the item index, built from the split's catalog (tags recounted without the simulated users, rating
  counts from the split) in the run's own Chroma folder, copying unchanged vectors from the chat's index;
* the dialogue model (when ``settings.dialogue_model``), trained now from the dialogue corpus through
  this runtime's parser and blender, without recorded sessions, and never saved.

:func:`leak_audit` counts what of the simulated users' data an agent still holds; the simulation
refuses to run when any count is not zero.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from bot.runtime import Runtime
from bot.settings import Settings
from cf_engine.data.catalog import Dataset
from eval.components import train_cf
from eval.simulated_user import UserProfile

if TYPE_CHECKING:
    from bot.agent import Agent
    from cf_engine.artifact import CFArtifact
    from cf_engine.dialogue_model import DialogueModel
    from retrieval.index import ItemIndex

log = logging.getLogger(__name__)


class HeldOutRuntime(Runtime):
    """A :class:`Runtime` whose every data-derived part comes from ``training``."""

    def __init__(self, settings: Settings, training: Dataset, reuse_index: ItemIndex | None = None) -> None:
        """``reuse_index``: the chat's index, whose vectors are copied for items whose text is unchanged."""
        super().__init__(settings)
        self.training = training
        self.reuse_index = reuse_index

    @cached_property
    def dataset(self) -> Dataset:
        n = len(self.training.interactions)
        self._set("dataset", "ok", f"{self.training.name}: training split, {n} interactions")
        return self.training

    @cached_property
    def cf(self) -> CFArtifact | None:
        artifact = train_cf(self.training, self.settings)
        self._set("cf", "ok", f"{artifact.engine_name} trained on the training split (not saved)")
        return artifact

    @cached_property
    def index(self) -> ItemIndex | None:
        from retrieval.index import ItemIndex

        reuse = self.reuse_index if self.reuse_index is not None and self.reuse_index.is_ready() else None
        index = ItemIndex(self.settings.retrieval_config())
        report = index.build(self.training, progress=self.progress, reuse_from=reuse)
        log.info("simulation index: %s", report)
        self._set("index", "ok", f"built from the training split ({report.copied} vectors copied)")
        return index

    def dialogue_model(self, agent: Agent) -> DialogueModel | None:
        """Trained now through this runtime's parser and blender; the saved one (all users) is never read."""
        from bot.dialogue_training import default_corpus, train_dialogue_model

        corpus = default_corpus(self.settings)
        if not self.settings.dialogue_model or corpus is None:
            self._set("dialogue", "off", "dialogue_model is off" if corpus else "no dialogue corpus")
            return None
        model = train_dialogue_model(self.settings, agent.parser, agent.blender, self.features, corpus)
        self._set("dialogue", "ok", f"trained now from {corpus} with the training split's blender")
        return model


def simulation_settings(settings: Settings) -> Settings:
    """The run's settings: the simulation's own Chroma collection (in the run's folder, or on the server)."""
    return settings.model_copy(update={"chroma_collection": f"{settings.chroma_collection}_sim"})


def leak_audit(agent: Any, training: Dataset, profiles: Sequence[UserProfile]) -> dict[str, int]:
    """What of the simulated users' data ``agent`` holds, per part (every count is 0 when held out).

    Checks the agent's and its blender's datasets (ratings), CF artifacts (users), co-rating evidence
    (users), the fusion's validation users, the item features against those of ``training``
    (popularity, shrunk ratings, quality prior: columns that differ), the catalog's tags against
    ``training``'s, and the index's documents against the training catalog's.
    """
    from bot.recommend.fusion_fit import validation_split
    from bot.recommend.item_features import ItemFeatures

    held = {p.user_id for p in profiles}
    blender = agent.blender
    counts: dict[str, int] = {
        "agent_dataset_ratings": _ratings_of(agent.dataset, held),
        "blender_dataset_ratings": _ratings_of(blender.dataset, held),
        "agent_cf_users": _cf_users(agent.cf, held),
        "blender_cf_users": _cf_users(blender.cf, held),
        "evidence_users": len(held & set(agent.features.interactions.user_row)),
        "blender_evidence_users": len(held & set(blender.features.interactions.user_row)),
        "fusion_validation_users": len(
            held & set(int(u) for u in validation_split(blender.dataset, blender.settings.seed)[0])
        ),
    }
    expected = ItemFeatures.from_dataset(training, blender.settings.positive_threshold)
    for name, features in (("agent", agent.features), ("blender", blender.features)):
        for part in ("popularity", "shrunk_rating", "quality"):
            got, want = getattr(features, part), getattr(expected, part)
            counts[f"{name}_{part}_columns_off"] = int((~np.isclose(got, want)).sum())
    counts["catalog_tags_off"] = sum(
        a.tags != b.tags for a, b in zip(agent.dataset.catalog, training.catalog, strict=True)
    )
    counts["index_documents_off"] = _index_documents_off(blender.index, training)
    return counts


def _ratings_of(dataset: Dataset, users: set[int]) -> int:
    return int(dataset.interactions["user_id"].isin(users).sum())


def _cf_users(cf: Any, users: set[int]) -> int:
    return 0 if cf is None else len(users & set(int(u) for u in cf.user_ids))


def _index_documents_off(index: Any, training: Dataset) -> int:
    """Indexed items whose document is not the training catalog's (0 without an index)."""
    if index is None:
        return 0
    from retrieval.documents import document_hash, item_document

    stored = index.client().get_collection(index.settings.chroma_collection).get(include=["metadatas"])
    hashes = {i: (m or {}).get("doc_hash") for i, m in zip(stored["ids"], stored["metadatas"], strict=True)}
    return sum(
        hashes.get(str(item.item_id)) != document_hash(item_document(item)) for item in training.catalog
    )
