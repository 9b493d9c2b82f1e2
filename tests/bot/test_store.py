"""The SQLite store: migrations, durability settings, idempotent feedback, threads, reopening."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from bot.errors import StoreError
from bot.store import MIGRATIONS_DIR, Store


def test_migrations_are_recorded_once_and_pragmas_set(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite")
    names = [row[0] for row in store.connection().execute("SELECT name FROM migrations ORDER BY version")]
    assert names == sorted(p.name for p in MIGRATIONS_DIR.glob("*.sql"))
    assert store.connection().execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.connection().execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    store.close()
    again = Store(tmp_path / "db.sqlite")
    assert again.migrate() == []
    assert again.schema_version() == len(names)


def test_feedback_is_idempotent_on_event_id(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite")
    store.create_session("s1", "7", None, "{}")
    first, new1 = store.add_feedback("e1", "s1", "7", 10, "up", None)
    second, new2 = store.add_feedback("e1", "s1", "7", 10, "up", None)
    assert new1 and not new2 and first["id"] == second["id"]
    assert len(store.feedback("s1")) == 1


def test_turns_and_state_persist_across_reopen(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite")
    store.create_session("s1", None, "site", '{"a": 1}')
    turn_id = store.add_turn(
        "s1",
        '{"a": 2}',
        user_id=None,
        message="hi",
        intent="greeting",
        parse={"x": 1},
        candidates=[],
        shown=[],
        reply="hello",
        question="q?",
        explanations=[],
        latency_ms={"total": 1.0},
    )
    store.close()
    reopened = Store(tmp_path / "db.sqlite")
    assert reopened.get_session("s1")["state"] == '{"a": 2}'
    turns = reopened.turns("s1")
    assert [t["id"] for t in turns] == [turn_id] and turns[0]["parse"] == {"x": 1}


def test_concurrent_writes_from_threads(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite")
    store.create_session("s1", None, None, "{}")
    errors: list[Exception] = []

    def work(n: int) -> None:
        try:
            for i in range(20):
                store.add_feedback(f"e{n}-{i}", "s1", None, i, "click", None)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(store.feedback("s1")) == 80


def test_broken_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="db.sqlite"):
        Store(path)


def test_duplicate_session_id_is_refused(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite")
    store.create_session("s1", None, None, "{}")
    with pytest.raises(StoreError, match="already exists"):
        store.create_session("s1", None, None, "{}")
