"""What every recbot store does (the :class:`SessionStore` Protocol), and the SQL both databases share.

Two implementations satisfy the Protocol: :class:`bot.store.Store` (one SQLite file, the default on
one machine) and :class:`bot.store_postgres.PostgresStore` (PostgreSQL, for several API replicas).
:func:`bot.store.open_store` picks one from ``settings.database_url``.

The record-keeping SQL (sessions, turns, feedback) is written once, in :class:`SqlStore`, with ``?``
placeholders and ``RETURNING`` / ``ON CONFLICT DO NOTHING``, which SQLite (>= 3.35) and PostgreSQL
both understand; a subclass supplies connections, transactions, retries and its session lock.
Migrations are the same numbered files (``bot/migrations/NNNN_name.sql``) for both; a file under
``bot/migrations/<kind>/`` with the same name replaces one for that database only (SQLite rebuilds a
table where PostgreSQL alters a constraint in place), and :meth:`SqlStore.dialect_sql` adapts
column types.
"""

from __future__ import annotations

import json
import re
import threading
import weakref
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar

from bot.errors import InvalidInputError, StoreError

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
SESSION_ID = re.compile(r"^[A-Za-z0-9_.\-]{1,128}$")
T = TypeVar("T")

TURN_COLUMNS = (
    "user_id",
    "message",
    "intent",
    "parse",
    "candidates",
    "shown",
    "reply",
    "question",
    "explanations",
    "latency_ms",
    "recommendations",
)
JSON_TURN_COLUMNS = ("parse", "candidates", "shown", "explanations", "latency_ms", "recommendations")


def check_session_id(session_id: object) -> str:
    """``session_id`` if it is 1-128 letters, digits, '_', '-' or '.', else :class:`InvalidInputError`."""
    if not isinstance(session_id, str) or not SESSION_ID.match(session_id):
        raise InvalidInputError("session id must be 1-128 characters of letters, digits, '_', '-' or '.'")
    return session_id


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class SessionStore(Protocol):
    """Sessions, turns and feedback events, durable once a call returns."""

    kind: str  # "sqlite" or "postgresql"

    def describe(self) -> str: ...
    def migrate(self) -> list[str]: ...
    def ping(self, timeout_s: float = 1.0) -> int: ...
    def schema_version(self) -> int: ...
    def close(self) -> None: ...
    def session_lock(self, session_id: str) -> AbstractContextManager[None]: ...
    def create_session(
        self, session_id: str, user_id: str | None, site_key: str | None, state_json: str
    ) -> None: ...
    def get_session(self, session_id: str) -> dict[str, Any] | None: ...
    def save_state(self, session_id: str, state_json: str) -> None: ...
    def user_sessions(self, user_id: str, exclude: str | None = None) -> list[dict[str, Any]]: ...
    def add_turn(self, session_id: str, state_json: str, **turn: Any) -> int: ...
    def update_turn(self, turn_id: int, **turn: Any) -> None: ...
    def turns(self, session_id: str) -> list[dict[str, Any]]: ...
    def add_feedback(
        self,
        event_id: str,
        session_id: str,
        user_id: str | None,
        item_id: int | None,
        kind: str,
        value: float | None,
        state_json: str | None = None,
    ) -> tuple[dict[str, Any], bool]: ...
    def get_feedback(self, session_id: str, event_id: str) -> dict[str, Any] | None: ...
    def feedback(self, session_id: str) -> list[dict[str, Any]]: ...
    def all_feedback(self) -> list[dict[str, Any]]: ...
    def all_sessions(self) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def migrations(kind: str, folder: Path | None = None) -> list[Migration]:
    """The numbered migrations in order, each from ``folder/<kind>/`` when that database has its own."""
    folder = folder or MIGRATIONS_DIR
    out = []
    for path in sorted(folder.glob("*.sql")):
        match = re.match(r"^(\d{4})_", path.name)
        if not match:
            raise StoreError(f"migration file {path} must be named NNNN_name.sql")
        own = folder / kind / path.name
        chosen = own if own.is_file() else path
        out.append(Migration(int(match.group(1)), path.name, chosen.read_text(encoding="utf-8")))
    return out


def statements(sql: str) -> list[str]:
    """Split a migration into statements (no semicolons inside strings in our migrations)."""
    body = "\n".join(line.split("--", 1)[0] for line in sql.splitlines())
    return [s.strip() for s in body.split(";") if s.strip()]


