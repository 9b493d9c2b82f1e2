"""PostgreSQL record of sessions, turns and feedback: one database that several API replicas share.

Chosen by ``RECBOT_DATABASE_URL=postgresql://user:password@host:port/dbname``; the SQL is the one
:class:`bot.store_base.SqlStore` shares with SQLite, and so are the numbered migrations.

* Connections come from psycopg's own pool (``psycopg_pool.ConnectionPool``), each checked before
  use, in autocommit mode with explicit transactions, ``synchronous_commit=on``: a commit returns
  once its WAL record is flushed, so an acknowledged feedback event survives a kill -9 of the API
  process (and of PostgreSQL itself).
* Per-session serialisation across processes: :meth:`PostgresStore.session_lock` holds
  ``pg_advisory_xact_lock(hashtextextended(session_id, 0))`` in a transaction of its own for as long
  as the turn or feedback call runs. PostgreSQL releases it when that transaction ends, and when the
  holding process dies (its connection closes), so a SIGKILLed replica never leaves a session locked.
  Lock connections come from a second pool: a thread waiting for a session's lock must never take the
  connection the lock's holder needs to record its turn.
* Migrating replicas take a transaction-scoped advisory lock of their own, so two replicas starting
  together apply each migration once.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, TypeVar

import psycopg
from psycopg import errors as pg_errors
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

from bot.errors import StoreError
from bot.store_base import LocalSessionLocks, SqlStore

T = TypeVar("T")
RETRIES = 5
POOL_TIMEOUT_S = 30.0
# Two-int advisory keys live apart from the one-bigint keys sessions use.
MIGRATION_LOCK = (0x72656362, 1)  # "recb", 1
CONNECTION_OPTIONS = "-c synchronous_commit=on"
# Errors after which PostgreSQL has rolled the transaction back: safe to run it again.
RETRYABLE = (PoolTimeout, pg_errors.SerializationFailure, pg_errors.DeadlockDetected)


@lru_cache(maxsize=256)
def postgres_sql(sql: str) -> str:
    """The shared SQL with psycopg's placeholders (the shared statements hold no literal ? or %)."""
    return sql.replace("?", "%s")


class _Tx:
    """A transaction's connection, taking the shared SQL's ``?`` placeholders."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn

    def execute(self, sql: str, params: Any = None) -> Any:
        return self.conn.execute(postgres_sql(sql), params)


class PostgresStore(SqlStore):
    """The recbot database at ``url`` (migrated on first use)."""

    kind = "postgresql"

    def __init__(self, url: str, pool_size: int = 8, timeout_s: float = POOL_TIMEOUT_S) -> None:
        self.url = url
        try:
            info = conninfo_to_dict(url)
        except psycopg.ProgrammingError as exc:
            raise StoreError(f"RECBOT_DATABASE_URL is not a PostgreSQL URL: {exc}") from None
        self._where = f"{info.get('host', 'localhost')}:{info.get('port', 5432)}/{info.get('dbname', '')}"
        kwargs = {"autocommit": True, "row_factory": dict_row, "options": CONNECTION_OPTIONS}
        common: dict[str, Any] = {
            "kwargs": kwargs,
            "timeout": timeout_s,
            "open": False,
            "check": ConnectionPool.check_connection,
        }
        self._pool: ConnectionPool[Any] = ConnectionPool(
            url, min_size=1, max_size=pool_size, name="recbot", **common
        )
        self._lock_pool: ConnectionPool[Any] = ConnectionPool(
            url, min_size=0, max_size=pool_size, name="recbot-locks", **common
        )
        self._session_locks = LocalSessionLocks()
        try:
            self._pool.open(wait=True, timeout=timeout_s)
            self._lock_pool.open()
        except PoolTimeout as exc:
            self.close()
            raise StoreError(f"cannot connect to PostgreSQL at {self._where}: {exc}") from exc
        self.migrate()

    def describe(self) -> str:
        return f"postgresql://{self._where}"

    def close(self) -> None:
        self._pool.close()
        self._lock_pool.close()

    # --- what SqlStore needs ----------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[_Tx]:
        with self._pool.connection() as conn, conn.transaction():
            yield _Tx(conn)

    def _read(self, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        def read() -> list[dict[str, Any]]:
            with self._pool.connection() as conn:
                return list(conn.execute(postgres_sql(sql), params).fetchall())

        return self._retry(read)

    def _retry(self, fn: Callable[[], T]) -> T:
        """Run ``fn``; again after a pool timeout, serialization failure or deadlock (all rolled back).

        A broken connection mid-transaction is not retried: whether its COMMIT happened is unknown,
        and the caller (the API: 503) decides. Every driver error becomes :class:`StoreError`.
        """
        delay = 0.05
        for attempt in range(RETRIES):
            try:
                return fn()
            except RETRYABLE as exc:
                if attempt == RETRIES - 1:
                    raise StoreError(f"database {self.describe()}: {exc}") from exc
                time.sleep(delay)
                delay *= 2
            except psycopg.Error as exc:
                raise StoreError(f"database {self.describe()}: {exc}") from exc
        raise AssertionError("unreachable")

    def _ensure_migrations_table(self) -> None:
        def create() -> None:
            with self.transaction() as tx:
                self._lock_migrations(tx)
                tx.execute(
                    "CREATE TABLE IF NOT EXISTS migrations (version INTEGER PRIMARY KEY,"
                    " name TEXT NOT NULL, applied TEXT NOT NULL)"
                )

        self._retry(create)

    def _lock_migrations(self, tx: Any) -> None:
        tx.execute("SELECT pg_advisory_xact_lock(?, ?)", MIGRATION_LOCK)

    def dialect_sql(self, sql: str) -> str:
        """A migration's SQLite column types in PostgreSQL's words (identity keys, 64-bit ints, doubles)."""
        sql = re.sub(
            r"\bINTEGER PRIMARY KEY AUTOINCREMENT\b",
            "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
            sql,
        )
        sql = re.sub(r"\bINTEGER\b", "BIGINT", sql)
        return re.sub(r"\bREAL\b", "DOUBLE PRECISION", sql)

    # --- health and locks -------------------------------------------------------------------
    def ping(self, timeout_s: float = 1.0) -> int:
        """A fresh connection reads the schema version (a pooled one could hide a server that is down)."""
        options = f"{CONNECTION_OPTIONS} -c statement_timeout={int(timeout_s * 1000)}"
        try:
            with psycopg.connect(
                self.url, connect_timeout=max(1, round(timeout_s)), autocommit=True, options=options
            ) as conn:
                row = conn.execute("SELECT MAX(version) FROM migrations").fetchone()
        except psycopg.Error as exc:
            raise StoreError(f"database {self.describe()} is not usable: {exc}") from exc
        return int(row[0] or 0) if row else 0

    @contextmanager
    def session_lock(self, session_id: str) -> Iterator[None]:
        """Hold the session against every thread of every process using this database."""
        with self._session_locks.get(session_id):
            try:
                conn = self._lock_pool.getconn()
            except PoolTimeout as exc:
                raise StoreError(f"cannot lock the session on {self.describe()}: {exc}") from exc
            try:
                with conn.transaction():
                    conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (session_id,))
                    yield
            finally:
                self._lock_pool.putconn(conn)  # a broken connection is discarded, not reused
