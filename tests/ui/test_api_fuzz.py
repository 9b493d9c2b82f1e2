"""Property-based: no request the OpenAPI document allows (or nearly allows) makes the API answer 5xx."""

from __future__ import annotations

import tempfile
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings

from bot.settings import Settings
from tests.ui.fakes import FakeRuntime
from ui.api import build_api

API = build_api(
    Settings(home=Path(tempfile.mkdtemp(prefix="recbot-fuzz-")), llm_backend="template"), FakeRuntime()
)
schema = schemathesis.openapi.from_asgi("/openapi.json", API)


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors(case: schemathesis.Case) -> None:
    response = case.call()
    assert response.status_code < 500, (
        f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text}"
    )
