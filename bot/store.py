"""SQLite record of sessions, turns and feedback, shared by every entry point (CLI, API, Gradio, eval).

* WAL mode: readers (the API listing a session) never block the writer recording a turn.
* ``synchronous=FULL``: feedback is acknowledged to the user ("noted, I won't show it again") and
  ``recbot retrain`` learns from it, so an acknowledged write must survive a power cut. NORMAL in WAL
  mode may lose the last transactions on power loss; a turn is rare enough (seconds of LLM time)
  that the extra fsync per commit costs nothing measurable.
* One connection per thread (``threading.local``): FastAPI runs turns on worker threads and sqlite3
  connections must not be shared across threads; ``busy_timeout`` plus a short retry loop rides out
  the moments when another process (``recbot retrain``, a second server) holds the write lock.
* Numbered, append-only migrations (``bot/migrations/0001_init.sql`` ...) recorded in the
  ``migrations`` table; each applies in its own transaction.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from bot.errors import InvalidInputError, StoreError

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
SESSION_ID = re.compile(r"^[A-Za-z0-9_.\-]{1,128}$")
BUSY_TIMEOUT_MS = 5000
RETRIES = 5
T = TypeVar("T")


def check_session_id(session_id: object) -> str:
    """``session_id`` if it is 1-128 letters, digits, '_', '-' or '.', else :class:`InvalidInputError`."""
    if not isinstance(session_id, str) or not SESSION_ID.match(session_id):
        raise InvalidInputError("session id must be 1-128 characters of letters, digits, '_', '-' or '.'")
    return session_id


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class Store:
    """The recbot database at ``path`` (created and migrated on first use)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self.migrate()

    # --- connections ------------------------------------------------------------------------
    def connection(self) -> sqlite3.Connection:
        """This thread's connection (autocommit mode: transactions are explicit)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = sqlite3.connect(
                    self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
                )
                conn.row_factory = sqlite3.Row
                conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = FULL")
                conn.execute("PRAGMA foreign_keys = ON")
            except sqlite3.DatabaseError as exc:
                raise StoreError(f"cannot open the database {self.path}: {exc}") from exc
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    def close(self) -> None:
        """Close every connection this store opened (tests, shutdown)."""
        with self._lock:
            for conn in self._connections:
                try:
                    conn.close()
                except sqlite3.Error:
                    pass
            self._connections.clear()
        self._local = threading.local()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT (rolled back on error)."""
        conn = self.connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def _retry(self, fn: Callable[[], T]) -> T:
        """Run ``fn``, retrying when the database stays locked past busy_timeout."""
        delay = 0.05
        for attempt in range(RETRIES):
            try:
                return fn()
            except sqlite3.OperationalError as exc:
                message = str(exc).lower()
                if ("locked" not in message and "busy" not in message) or attempt == RETRIES - 1:
                    raise StoreError(f"database {self.path}: {exc}") from exc
                time.sleep(delay)
                delay *= 2
        raise AssertionError("unreachable")

    # --- migrations -------------------------------------------------------------------------
    def migrate(self) -> list[str]:
        """Apply the migrations not yet recorded; returns the names applied now."""
        conn = self.connection()
        try:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
                " applied TEXT NOT NULL)"
            )
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path} is not a usable SQLite database: {exc}") from exc
        applied = {row[0] for row in conn.execute("SELECT version FROM migrations")}
        done = []
        for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
            match = re.match(r"^(\d{4})_", path.name)
            if not match:
                raise StoreError(f"migration file {path} must be named NNNN_name.sql")
            version = int(match.group(1))
            if version in applied:
                continue
            sql = path.read_text(encoding="utf-8")

            def apply(version: int = version, name: str = path.name, sql: str = sql) -> None:
                with self.transaction() as tx:
                    if tx.execute("SELECT 1 FROM migrations WHERE version = ?", (version,)).fetchone():
                        return  # another process applied it meanwhile
                    for statement in _statements(sql):
                        tx.execute(statement)
                    tx.execute(
                        "INSERT INTO migrations (version, name, applied) VALUES (?, ?, ?)",
                        (version, name, now()),
                    )

            try:
                self._retry(apply)
            except sqlite3.DatabaseError as exc:
                raise StoreError(f"migration {path.name} failed on {self.path}: {exc}") from exc
            done.append(path.name)
        return done

    def ping(self, timeout_s: float = 1.0) -> int:
        """Check the database file is still there and readable right now; returns its schema version.

        A fresh connection, not this thread's: an open connection keeps working on a deleted or
        replaced file (it holds the old inode), so only a new open sees what a restart would see.
        ``mode=rw`` never creates a missing file, and reading ``migrations`` touches real pages
        (``SELECT 1`` would succeed without reading the file at all). Raises :class:`StoreError`.
        """
        try:
            conn = sqlite3.connect(f"file:{self.path}?mode=rw", uri=True, timeout=timeout_s)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the database {self.path}: {exc}") from exc
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(timeout_s * 1000)}")
            row = conn.execute("SELECT MAX(version) FROM migrations").fetchone()
            return int(row[0] or 0)
        except sqlite3.Error as exc:
            raise StoreError(f"database {self.path} is not usable: {exc}") from exc
        finally:
            conn.close()

    def schema_version(self) -> int:
        row = self.connection().execute("SELECT MAX(version) FROM migrations").fetchone()
        return int(row[0] or 0)

    # --- sessions ---------------------------------------------------------------------------
    def create_session(
        self, session_id: str, user_id: str | None, site_key: str | None, state_json: str
    ) -> None:
        stamp = now()

        def write() -> None:
            with self.transaction() as tx:
                tx.execute(
                    "INSERT INTO sessions (id, user_id, site_key, created, updated, state)"
                    " VALUES (?,?,?,?,?,?)",
                    (session_id, user_id, site_key, stamp, stamp, state_json),
                )

        try:
            self._retry(write)
        except sqlite3.IntegrityError as exc:
            raise StoreError(f"session {session_id!r} already exists") from exc

    def get_session(self, session_id: str) -> dict[str, Any] | None:
        row = self.connection().execute("SELECT * FROM sessions WHERE id = ?", (session_id,)).fetchone()
        return dict(row) if row else None

    def save_state(self, session_id: str, state_json: str) -> None:
        def write() -> None:
            with self.transaction() as tx:
                tx.execute(
                    "UPDATE sessions SET state = ?, updated = ? WHERE id = ?", (state_json, now(), session_id)
                )

        self._retry(write)

    def user_sessions(self, user_id: str, exclude: str | None = None) -> list[dict[str, Any]]:
        rows = (
            self.connection()
            .execute(
                "SELECT * FROM sessions WHERE user_id = ? AND id != ? ORDER BY created",
                (user_id, exclude or ""),
            )
            .fetchall()
        )
        return [dict(r) for r in rows]

    # --- turns ------------------------------------------------------------------------------
    def add_turn(self, session_id: str, state_json: str, **turn: Any) -> int:
        """Record one turn and the session's new state in one transaction; returns the turn id.

        Missing columns are stored as JSON ``[]`` / NULL (``recommendations`` came in migration 0002).
        """
        turn.setdefault("recommendations", [])
        columns = (
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
        values = [
            turn.get(c) if isinstance(turn.get(c), str | None) else json.dumps(turn[c]) for c in columns
        ]
        stamp = now()

        def write() -> int:
            with self.transaction() as tx:
                cur = tx.execute(
                    f"INSERT INTO turns (session_id, created, {', '.join(columns)}) VALUES (?, ?, "
                    f"{', '.join('?' * len(columns))})",
                    (session_id, stamp, *values),
                )
                tx.execute(
                    "UPDATE sessions SET state = ?, updated = ? WHERE id = ?", (state_json, stamp, session_id)
                )
                return int(cur.lastrowid or 0)

        return self._retry(write)

    def turns(self, session_id: str) -> list[dict[str, Any]]:
        rows = self.connection().execute(
            "SELECT * FROM turns WHERE session_id = ? ORDER BY id", (session_id,)
        )
        out = []
        for row in rows.fetchall():
            record = dict(row)
            for key in ("parse", "candidates", "shown", "explanations", "latency_ms", "recommendations"):
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
        another session is a different event. The session's new state is written in the same
        transaction, so a recorded event and its effect cannot disagree after a crash.
        """
        stamp = now()

        def write() -> tuple[dict[str, Any], bool]:
            with self.transaction() as tx:
                old = tx.execute(
                    "SELECT * FROM feedback WHERE session_id = ? AND event_id = ?", (session_id, event_id)
                ).fetchone()
                if old is not None:
                    return dict(old), False
                tx.execute(
                    "INSERT INTO feedback (event_id, session_id, user_id, item_id, kind, value, created)"
                    " VALUES (?,?,?,?,?,?,?)",
                    (event_id, session_id, user_id, item_id, kind, value, stamp),
                )
                if state_json is not None:
                    tx.execute(
                        "UPDATE sessions SET state = ?, updated = ? WHERE id = ?",
                        (state_json, stamp, session_id),
                    )
                row = tx.execute(
                    "SELECT * FROM feedback WHERE session_id = ? AND event_id = ?", (session_id, event_id)
                ).fetchone()
                return dict(row), True

        return self._retry(write)

    def get_feedback(self, session_id: str, event_id: str) -> dict[str, Any] | None:
        """The event ``event_id`` of ``session_id`` (ids are unique per session only), or None."""
        row = (
            self.connection()
            .execute("SELECT * FROM feedback WHERE session_id = ? AND event_id = ?", (session_id, event_id))
            .fetchone()
        )
        return dict(row) if row else None

    def feedback(self, session_id: str) -> list[dict[str, Any]]:
        rows = self.connection().execute(
            "SELECT * FROM feedback WHERE session_id = ? ORDER BY id", (session_id,)
        )
        return [dict(r) for r in rows.fetchall()]

    def all_feedback(self) -> list[dict[str, Any]]:
        """Every item feedback event with its session's user id (for ``recbot retrain``)."""
        rows = self.connection().execute(
            "SELECT f.*, COALESCE(f.user_id, s.user_id) AS owner"
            " FROM feedback f JOIN sessions s ON s.id = f.session_id"
            " WHERE f.item_id IS NOT NULL ORDER BY f.id"
        )
        return [dict(r) for r in rows.fetchall()]

    def all_sessions(self) -> list[dict[str, Any]]:
        rows = self.connection().execute("SELECT * FROM sessions ORDER BY created")
        return [dict(r) for r in rows.fetchall()]


def _statements(sql: str) -> list[str]:
    """Split a migration into statements (no semicolons inside strings in our migrations)."""
    body = "\n".join(line.split("--", 1)[0] for line in sql.splitlines())
    return [s.strip() for s in body.split(";") if s.strip()]
