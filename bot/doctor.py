"""``recbot doctor``: check an installation without changing it, and say what to do about each problem.

Checks, in the order a turn needs them: the dataset's files load; a CF artifact exists and fits the
catalog; the Chroma index exists and was built with this embedding model; the LLM loads; the
database opens, is intact, and has every migration applied. Nothing is built, trained, indexed or
migrated here (the database is opened read-only), so running it is always safe.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from bot.settings import Settings
from bot.store import MIGRATIONS_DIR

Status = Literal["ok", "degraded", "missing"]


@dataclass
class Check:
    """One checked part: its status, what was found, and what to do when it is not ok."""

    name: str
    status: Status
    detail: str
    fix: str = ""


def pending_migrations(db_path: Path) -> list[str]:
    """Migration files not yet applied to the database at ``db_path`` (read-only; all when it is new)."""
    files = sorted(p.name for p in MIGRATIONS_DIR.glob("*.sql") if re.match(r"^\d{4}_", p.name))
    if not db_path.exists():
        return files
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        if not conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name='migrations'"
        ).fetchone():
            return files
        applied = {int(row[0]) for row in conn.execute("SELECT version FROM migrations")}
    finally:
        conn.close()
    return [f for f in files if int(f[:4]) not in applied]


def check_database(settings: Settings) -> Check:
    path = settings.db_path
    if not path.exists():
        return Check("database", "ok", f"{path} does not exist yet; it is created on first use")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            verdict = conn.execute("PRAGMA quick_check").fetchone()[0]
        finally:
            conn.close()
        pending = pending_migrations(path)
    except sqlite3.DatabaseError as exc:
        return Check(
            "database",
            "missing",
            f"{path} is not a usable SQLite database: {exc}",
            f"move {path} aside (it holds the chat history); a new one is created on next start",
        )
    if verdict != "ok":
        return Check(
            "database",
            "missing",
            f"{path} failed its integrity check: {verdict}",
            f"restore {path} from a backup, or move it aside to start a new one",
        )
    if pending:
        return Check(
            "database",
            "degraded",
            f"{path}: migrations not applied yet: {', '.join(pending)}",
            f"back up {path}, then start `recbot serve` (or any chat command): it applies them",
        )
    return Check(
        "database", "ok", f"{path}: intact, all {len(list(MIGRATIONS_DIR.glob('*.sql')))} migrations applied"
    )


def check_index(settings: Settings) -> Check:
    """The index exists, holds items and matches this embedding model (never built here)."""
    try:
        from retrieval.index import ItemIndex

        index = ItemIndex(settings.retrieval_config())
        mismatch = index.mismatch()
        if mismatch is not None:
            return Check("index", "missing", mismatch, "run `recbot index` to rebuild it for this model")
        if not index.is_ready():
            return Check(
                "index",
                "missing",
                f"no item index {settings.chroma_collection!r} in "
                f"{settings.chroma_url or settings.chroma_dir}",
                "run `recbot index`",
            )
        return Check(
            "index",
            "ok",
            f"collection {settings.chroma_collection!r} matches "
            f"{index.expected_metadata()['embedding_model']}",
        )
    except Exception as exc:  # noqa: BLE001 - a check reports, it does not raise
        where = (
            f"the Chroma server at {settings.chroma_url}" if settings.chroma_url else str(settings.chroma_dir)
        )
        return Check(
            "index",
            "missing",
            f"cannot open {where}: {exc}",
            "start the Chroma server" if settings.chroma_url else "run `recbot index`",
        )


FIXES = {
    "dataset": "put the dataset files in {settings.dataset_dir} (RECBOT_DATA_DIR) or run `recbot download`",
    "cf": "run `recbot train`",
    "llm": "check RECBOT_LLM_MODEL_PATH / the model package, or set RECBOT_LLM_BACKEND=template",
}


def run_checks(settings: Settings) -> list[Check]:
    """Every check; parts the runtime loads are loaded with ``build_missing=False``."""
    from bot.runtime import Runtime

    runtime: Any = Runtime(settings, build_missing=False)
    checks: list[Check] = []
    for part in ("dataset", "cf"):
        try:
            getattr(runtime, part)
        except Exception as exc:  # noqa: BLE001 - reported below
            runtime._set(part, "missing", str(exc))
        info = runtime.health(load=False)[part]
        status: Status = (
            "ok" if info["status"] == "ok" else "degraded" if info["status"] == "degraded" else "missing"
        )
        checks.append(
            Check(
                part, status, info["detail"], "" if status == "ok" else FIXES[part].format(settings=settings)
            )
        )
        if part == "dataset" and status != "ok":
            break  # nothing else can be checked against a catalog that does not load
    checks.append(check_index(settings))
    try:
        runtime.llm  # noqa: B018 - loads the model (or records why not)
    except Exception as exc:  # noqa: BLE001
        runtime._set("llm", "degraded", str(exc))
    info = runtime.health(load=False)["llm"]
    llm_status: Status = "ok" if info["status"] == "ok" else "degraded"
    checks.append(Check("llm", llm_status, info["detail"], "" if llm_status == "ok" else FIXES["llm"]))
    checks.append(check_database(settings))
    return checks
