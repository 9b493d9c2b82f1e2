"""``Runtime.health()`` checks the parts that can die after loading, live, by breaking them for real.

* the database file is deleted or replaced by garbage while the store's connections stay open;
* the Chroma server (``chroma run`` on the prebuilt subset index) is stopped, then started again.

Before these checks, each part's status was fixed when it first loaded, so both showed "ok".
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from bot.runtime import Runtime
from bot.settings import Settings
from tests.bot.reliability_support import copy_of_small_home, small_settings
from tests.pg_cluster import PostgresCluster


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _db_files(path: Path) -> list[Path]:
    return [p for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists()]


@pytest.fixture
def store_runtime(settings: Settings) -> Iterator[Runtime]:
    runtime = Runtime(settings, build_missing=False)
    runtime.store.create_session("s1", None, None, "{}")  # opens this thread's connection
    yield runtime
    runtime.close()


def test_deleted_database_is_reported_live(store_runtime: Runtime) -> None:
    state = store_runtime.health(load=False)["store"]
    assert state["status"] == "ok" and state["kind"] == "sqlite" and state["detail"].startswith("sqlite "), (
        state
    )
    path = store_runtime.settings.db_path
    for file in _db_files(path):
        file.unlink()
    # the store's own open connection still answers (it holds the deleted inode) ...
    assert store_runtime.store.connection().execute("SELECT 1").fetchone()[0] == 1
    # ... but health opens the file afresh, as a restart would
    state = store_runtime.health(load=False)["store"]
    assert state["status"] == "missing" and str(path) in state["detail"], state
    assert not path.exists()  # the check never creates an empty database in its place


def test_garbage_database_is_reported_live(store_runtime: Runtime) -> None:
    path = store_runtime.settings.db_path
    for file in _db_files(path):
        file.unlink()
    path.write_bytes(b"this is not a database" * 100)
    state = store_runtime.health(load=False)["store"]
    assert state["status"] == "missing" and "not a database" in state["detail"], state


def test_database_restored_is_ok_again(store_runtime: Runtime, tmp_path: Path) -> None:
    path = store_runtime.settings.db_path
    store_runtime.store.connection().execute("PRAGMA wal_checkpoint(TRUNCATE)")
    backup = tmp_path / "backup.db"
    shutil.copy(path, backup)
    path.unlink()
    assert store_runtime.health(load=False)["store"]["status"] == "missing"
    shutil.copy(backup, path)
    state = store_runtime.health(load=False)["store"]
    assert state["status"] == "ok" and "schema v" in state["detail"], state


def test_postgres_store_health_names_its_kind_and_sees_the_server_go(
    settings: Settings, postgres_cluster: PostgresCluster
) -> None:
    """On PostgreSQL the store detail says so; a server that stops is "missing" at the next check."""
    own = PostgresCluster(postgres_cluster.bindir)  # its own cluster: this test stops it
    own.start()
    try:
        runtime = Runtime(
            settings.model_copy(update={"database_url": own.create_database()}), build_missing=False
        )
        runtime.store.create_session("s1", None, None, "{}")
        state = runtime.health(load=False)["store"]
        assert state["status"] == "ok" and state["kind"] == "postgresql", state
        assert state["detail"].startswith(f"postgresql postgresql://127.0.0.1:{own.port}/"), state
        own.stop_server("immediate")
        state = runtime.health(load=False)["store"]
        assert state["status"] == "missing" and state["kind"] == "postgresql", state
        runtime.close()
    finally:
        own.stop()


# --- Chroma ---------------------------------------------------------------------------------
def _start_chroma(path: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    cli = Path(sys.executable).with_name("chroma")
    found = str(cli) if cli.is_file() else shutil.which("chroma")
    if not found:
        pytest.fail("the `chroma` CLI (installed with chromadb) is missing from the environment")
    proc = subprocess.Popen(
        [found, "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log.open("a"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"chroma server did not start: {log.read_text()[-2000:]}")
        time.sleep(0.3)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.mark.slow
def test_chroma_server_dying_after_load_is_reported_live(tmp_path: Path) -> None:
    """The server serves the prebuilt subset index; stopping it flips index health, API included."""
    from ui.app import create_app

    home = copy_of_small_home(tmp_path / "home")
    port = _free_port()
    log = tmp_path / "chroma.log"
    proc = _start_chroma(home / "chroma", port, log)
    settings = small_settings(home, chroma_url=f"http://127.0.0.1:{port}")
    runtime = Runtime(settings, build_missing=False)
    try:
        before = runtime.health()
        assert before["index"]["status"] == "ok" and "items" in before["index"]["detail"], before
        client = TestClient(create_app(settings, runtime, with_gradio=False))
        assert client.get("/api/v1/health").json()["status"] == "ok"

        _stop(proc)
        after = runtime.health()
        assert after["index"]["status"] == "degraded", after
        assert settings.chroma_url in after["index"]["detail"]
        assert after["store"]["status"] == "ok" and after["cf"]["status"] == "ok"
        api = client.get("/api/v1/health").json()
        assert api["status"] == "degraded" and api["components"]["index"]["status"] == "degraded"

        proc = _start_chroma(home / "chroma", port, log)
        assert runtime.health()["index"]["status"] == "ok"  # back without a restart of recbot
    finally:
        _stop(proc)
        runtime.close()
