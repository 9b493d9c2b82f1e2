"""A trained CF model bundled with what it was trained on, saved as a versioned folder.

``models_dir/<engine>-<UTC timestamp>/`` holds ``engine.json`` + ``state.pkl`` (the engine),
``item_ids.npy`` / ``user_ids.npy`` (what its columns and rows mean) and ``artifact.json`` (params,
metrics, dataset name, threshold). ``models_dir/latest`` names the newest folder; every file is
written to a temporary folder that is renamed into place, so a crash never leaves a half artifact
and readers never see one. Loading against a catalog whose item ids differ is an error, not a
silently shifted recommendation list.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from cf_engine.base import ArtifactMismatchError, Recommender, RecommenderError
from cf_engine.data.catalog import INTERACTION_COLUMNS, Catalog, Dataset, UnknownItemError
from cf_engine.data.errors import DataError
from cf_engine.registry import create, engine_class

if TYPE_CHECKING:
    from cf_engine.config import CFConfig

ARTIFACT_FORMAT = 1
LATEST = "latest"


class ArtifactNotFoundError(RecommenderError, FileNotFoundError):
    """No saved artifact under ``settings.models_dir`` (run ``recbot train``)."""


class CatalogMismatchError(ArtifactMismatchError):
    """The artifact's item ids are not the current catalog's: it was trained on other data."""


@dataclass
class CFArtifact:
    """A fitted engine plus the catalog item ids (its columns) and user ids (its rows)."""

    engine: Recommender
    item_ids: np.ndarray
    user_ids: np.ndarray
    dataset_name: str
    positive_threshold: float
    metrics: dict[str, Any] = field(default_factory=dict)
    created_at: str = ""
    path: Path | None = None

    def __post_init__(self) -> None:
        self.item_ids = np.asarray(self.item_ids, dtype=np.int64)
        self.user_ids = np.asarray(self.user_ids, dtype=np.int64)
        # Plain dicts: a lookup is ~100 ns, where a pandas Index costs ~50 µs per call.
        self._column_of = {int(item): col for col, item in enumerate(self.item_ids.tolist())}
        self._row_of = {int(user): row for row, user in enumerate(self.user_ids.tolist())}

    # --- building ---------------------------------------------------------------------------
    @classmethod
    def train(
        cls,
        dataset: Dataset,
        settings: CFConfig,
        engine: str | Recommender | None = None,
        extra_interactions: pd.DataFrame | None = None,
    ) -> CFArtifact:
        """Fit ``engine`` (default ``settings.cf_model`` with ``settings.cf_params``) on ``dataset``.

        ``extra_interactions`` (``user_id, item_id`` and optionally ``rating, timestamp``) are
        appended first: chat feedback folded in by ``recbot retrain``; for a (user, item) pair they
        replace the dataset's rating. Ratings at or above ``settings.positive_threshold`` are
        positives; a missing rating counts as a positive.
        """
        if engine is None:
            model = create(settings.cf_model, **settings.cf_params)
        elif isinstance(engine, str):
            model = create(engine, **(settings.cf_params if engine == settings.cf_model else {}))
        else:
            model = engine
        interactions = dataset.interactions
        if extra_interactions is not None and len(extra_interactions):
            extra = _clean_extra(extra_interactions, dataset.catalog, settings.positive_threshold)
            # The latest word on a (user, item) pair wins: a chat "not for me" on a film the user
            # rated 4 in the dataset removes that positive.
            interactions = pd.concat([interactions, extra], ignore_index=True).drop_duplicates(
                ["user_id", "item_id"], keep="last"
            )
        data = Dataset(name=dataset.name, catalog=dataset.catalog, interactions=interactions)
        matrix, user_ids = data.user_matrix(settings.positive_threshold)
        started = time.perf_counter()
        model.fit(matrix)
        metrics = {
            "fit_seconds": round(time.perf_counter() - started, 3),
            "n_users": int(matrix.shape[0]),
            "n_items": int(matrix.shape[1]),
            "n_positives": int(matrix.nnz),
            "n_extra_interactions": 0 if extra_interactions is None else int(len(extra_interactions)),
        }
        return cls(
            engine=model,
            item_ids=dataset.catalog.item_ids,
            user_ids=user_ids,
            dataset_name=dataset.name,
            positive_threshold=settings.positive_threshold,
            metrics=metrics,
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )

    # --- queries ----------------------------------------------------------------------------
    @property
    def engine_name(self) -> str:
        return self.engine.name

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.engine.params)

    def knows_user(self, user_id: int | None) -> bool:
        """True when ``user_id`` has positive interactions in the training data."""
        return self._history(self._row(user_id)).size > 0

    def columns_of(self, item_ids: Iterable[int]) -> np.ndarray:
        """Matrix columns of ``item_ids``; :class:`UnknownItemError` for an id the model does not know."""
        cols = []
        for item_id in item_ids:
            try:
                cols.append(self._column_of[int(item_id)])
            except (KeyError, TypeError, ValueError):
                raise UnknownItemError(
                    f"unknown item id {item_id!r} (not in the CF model's catalog)"
                ) from None
        return np.asarray(cols, dtype=np.int64)

    def score_for(
        self, liked_ids: Iterable[int], disliked_ids: Iterable[int] = (), user_id: int | None = None
    ) -> np.ndarray:
        """float32 scores over the catalog, in Catalog order, for a user and/or a session profile.

        A known ``user_id`` contributes their training history; ``liked_ids`` are added to it and
        ``disliked_ids`` removed from it and counted against (pushing similar items down). With
        nothing to go on (unknown user, empty profile) the scores are item popularity (0..1).
        """
        return self._score_columns(
            self.columns_of(liked_ids), self.columns_of(disliked_ids), self._row(user_id)
        )

    def _score_columns(self, liked: np.ndarray, disliked: np.ndarray, row: int | None) -> np.ndarray:
        history = self._history(row)
        if row is not None and history.size and liked.size == 0 and disliked.size == 0:
            return self.engine.score_users([row])[0].astype(np.float32, copy=False)
        if history.size:
            liked = np.union1d(history, liked)
        if disliked.size:
            liked = np.setdiff1d(liked, disliked)
        if liked.size == 0 and disliked.size == 0:
            return self.popularity()
        return self.engine.score_profile(liked, disliked).astype(np.float32, copy=False)

    def popularity(self) -> np.ndarray:
        """Share of training users with a positive interaction, per catalog item (float32)."""
        matrix = self.engine._matrix()
        return (np.asarray(matrix.getnnz(axis=0)).ravel() / max(1, matrix.shape[0])).astype(np.float32)

    def recommend(
        self,
        liked_ids: Iterable[int] = (),
        disliked_ids: Iterable[int] = (),
        user_id: int | None = None,
        k: int = 10,
        exclude_ids: Iterable[int] = (),
    ) -> list[tuple[int, float]]:
        """Top ``k`` (item_id, score): the profile's own items, the user's history and ``exclude_ids``
        are left out."""
        liked, disliked = self.columns_of(liked_ids), self.columns_of(disliked_ids)
        row = self._row(user_id)
        scores = self._score_columns(liked, disliked, row)
        exclude = np.concatenate([liked, disliked, self.columns_of(exclude_ids), self._history(row)])
        cols, top = self.engine.top_k(scores, k, exclude=exclude)
        return [(int(self.item_ids[c]), float(s)) for c, s in zip(cols, top, strict=True)]

    def similar(self, item_id: int, k: int = 10) -> list[tuple[int, float]]:
        """The ``k`` items most similar to ``item_id`` by this engine, as (item_id, score)."""
        cols, scores = self.engine.similar_items(int(self.columns_of([item_id])[0]), k)
        return [(int(self.item_ids[c]), float(s)) for c, s in zip(cols, scores, strict=True)]

    def check_catalog(self, catalog: Catalog) -> None:
        """Raise :class:`CatalogMismatchError` unless ``catalog`` has exactly the artifact's item ids."""
        current = catalog.item_ids
        if len(current) == len(self.item_ids) and np.array_equal(current, self.item_ids):
            return
        differ = len(np.setxor1d(current, self.item_ids))
        raise CatalogMismatchError(
            f"CF artifact {self.path or ''} was trained on {len(self.item_ids)} items of dataset "
            f"{self.dataset_name!r}; the current catalog has {len(current)} items "
            f"({differ} ids differ{'' if differ else ', order differs'}). Run `recbot train` again."
        )

    # --- persistence ------------------------------------------------------------------------
    def save(self, settings: CFConfig) -> Path:
        """Write a new versioned folder under ``settings.models_dir`` and point ``latest`` at it."""
        root = settings.models_dir
        root.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        name = f"{self.engine_name}-{stamp}"
        suffix = 1
        while (root / name).exists():
            suffix += 1
            name = f"{self.engine_name}-{stamp}-{suffix}"
        tmp = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=root))
        tmp.chmod(0o755)  # mkdtemp makes it private; the artifact is ordinary data
        self.engine.save(tmp)
        np.save(tmp / "item_ids.npy", self.item_ids)
        np.save(tmp / "user_ids.npy", self.user_ids)
        meta = {
            "format_version": ARTIFACT_FORMAT,
            "engine": self.engine_name,
            "params": self.params,
            "metrics": self.metrics,
            "dataset": self.dataset_name,
            "positive_threshold": self.positive_threshold,
            "n_items": int(len(self.item_ids)),
            "n_users": int(len(self.user_ids)),
            "created_at": self.created_at,
        }
        (tmp / "artifact.json").write_text(json.dumps(meta, indent=2, default=_json_default))
        final = root / name
        tmp.rename(final)
        _write_atomic(root / LATEST, name + "\n")
        self.path = final
        return final

    @classmethod
    def load(cls, path: Path, catalog: Catalog | None = None) -> CFArtifact:
        """Read the artifact folder ``path``; check it against ``catalog`` when one is given."""
        path = Path(path)
        meta_path = path / "artifact.json"
        if not meta_path.is_file():
            raise ArtifactNotFoundError(f"{path}: not a CF artifact (no artifact.json)")
        try:
            meta = json.loads(meta_path.read_text())
        except json.JSONDecodeError as exc:
            raise ArtifactMismatchError(f"{meta_path}: unreadable ({exc})") from None
        if meta.get("format_version") != ARTIFACT_FORMAT:
            raise ArtifactMismatchError(
                f"{meta_path}: artifact format {meta.get('format_version')}, "
                f"this recbot reads {ARTIFACT_FORMAT}; run `recbot train` again"
            )
        engine = engine_class(str(meta.get("engine"))).load(path)
        artifact = cls(
            engine=engine,
            item_ids=np.load(path / "item_ids.npy"),
            user_ids=np.load(path / "user_ids.npy"),
            dataset_name=meta.get("dataset", ""),
            positive_threshold=float(meta.get("positive_threshold", 0.0)),
            metrics=meta.get("metrics", {}),
            created_at=meta.get("created_at", ""),
            path=path,
        )
        if catalog is not None:
            artifact.check_catalog(catalog)
        return artifact

    @classmethod
    def load_latest(cls, settings: CFConfig, catalog: Catalog | None = None) -> CFArtifact:
        """The artifact ``models_dir/latest`` names (or the newest folder if the pointer is missing)."""
        root = settings.models_dir
        pointer = root / LATEST
        if pointer.is_file():
            name = pointer.read_text().strip()
            if not (root / name / "artifact.json").is_file():
                raise ArtifactNotFoundError(f"{pointer} names {name!r}, which is not a CF artifact folder")
            return cls.load(root / name, catalog)
        folders = (
            sorted(
                (p for p in root.glob("*-*") if (p / "artifact.json").is_file()),
                key=lambda p: p.stat().st_mtime,
            )
            if root.is_dir()
            else []
        )
        if not folders:
            raise ArtifactNotFoundError(f"no CF model under {root}; run `recbot train` first")
        return cls.load(folders[-1], catalog)

    # --- helpers ----------------------------------------------------------------------------
    def _row(self, user_id: int | None) -> int | None:
        if user_id is None:
            return None
        try:
            return self._row_of.get(int(user_id))
        except (TypeError, ValueError):
            return None

    def _history(self, row: int | None) -> np.ndarray:
        """Training columns of matrix row ``row`` (empty for ``None``)."""
        matrix = self.engine.train_matrix
        if row is None or matrix is None:
            return np.empty(0, dtype=np.int64)
        return matrix.indices[matrix.indptr[row] : matrix.indptr[row + 1]].astype(np.int64)


