"""What `recbot doctor` says about the LLM: the likely cause of a crashing llama.cpp and its fix."""

from __future__ import annotations

from bot.explain.llm.extra_buffers import crash_risk, has_amx
from bot.settings import Settings

FIX_EXTRA_BUFFERS = "set RECBOT_LLM_EXTRA_BUFFERS=auto (or off) and restart"


def llm_problem(settings: Settings, health: dict[str, str], cpuinfo_text: str) -> tuple[str, str] | None:
    """``(what is wrong, what to do)`` for the LLM, or None when nothing is.

    ``health`` is the runtime's "llm" entry (for a worker: live, with its deaths); ``cpuinfo_text``
    is ``/proc/cpuinfo`` (tests pass fake text).
    """
    if settings.llm_backend != "llamacpp":
        return None
    risk = crash_risk(settings.llm_extra_buffers, cpuinfo_text)
    detail = health.get("detail", "")
    died = health.get("status") != "ok" and any(
        word in detail for word in ("died", "dying", "sent nothing", "did not load within")
    )
    if risk is not None:
        where = (
            "the worker crashes, turns get templates"
            if settings.llm_isolation
            else ("a crash kills the server")
        )
        return f"{risk} ({where})", FIX_EXTRA_BUFFERS
    if died:
        amx = " (this CPU has AMX)" if has_amx(cpuinfo_text) else ""
        return (
            f"the llama.cpp worker is crashing{amx}: {detail}",
            "a native crash in llama.cpp: try RECBOT_LLM_EXTRA_BUFFERS=off and RECBOT_LLM_THREADS=1, "
            "check `dmesg` for the OOM killer, or another GGUF (RECBOT_LLM_MODEL_PATH); "
            "RECBOT_LLM_BACKEND=template disables the LLM",
        )
    return None
