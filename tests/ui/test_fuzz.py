"""Fuzz the JSON API from its own OpenAPI document: at least 2,000 generated requests, zero 5xx.

Schemathesis generates requests for every operation of ``/api/v1/openapi.json``, both valid
("positive") and schema-violating ("negative") ones, and sends them to the real app and agent
(template LLM) in process. Half of the requests that take a session id get a real session (one
that has shown items), so generated messages and feedback reach the agent instead of stopping
at the 404 for an unknown session.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from bot.settings import Settings
from ui.app import create_app

pytestmark = pytest.mark.slow

EXAMPLES_PER_OPERATION_AND_MODE = 220  # 5 operations with inputs x 2 modes x 220 > 2,000
MIN_REQUESTS = 2000


@pytest.fixture(scope="module")
def app(built_settings: Settings, real_runtime: Any) -> Any:
    real_runtime.agent  # noqa: B018 - loaded before the first generated request
    # Rate limits off: a fuzzer is one very busy client, and a 429 would hide what comes after it.
    app_settings = built_settings.model_copy(
        update={"rate_limit_per_session_per_minute": 0, "rate_limit_per_key_per_minute": 0}
    )
    return create_app(app_settings, real_runtime, with_gradio=False)


@pytest.fixture(scope="module")
def real_sessions(app: Any) -> Iterator[list[str]]:
    with TestClient(app) as client:
        sids = []
        for message in ("I loved Toy Story", "a dark thriller from the 90s", "hi"):
            sid = client.post("/api/v1/sessions", json={}).json()["session_id"]
            assert (
                client.post(f"/api/v1/sessions/{sid}/messages", json={"message": message}).status_code == 200
            )
            sids.append(sid)
        yield sids


def test_generated_requests_never_get_a_5xx(app: Any, real_sessions: list[str]) -> None:
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {(op.method.upper(), op.path) for op in operations} >= {
        ("POST", "/sessions"),
        ("GET", "/sessions/{session_id}"),
        ("POST", "/sessions/{session_id}/messages"),
        ("POST", "/sessions/{session_id}/feedback"),
        ("GET", "/items/{item_id}"),
        ("GET", "/health"),
    }

    statuses: Counter[int] = Counter()
    failures: list[str] = []
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(
                max_examples=EXAMPLES_PER_OPERATION_AND_MODE,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
                derandomize=True,
            )
            @given(case=operation.as_strategy(generation_mode=mode), real=st.integers(0, 5))
            def run(case: Any, real: int) -> None:
                params = case.path_parameters or {}
                if "session_id" in params and real < len(real_sessions):
                    params["session_id"] = real_sessions[real]
                response = case.call()
                statuses[response.status_code] += 1
                if response.status_code >= 500:
                    failures.append(
                        f"{response.status_code} {case.method} {case.formatted_path} "
                        f"body={case.body!r:.200} -> {response.text[:200]}"
                    )

            try:
                run()
            except Unsatisfiable:  # nothing to violate (GET /health has no inputs)
                assert mode == GenerationMode.NEGATIVE and operation.path == "/health"
    total = sum(statuses.values())
    print(f"fuzz: {total} generated requests, statuses {dict(sorted(statuses.items()))}")
    assert failures == [], failures[:5]
    assert total >= MIN_REQUESTS, statuses
    # The fuzzer reached the agent, not only the validation layer.
    assert statuses[200] > 100 and statuses[422] > 100, statuses
