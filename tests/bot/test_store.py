"""The store on SQLite and on PostgreSQL: migrations, idempotent feedback, threads, reopening, locks.

Every test taking ``open_store`` runs against both backends (PostgreSQL in a private cluster on a
loopback port, tests/pg_cluster.py); the SQLite-only ones check its pragmas and its file handling.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot.errors import StoreError
from bot.settings import Settings
from bot.store import MIGRATIONS_DIR, SessionStore, Store
from bot.store import open_store as open_configured_store
from bot.store_postgres import PostgresStore

OpenStore = Callable[[], SessionStore]


@pytest.fixture(params=["sqlite", "postgresql"])
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OpenStore]:
    """Opens the same database again on each call (a restart); every store opened is closed after."""
    if request.param == "sqlite":
        settings = Settings(home=tmp_path / "home")
    else:
        settings = Settings(home=tmp_path / "home", database_url=request.getfixturevalue("postgres_url"))
    opened: list[SessionStore] = []

    def make() -> SessionStore:
        opened.append(open_configured_store(settings))
        return opened[-1]

    yield make
    for store in opened:
        store.close()


def test_sqlite_migrations_are_recorded_once_and_pragmas_set(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite")
    names = [row[0] for row in store.connection().execute("SELECT name FROM migrations ORDER BY version")]
    assert names == sorted(p.name for p in MIGRATIONS_DIR.glob("*.sql"))
    assert store.connection().execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.connection().execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    store.close()
    again = Store(tmp_path / "db.sqlite")
    assert again.migrate() == []
    assert again.schema_version() == len(names)


def test_migrations_are_recorded_once(open_store: OpenStore) -> None:
    store = open_store()
    assert store.schema_version() == len(list(MIGRATIONS_DIR.glob("*.sql")))
    store.close()
    again = open_store()
    assert again.migrate() == [] and again.ping() == again.schema_version()


def test_feedback_is_idempotent_on_event_id(open_store: OpenStore) -> None:
    store = open_store()
    store.create_session("s1", "7", None, "{}")
    first, new1 = store.add_feedback("e1", "s1", "7", 10, "up", None)
    second, new2 = store.add_feedback("e1", "s1", "7", 10, "up", None)
    assert new1 and not new2 and first["id"] == second["id"]
    assert len(store.feedback("s1")) == 1


def test_turns_and_state_persist_across_reopen(open_store: OpenStore) -> None:
    store = open_store()
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
    reopened = open_store()
    assert reopened.get_session("s1")["state"] == '{"a": 2}'
    turns = reopened.turns("s1")
    assert [t["id"] for t in turns] == [turn_id] and turns[0]["parse"] == {"x": 1}


def test_concurrent_writes_from_threads(open_store: OpenStore) -> None:
    store = open_store()
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


def test_duplicate_session_id_is_refused(open_store: OpenStore) -> None:
    store = open_store()
    store.create_session("s1", None, None, "{}")
    with pytest.raises(StoreError, match="already exists"):
        store.create_session("s1", None, None, "{}")


def test_event_ids_are_idempotency_keys_per_session(open_store: OpenStore) -> None:
    store = open_store()
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
    monkeypatch.setattr(Store, "folder", v2)
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

    monkeypatch.setattr(Store, "folder", None)
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


HOLD_LOCK = """
import sys, time
from bot.settings import Settings
from bot.store import open_store
store = open_store(Settings())
with store.session_lock("s"):
    print("locked", flush=True)
    time.sleep(120)
"""


def _settings_env(store: SessionStore, home: Path) -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("RECBOT_")}
    env["RECBOT_HOME"] = str(home)
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    if isinstance(store, PostgresStore):
        env["RECBOT_DATABASE_URL"] = store.url
    return env


def test_session_lock_serialises_across_processes_and_dies_with_its_holder(
    open_store: OpenStore, tmp_path: Path
) -> None:
    """Another process holding a session's lock blocks this one; SIGKILL of the holder frees it."""
    import subprocess
    import sys

    store = open_store()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK],
        env=_settings_env(store, tmp_path / "home"),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        got = threading.Event()

        def take() -> None:
            with store.session_lock("s"):
                got.set()

        waiter = threading.Thread(target=take, daemon=True)
        waiter.start()
        with store.session_lock("other"):  # another session is not held up
            pass
        assert not got.wait(1.0), "the lock was granted while another process held it"
        t0 = time.monotonic()
        holder.kill()
        assert got.wait(15.0), "the lock stayed taken after its holder was killed"
        assert time.monotonic() - t0 < 15.0
    finally:
        holder.kill()
        holder.wait()


def test_session_lock_serialises_threads(open_store: OpenStore) -> None:
    """Read-modify-write under the lock from 8 threads (two store objects): no update is lost."""
    first, second = open_store(), open_store()
    first.create_session("s", None, None, "0")

    def bump(store: SessionStore) -> None:
        for _ in range(10):
            with store.session_lock("s"):
                row = store.get_session("s")
                assert row is not None
                store.save_state("s", str(int(row["state"]) + 1))

    threads = [threading.Thread(target=bump, args=(first if n % 2 else second,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert first.get_session("s")["state"] == "80"  # type: ignore[index]


def test_postgres_migration_0003_keeps_every_v2_row(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL's own 0003 (a constraint changed in place) upgrades a schema-2 database without loss."""
    import psycopg

    v2 = tmp_path / "v2"
    v2.mkdir()
    for path in sorted(MIGRATIONS_DIR.glob("000[12]_*.sql")):
        (v2 / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setattr(PostgresStore, "folder", v2)
    old = PostgresStore(postgres_url)
    assert old.schema_version() == 2
    old.create_session("a", "7", None, "{}")
    old.create_session("b", None, None, "{}")
    for row in (("e1", "a", "7", 10, "up", None), ("e3", "b", None, 5, "rating", 4.5)):
        old.add_feedback(*row)
    with psycopg.connect(postgres_url) as conn, pytest.raises(psycopg.errors.UniqueViolation):
        conn.execute(
            "INSERT INTO feedback (event_id, session_id, kind, created) VALUES ('e1', 'b', 'up', 'x')"
        )
    before = old.feedback("a") + old.feedback("b")
    old.close()

    monkeypatch.setattr(PostgresStore, "folder", None)
    store = PostgresStore(postgres_url)
    try:
        assert store.schema_version() == 3
        assert store.feedback("a") + store.feedback("b") == before
        assert store.add_feedback("e1", "a", "7", 10, "up", None)[1] is False
        fresh, new = store.add_feedback("e1", "b", None, 6, "down", None)
        assert new and fresh["id"] > max(r["id"] for r in before)
    finally:
        store.close()


def test_unreachable_postgres_is_a_clear_error(tmp_path: Path) -> None:
    from tests.pg_cluster import free_port

    url = f"postgresql://nobody@127.0.0.1:{free_port()}/none"
    with pytest.raises(StoreError, match="cannot connect to PostgreSQL at 127.0.0.1"):
        PostgresStore(url, timeout_s=1.0)
