"""llama.cpp's extra CPU buffer types (AMX and weight repacking): when to use them, and how.

On x86-64 llama.cpp may place weights in "extra" buffer types: ``AMX`` (Intel Advanced Matrix
Extensions, CPUs whose flags include ``amx_int8``) and ``CPU_REPACK`` (weights re-laid out for
AVX2/AVX-512 kernels). On CPUs with AMX the AMX path segfaults inside ``llama_decode`` for the
packaged models (ggml-org/llama.cpp issue 20824, "segfault in ggml_backend_amx_mul_mat"); without
the extra buffer types the same call works. ``llama_model_params.use_extra_bufts`` switches them
off.

llama-cpp-python 0.3.x does not expose that field: ``Llama(use_extra_bufts=False)`` lands in
``Llama.__init__``'s ``**kwargs`` and is silently ignored. :func:`model_params_override` therefore
sets it on the ``llama_model_params`` struct that ``Llama.__init__`` gets from
``llama_model_default_params()``, for the duration of one load; the loaded ``Llama`` keeps the
struct as ``.model_params``, so :func:`loaded_with_extra_buffers` reads back what llama.cpp got.

The setting ``llm_extra_buffers``: "off" never uses them, "on" always does, "auto" (default) is the
measured fast safe choice, which is off on every CPU (docs/benchmarks.md, "LLM extra buffer
types": without AMX the repacked weights made neither packaged model faster; with AMX they crash).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

ExtraBuffers = Literal["auto", "on", "off"]
CPUINFO = Path("/proc/cpuinfo")
AMX_FLAGS = ("amx_int8", "amx_tile", "amx_bf16")

_PATCH_LOCK = threading.Lock()


def cpu_flags(cpuinfo_text: str) -> set[str]:
    """The feature flags of the first CPU listed in ``/proc/cpuinfo`` text (x86: "flags", ARM: "Features")."""
    for line in cpuinfo_text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip().lower() in ("flags", "features"):
            return set(value.split())
    return set()


def read_cpuinfo(path: Path = CPUINFO) -> str:
    """The text of ``/proc/cpuinfo`` ("" where it does not exist, e.g. macOS)."""
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


def has_amx(cpuinfo_text: str) -> bool:
    """True when the CPU advertises Intel AMX (the flags llama.cpp's AMX backend uses)."""
    return bool(cpu_flags(cpuinfo_text) & set(AMX_FLAGS))


def use_extra_buffers(setting: ExtraBuffers, cpuinfo_text: str | None = None) -> bool:
    """Whether llama.cpp may use its extra buffer types under ``setting`` on this CPU.

    ``cpuinfo_text`` defaults to this machine's ``/proc/cpuinfo`` (tests pass fake text).
    """
    if setting == "on":
        return True
    if setting == "off":
        return False
    if setting != "auto":
        raise ValueError(f"llm_extra_buffers must be auto, on or off, not {setting!r}")
    # auto = off on every CPU: where the CPU has AMX they crash, and elsewhere they bought nothing
    # measurable for either packaged model (SmolLM2's Q4_1 weights are not repacked at all, Gemma's
    # repacked 13 MiB made it no faster; bench/results/extra_buffers.json).
    del cpuinfo_text
    return False


def crash_risk(setting: ExtraBuffers, cpuinfo_text: str) -> str | None:
    """Why llama.cpp is likely to segfault under ``setting`` on this CPU, or None."""
    if has_amx(cpuinfo_text) and use_extra_buffers(setting, cpuinfo_text):
        return (
            "this CPU has AMX and llm_extra_buffers=on: llama.cpp's AMX kernels segfault in "
            "llama_decode (ggml-org/llama.cpp issue 20824)"
        )
    return None


@contextmanager
def model_params_override(use_extra: bool) -> Iterator[None]:
    """Every ``Llama(...)`` created inside gets ``model_params.use_extra_bufts = use_extra``.

    ``Llama.__init__`` calls ``llama_cpp.llama_model_default_params()`` through the module, so
    wrapping that function for the duration of the load reaches the struct passed to
    ``llama_model_load_from_file``. A lock keeps two loads in two threads from interleaving.
    """
    import llama_cpp.llama_cpp as lib

    with _PATCH_LOCK:
        original = lib.llama_model_default_params

        def defaults() -> Any:
            params = original()
            params.use_extra_bufts = use_extra
            return params

        lib.llama_model_default_params = defaults
        try:
            yield
        finally:
            lib.llama_model_default_params = original


def loaded_with_extra_buffers(llama: Any) -> bool:
    """What the loaded ``llama_cpp.Llama`` really passed to llama.cpp."""
    return bool(llama.model_params.use_extra_bufts)