def _clean_extra(extra: pd.DataFrame, catalog: Catalog, threshold: float) -> pd.DataFrame:
    """Validate feedback rows and give them the interaction columns and dtypes."""
    missing = {"user_id", "item_id"} - set(extra.columns)
    if missing:
        raise DataError(f"extra_interactions lack column(s) {sorted(missing)}")
    try:
        users = pd.to_numeric(extra["user_id"], errors="raise").astype(np.int64).to_numpy()
        items = pd.to_numeric(extra["item_id"], errors="raise").astype(np.int64).to_numpy()
    except (ValueError, TypeError) as exc:
        raise DataError(f"extra_interactions: user_id and item_id must be integers ({exc})") from None
    known = np.isin(items, catalog.item_ids)
    if not known.all():
        row = int(np.flatnonzero(~known)[0])
        raise DataError(f"extra_interactions row {row}: item id {items[row]} is not in the catalog")
    rating = (
        pd.to_numeric(extra["rating"], errors="coerce").fillna(threshold).to_numpy(np.float32)
        if "rating" in extra
        else np.full(len(extra), threshold, np.float32)
    )
    timestamp = (
        pd.to_numeric(extra["timestamp"], errors="coerce").fillna(0).to_numpy(np.int64)
        if "timestamp" in extra
        else np.zeros(len(extra), np.int64)
    )
    frame = pd.DataFrame({"user_id": users, "item_id": items, "rating": rating, "timestamp": timestamp})
    return frame[list(INTERACTION_COLUMNS)]


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return str(value)