class LocalSessionLocks:
    """One ``threading.Lock`` per session while someone holds or waits for it.

    Weak values: a session's lock disappears when its last holder leaves (a server sees unbounded
    sessions). Threads of one process wait here, so a store's cross-process lock (a file lock, a
    PostgreSQL advisory lock) is only ever requested by one thread per session and process.
    """

    def __init__(self) -> None:
        self._locks: weakref.WeakValueDictionary[str, threading.Lock] = weakref.WeakValueDictionary()
        self._guard = threading.Lock()

    def get(self, session_id: str) -> threading.Lock:
        with self._guard:
            lock = self._locks.get(session_id)
            if lock is None:
                lock = threading.Lock()
                self._locks[session_id] = lock
            return lock


class Tx(Protocol):
    """What a transaction hands the shared SQL: ``execute`` returning a cursor with fetchone/fetchall."""

    def execute(self, sql: str, params: Any = ...) -> Any: ...


class SqlStore:
    """Sessions, turns and feedback in SQL shared by SQLite and PostgreSQL (see the module docstring)."""

    kind = "sql"
    folder: Path | None = None  # migrations folder; None: MIGRATIONS_DIR (tests point it elsewhere)

    # --- what a database supplies ----------------------------------------------------------
    def transaction(self) -> AbstractContextManager[Tx]:
        raise NotImplementedError

    def _read(self, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        raise NotImplementedError

    def _retry(self, fn: Callable[[], T]) -> T:
        raise NotImplementedError

    def _ensure_migrations_table(self) -> None:
        raise NotImplementedError

    def _lock_migrations(self, tx: Tx) -> None:
        """Serialise migrating processes (SQLite's BEGIN IMMEDIATE already does)."""

    def dialect_sql(self, sql: str) -> str:
        return sql

    def describe(self) -> str:
        raise NotImplementedError

    # --- migrations -------------------------------------------------------------------------
    def migrate(self) -> list[str]:
        """Apply the migrations not yet recorded, each in its own transaction; returns those applied now."""
        self._ensure_migrations_table()
        applied = {int(row["version"]) for row in self._read("SELECT version FROM migrations")}
        done = []
        for migration in migrations(self.kind, self.folder):
            if migration.version in applied:
                continue

            def apply(m: Migration = migration) -> None:
                with self.transaction() as tx:
                    self._lock_migrations(tx)
                    if tx.execute("SELECT 1 FROM migrations WHERE version = ?", (m.version,)).fetchone():
                        return  # another process applied it meanwhile
                    for statement in statements(self.dialect_sql(m.sql)):
                        tx.execute(statement)
                    tx.execute(
                        "INSERT INTO migrations (version, name, applied) VALUES (?, ?, ?)",
                        (m.version, m.name, now()),
                    )

            try:
                self._retry(apply)
            except StoreError:
                raise
            except Exception as exc:  # a driver's error: name the migration and the database
                raise StoreError(f"migration {migration.name} failed on {self.describe()}: {exc}") from exc
            done.append(migration.name)
        return done

    def schema_version(self) -> int:
        rows = self._read("SELECT MAX(version) AS version FROM migrations")
        return int(rows[0]["version"] or 0)

    # --- sessions ---------------------------------------------------------------------------
    def create_session(
        self, session_id: str, user_id: str | None, site_key: str | None, state_json: str
    ) -> None:
        stamp = now()

        def write() -> bool:
            with self.transaction() as tx:
                row = tx.execute(
                    "INSERT INTO sessions (id, user_id, site_key, created, updated, state)"
                    " VALUES (?,?,?,?,?,?) ON CONFLICT DO NOTHING RETURNING id",
                    (session_id, user_id, site_key, stamp, stamp, state_json),
                ).fetchone()
                return row is not None

        if not self._retry(write):
            raise StoreError(f"session {session_id!r} already exists")

    def get_session(self, session_id: str) -> dict[str, Any] | None:
        rows = self._read("SELECT * FROM sessions WHERE id = ?", (session_id,))
        return rows[0] if rows else None

    def save_state(self, session_id: str, state_json: str) -> None:
        def write() -> None:
            with self.transaction() as tx:
                tx.execute(
                    "UPDATE sessions SET state = ?, updated = ? WHERE id = ?", (state_json, now(), session_id)
                )

        self._retry(write)

    def user_sessions(self, user_id: str, exclude: str | None = None) -> list[dict[str, Any]]:
        return self._read(
            "SELECT * FROM sessions WHERE user_id = ? AND id != ? ORDER BY created", (user_id, exclude or "")
        )

    def all_sessions(self) -> list[dict[str, Any]]:
        return self._read("SELECT * FROM sessions ORDER BY created")

    # --- turns ------------------------------------------------------------------------------
    def add_turn(self, session_id: str, state_json: str, **turn: Any) -> int:
        """Record one turn and the session's new state in one transaction; returns the turn id.

        Missing columns are stored as JSON ``[]`` / NULL (``recommendations`` came in migration 0002).
        """
        turn.setdefault("recommendations", [])
        values = [
            turn.get(c) if isinstance(turn.get(c), str | None) else json.dumps(turn[c]) for c in TURN_COLUMNS
        ]
        stamp = now()

        def write() -> int:
            with self.transaction() as tx:
                row = tx.execute(
                    f"INSERT INTO turns (session_id, created, {', '.join(TURN_COLUMNS)}) VALUES (?, ?, "
                    f"{', '.join('?' * len(TURN_COLUMNS))}) RETURNING id",
                    (session_id, stamp, *values),
                ).fetchone()
                tx.execute(
                    "UPDATE sessions SET state = ?, updated = ? WHERE id = ?", (state_json, stamp, session_id)
                )
                return int(row["id"])

        return self._retry(write)

    def update_turn(self, turn_id: int, **turn: Any) -> None:
        """Rewrite some columns of a recorded turn (a streamed turn fills in its reply as it ends).

        The session's state is not touched: a turn writes it once, with the row (:meth:`add_turn`).
        """
        unknown = sorted(set(turn) - set(TURN_COLUMNS))
        if unknown or not turn:
            raise StoreError(f"update_turn: unknown or no columns {unknown}")
        names = list(turn)
        values = [turn[c] if isinstance(turn[c], str | None) else json.dumps(turn[c]) for c in names]

        def write() -> None:
            with self.transaction() as tx:
                tx.execute(
                    f"UPDATE turns SET {', '.join(f'{c} = ?' for c in names)} WHERE id = ?",
                    (*values, turn_id),
                )

        self._retry(write)

    def turns(self, session_id: str) -> list[dict[str, Any]]:
        out = []
        for record in self._read("SELECT * FROM turns WHERE session_id = ? ORDER BY id", (session_id,)):
            for key in JSON_TURN_COLUMNS:
                record[key] = json.loads(record[key])
            record["turn_id"] = record["id"]
            out.append(record)
        return out

    # --- feedback ---------------------------------------------------------------------------
    def add_feedback(
        self,
        event_id: str,
        session_id: str,
        user_id: str | None,
        item_id: int | None,
        kind: str,
        value: float | None,
        state_json: str | None = None,
    ) -> tuple[dict[str, Any], bool]:
        """Record feedback once per (``session_id``, ``event_id``); returns (the row, whether it was new).

        Event ids are idempotency keys scoped to their session (migration 0003): the same id in
        another session is a different event. ``ON CONFLICT DO NOTHING`` makes two processes racing
        with one id record it once. The session's new state is written in the same transaction, so
        a recorded event and its effect cannot disagree after a crash.
        """
        stamp = now()

        def write() -> tuple[dict[str, Any], bool]:
            with self.transaction() as tx:
                new = tx.execute(
                    "INSERT INTO feedback (event_id, session_id, user_id, item_id, kind, value, created)"
                    " VALUES (?,?,?,?,?,?,?) ON CONFLICT DO NOTHING RETURNING *",
                    (event_id, session_id, user_id, item_id, kind, value, stamp),
                ).fetchone()
                if new is None:
                    old = tx.execute(
                        "SELECT * FROM feedback WHERE session_id = ? AND event_id = ?", (session_id, event_id)
                    ).fetchone()
                    return dict(old), False
                if state_json is not None:
                    tx.execute(
                        "UPDATE sessions SET state = ?, updated = ? WHERE id = ?",
                        (state_json, stamp, session_id),
                    )
                return dict(new), True

        return self._retry(write)

    def get_feedback(self, session_id: str, event_id: str) -> dict[str, Any] | None:
        """The event ``event_id`` of ``session_id`` (ids are unique per session only), or None."""
        rows = self._read(
            "SELECT * FROM feedback WHERE session_id = ? AND event_id = ?", (session_id, event_id)
        )
        return rows[0] if rows else None

    def feedback(self, session_id: str) -> list[dict[str, Any]]:
        return self._read("SELECT * FROM feedback WHERE session_id = ? ORDER BY id", (session_id,))

    def all_feedback(self) -> list[dict[str, Any]]:
        """Every item feedback event with its session's user id (for ``recbot retrain``)."""
        return self._read(
            "SELECT f.*, COALESCE(f.user_id, s.user_id) AS owner"
            " FROM feedback f JOIN sessions s ON s.id = f.session_id"
            " WHERE f.item_id IS NOT NULL ORDER BY f.id"
        )
