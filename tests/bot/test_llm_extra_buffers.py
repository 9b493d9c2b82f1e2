"""llama.cpp's extra (AMX / repack) buffer types: the setting, the CPU detection, and that it really
reaches ``llama_model_params``; and the packaged models generating in a fresh process.

This project's CI CPU may lack AMX, where the crash cannot happen; the fake cpuinfo texts below are
an Intel Xeon with AMX (as users have) and an AMD EPYC without it.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bot.explain.llm.diagnose import llm_problem
from bot.explain.llm.extra_buffers import (
    cpu_flags,
    crash_risk,
    has_amx,
    loaded_with_extra_buffers,
    model_params_override,
    use_extra_buffers,
)
from bot.explain.llm.models import packaged_model_path
from bot.settings import Settings

REPO = Path(__file__).resolve().parents[2]
XEON_AMX = textwrap.dedent(
    """\
    processor\t: 0
    vendor_id\t: GenuineIntel
    model name\t: Intel(R) Xeon(R) Platinum 8480+
    flags\t\t: fpu vme sse sse2 avx avx2 avx512f avx512_vnni avx512_bf16 amx_bf16 amx_tile amx_int8
    """
)
EPYC = textwrap.dedent(
    """\
    processor\t: 0
    vendor_id\t: AuthenticAMD
    model name\t: AMD EPYC 9B14
    flags\t\t: fpu vme sse sse2 avx avx2 avx512f avx512_vnni avx512_bf16
    """
)


def test_cpu_flags_and_amx_detection() -> None:
    assert {"amx_int8", "amx_tile", "avx512_vnni"} <= cpu_flags(XEON_AMX)
    assert has_amx(XEON_AMX)
    assert not has_amx(EPYC)
    assert not has_amx("")  # no /proc/cpuinfo (macOS): no AMX


def test_the_setting_on_each_cpu() -> None:
    for cpu in (XEON_AMX, EPYC):
        assert use_extra_buffers("auto", cpu) is False  # measured: off is the fast safe choice
        assert use_extra_buffers("off", cpu) is False
        assert use_extra_buffers("on", cpu) is True
    with pytest.raises(ValueError):
        use_extra_buffers("sometimes", EPYC)  # type: ignore[arg-type]
    assert crash_risk("on", XEON_AMX) is not None
    assert crash_risk("auto", XEON_AMX) is None and crash_risk("on", EPYC) is None
    assert Settings(llm_backend="template").llm_extra_buffers == "auto"


def test_doctor_names_the_amx_cause_and_the_fix(settings: Settings) -> None:
    on = settings.model_copy(update={"llm_backend": "llamacpp", "llm_extra_buffers": "on"})
    ok = {"status": "ok", "detail": "llamacpp in worker pid 1"}
    problem = llm_problem(on, ok, XEON_AMX)
    assert problem is not None and "AMX" in problem[0] and "RECBOT_LLM_EXTRA_BUFFERS" in problem[1]
    assert llm_problem(on, ok, EPYC) is None
    auto = on.model_copy(update={"llm_extra_buffers": "auto"})
    assert llm_problem(auto, ok, XEON_AMX) is None
    dying = {
        "status": "degraded",
        "detail": "worker keeps dying (3 times in 300 s; last: worker died with SIGSEGV)",
    }
    problem = llm_problem(auto, dying, XEON_AMX)
    assert problem is not None and "crashing (this CPU has AMX)" in problem[0]
    assert "RECBOT_LLM_EXTRA_BUFFERS=off" in problem[1]


def test_the_override_reaches_llama_model_params(settings: Settings) -> None:
    """``Llama(use_extra_bufts=False)`` is swallowed by **kwargs in llama-cpp-python 0.3.x; the
    override sets the struct llama.cpp loads with (read back from the loaded model)."""
    from llama_cpp import Llama

    path = str(packaged_model_path("smollm2", settings))
    for wanted in (False, True):
        with model_params_override(wanted):
            llama = Llama(model_path=path, vocab_only=True, verbose=False)
        assert loaded_with_extra_buffers(llama) is wanted
        del llama
    plain = Llama(model_path=path, vocab_only=True, verbose=False)
    assert loaded_with_extra_buffers(plain) is True  # llama.cpp's default, restored after the override


@pytest.mark.slow
def test_load_llamacpp_applies_the_setting(settings: Settings) -> None:
    from bot.explain.llm.llamacpp import load_llamacpp

    base = settings.model_copy(
        update={
            "llm_backend": "llamacpp",
            "llm_isolation": False,
            "llm_model_path": packaged_model_path("smollm2", settings),
        }
    )
    for mode, expected in (("auto", False), ("off", False), ("on", True)):
        llm = load_llamacpp(base.model_copy(update={"llm_extra_buffers": mode}))
        assert loaded_with_extra_buffers(llm.client) is expected, mode
        del llm


GENERATE = """
import sys
from bot.explain.llm import load_llm
from bot.explain.llm.models import packaged_model_path
from bot.settings import Settings

settings = Settings(home=sys.argv[1], llm_backend="llamacpp", llm_isolation=False)
settings = settings.model_copy(update={"llm_model_path": packaged_model_path(sys.argv[2], settings)})
llm = load_llm(settings)
# the issue's bare call, on the Llama that recbot loaded with its settings
text = llm.client("The capital of France is", max_tokens=8)["choices"][0]["text"]
print("GENERATED", repr(text))
assert text.strip(), "no text"
"""


@pytest.mark.slow
@pytest.mark.parametrize("model", ["gemma", "smollm2"])
def test_packaged_model_generates_in_a_fresh_process(tmp_path: Path, model: str) -> None:
    """In-process llama.cpp with the default settings, in a fresh interpreter: exit 0 with text.

    On a CPU with AMX and the extra buffer types on, this process dies with SIGSEGV (rc -11).
    """
    done = subprocess.run(
        [sys.executable, "-c", GENERATE, str(tmp_path / "home"), model],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, (done.returncode, done.stderr[-3000:])
    assert "GENERATED" in done.stdout
