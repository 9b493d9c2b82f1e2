"""The SQLite store: migrations, durability settings, idempotent feedback, threads, reopening."""

from __future__ import annotations

import sqlite3
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


def test_event_ids_are_idempotency_keys_per_session(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite")
    store.create_session("a", None, None, "{}")
    store.create_session("b", None, None, "{}")
    in_a, new_a = store.add_feedback("e1", "a", None, 10, "up", None)
    in_b, new_b = store.add_feedback("e1", "b", None, 20, "down", None)
    assert new_a and new_b and in_a["id"] != in_b["id"]
    assert (in_b["session_id"], in_b["item_id"], in_b["kind"]) == ("b", 20, "down")
    again, new = store.add_feedback("e1", "b", None, 99, "up", None)
    assert not new and again["id"] == in_b["id"]
    assert store.get_feedback("a", "e1")["item_id"] == 10  # type: ignore[index]
    assert store.get_feedback("b", "e1")["item_id"] == 20  # type: ignore[index]
    assert store.get_feedback("c", "e1") is None


def test_migration_0003_keeps_every_v2_row(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A database at schema 2 (event_id unique across sessions) with data upgrades without loss."""
    v2 = tmp_path / "v2"
    v2.mkdir()
    for path in sorted(MIGRATIONS_DIR.glob("000[12]_*.sql")):
        (v2 / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setattr("bot.store.MIGRATIONS_DIR", v2)
    old = Store(tmp_path / "db.sqlite")
    assert old.schema_version() == 2
    for sid, user in (("a", "7"), ("b", None)):
        old.create_session(sid, user, None, "{}")
    rows = [
        ("e1", "a", "7", 10, "up", None),
        ("e2", "a", "7", None, "reply_up", None),
        ("e3", "b", None, 5, "rating", 4.5),
    ]
    for row in rows:
        old.add_feedback(*row)
    with pytest.raises(sqlite3.IntegrityError):  # schema 2: one id in all sessions
        old.connection().execute(
            "INSERT INTO feedback (event_id, session_id, kind, created) VALUES ('e1', 'b', 'up', 'now')"
        )
    before = [dict(r) for r in old.connection().execute("SELECT * FROM feedback ORDER BY id")]
    old.close()

    monkeypatch.setattr("bot.store.MIGRATIONS_DIR", MIGRATIONS_DIR)
    store = Store(tmp_path / "db.sqlite")
    assert store.schema_version() == 3
    after = [dict(r) for r in store.connection().execute("SELECT * FROM feedback ORDER BY id")]
    assert after == before and len(after) == 3
    assert store.all_feedback()[0]["owner"] == "7"
    assert store.get_feedback("a", "e1")["item_id"] == 10  # type: ignore[index]
    # the old keys still dedupe, the same id in another session is new, new ids continue after the old
    assert store.add_feedback("e1", "a", "7", 10, "up", None)[1] is False
    fresh, new = store.add_feedback("e1", "b", None, 6, "down", None)
    assert new and fresh["id"] > max(r["id"] for r in before)
    indexes = {r["name"] for r in store.connection().execute("PRAGMA index_list(feedback)")}
    assert {"feedback_session", "feedback_user"} <= indexes
    assert store.connection().execute("PRAGMA foreign_key_check").fetchall() == []
    assert store.connection().execute("PRAGMA integrity_check").fetchone()[0] == "ok"
