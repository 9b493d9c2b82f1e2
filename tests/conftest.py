"""Shared fixtures: every test writes under a temp RECBOT home and reads the shared MovieLens copy."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.settings import Settings
from tests.pg_cluster import PostgresCluster, pg_bindir

REPO = Path(__file__).resolve().parents[1]
# Tests and CI read ../shared/data beside the checkout; RECBOT_TEST_SHARED overrides it.
SHARED_DATA = Path(os.environ.get("RECBOT_TEST_SHARED", REPO.parent / "shared" / "data"))
MOVIELENS_DIR = SHARED_DATA / "ml-latest-small"
REDIAL_DIR = SHARED_DATA / "redial"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-screenshots",
        action="store_true",
        help="browser tests write their screenshots to docs/img instead of a temporary folder",
    )


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test sees the developer's RECBOT_* variables, and none reaches a hub."""
    for key in list(os.environ):
        if key.startswith("RECBOT_") and key != "RECBOT_TEST_SHARED":
            monkeypatch.delenv(key, raising=False)
    # Building the dialogue model takes ~30 s per fresh home: tests that need it turn it on
    # (tests/bot/test_dialogue_serving.py); everything else serves without one, as with no corpus.
    monkeypatch.setenv("RECBOT_DIALOGUE_MODEL", "false")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    monkeypatch.setenv("GRADIO_ANALYTICS_ENABLED", "False")
    monkeypatch.setenv("ANONYMIZED_TELEMETRY", "False")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings with a fresh home under tmp_path and the shared MovieLens data."""
    return Settings(home=tmp_path / "home", data_dir=MOVIELENS_DIR, llm_backend="template")


@pytest.fixture(scope="session")
def movielens_dir() -> Path:
    if not (MOVIELENS_DIR / "ratings.csv").is_file():
        pytest.fail(f"shared MovieLens data not found at {MOVIELENS_DIR}")
    return MOVIELENS_DIR


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """A private PostgreSQL cluster on a loopback port for the whole test session (tests/pg_cluster.py)."""
    bindir = pg_bindir()
    if bindir is None:
        message = "PostgreSQL is not installed (apt-get install postgresql; .ci/run does it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    cluster = PostgresCluster(bindir)
    cluster.start()
    yield cluster
    cluster.stop()


@pytest.fixture
def postgres_url(postgres_cluster: PostgresCluster) -> str:
    """The URL of a fresh, empty database in the session's cluster."""
    return postgres_cluster.create_database()
