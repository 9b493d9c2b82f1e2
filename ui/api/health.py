"""Is the service up, and which components (dataset, CF, index, LLM, store) are ready."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from ui.api.deps import PoolDep, RuntimeDep
from ui.api.schemas import HealthOut

router = APIRouter(tags=["health"])


@router.get("/health", response_model=HealthOut)
async def health(runtime: RuntimeDep, pool: PoolDep) -> HealthOut:
    components = dict(await run_in_threadpool(runtime.health))
    degraded = any(_is_failed(v) for v in components.values())
    components["turn_pool"] = {
        "workers": pool.workers,
        "in_flight": pool.in_flight,
        "capacity": pool.capacity,
    }
    return HealthOut(status="degraded" if degraded else "ok", components=components)


def _is_failed(state: object) -> bool:
    """A component that is not fully working (the runtime reports {"status": "ok" | "degraded" | ...}).

    "off" is an optional part switched off or without its input (the dialogue model), not a fault."""
    text = str(state.get("status", "")) if isinstance(state, dict) else str(state)
    return text.lower() not in ("ok", "off")
