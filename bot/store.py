"""SQLite record of sessions, turns and feedback: the default store on one machine.

The SQL itself (sessions, turns, feedback, migrations) is shared with PostgreSQL in
:class:`bot.store_base.SqlStore`; this module supplies SQLite's connections and locks, and
:func:`open_store` picks the store ``settings.database_url`` names.

* WAL mode: readers (the API listing a session) never block the writer recording a turn.
* ``synchronous=FULL``: feedback is acknowledged to the user ("noted, I won't show it again") and
  ``recbot retrain`` learns from it, so an acknowledged write must survive a power cut. NORMAL in WAL
  mode may lose the last transactions on power loss; a turn is rare enough (seconds of LLM time)
  that the extra fsync per commit costs nothing measurable.
* One connection per thread (``threading.local``): FastAPI runs turns on worker threads and sqlite3
  connections must not be shared across threads; ``busy_timeout`` plus a short retry loop rides out
  the moments when another process (``recbot retrain``, a second server) holds the write lock.
* Per-session serialisation across processes (:meth:`Store.session_lock`): an exclusive ``flock`` on
  one of :data:`LOCK_BUCKETS` files beside the database, taken by one thread per process at a time.
  The kernel releases it when the holder dies (kill -9 included), as PostgreSQL releases an
  advisory lock; a lock row in a table would outlive a killed holder. SQLite itself only locks the
  whole database, which a turn (seconds of LLM time) must not hold.
* Numbered, append-only migrations (``bot/migrations/0001_init.sql`` ...) recorded in the
  ``migrations`` table; each applies in its own transaction.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from bot.errors import StoreError
from bot.store_base import (
    MIGRATIONS_DIR,
    LocalSessionLocks,
    SessionStore,
    SqlStore,
    check_session_id,
    now,
)

if TYPE_CHECKING:
    from bot.settings import Settings

__all__ = ["MIGRATIONS_DIR", "SessionStore", "Store", "check_session_id", "now", "open_store"]

BUSY_TIMEOUT_MS = 5000
RETRIES = 5
# Sessions share lock files by hash: 64 files bound what a server leaves on disk, and two sessions
# in one bucket only ever wait for each other's (short) critical sections.
LOCK_BUCKETS = 64
T = TypeVar("T")


def open_store(settings: Settings) -> SessionStore:
    """The store ``settings.database_url`` names: PostgreSQL, or the SQLite file (the default)."""
    url = settings.database_url
    if url and url.startswith(("postgresql://", "postgres://")):
        from bot.store_postgres import PostgresStore

        return PostgresStore(url, pool_size=settings.database_pool_size)
    return Store(settings.db_path)


class Store(SqlStore):
    """The recbot SQLite database at ``path`` (created and migrated on first use)."""

    kind = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._session_locks = LocalSessionLocks()
        self._lock_dir = self.path.with_name(self.path.name + ".locks")
        self.migrate()

    def describe(self) -> str:
        return str(self.path)

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

    def _read(self, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        try:
            return [dict(row) for row in self.connection().execute(sql, params).fetchall()]
        except sqlite3.OperationalError as exc:
            raise StoreError(f"database {self.path}: {exc}") from exc

    def _ensure_migrations_table(self) -> None:
        try:
            self.connection().execute(
                "CREATE TABLE IF NOT EXISTS migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
                " applied TEXT NOT NULL)"
            )
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path} is not a usable SQLite database: {exc}") from exc

    @contextmanager
    def session_lock(self, session_id: str) -> Iterator[None]:
        """Hold the session against every other thread and process using this database file."""
        digest = hashlib.blake2b(session_id.encode(), digest_size=8).digest()
        bucket = int.from_bytes(digest, "big") % LOCK_BUCKETS
        with self._session_locks.get(session_id):
            self._lock_dir.mkdir(exist_ok=True)
            fd = os.open(self._lock_dir / f"{bucket:02d}", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                os.close(fd)  # closing the descriptor releases the flock

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
