"""The transformers backend: any local model folder, quantized to 4-bit nf4 with bitsandbytes.

CUDA when present, else CPU (bitsandbytes >= 0.45 has CPU 4-bit kernels; slower than llama.cpp,
about 12 tok/s for Gemma 270M on 2 cores). A ``.gguf`` file is accepted too: transformers
dequantizes it once (``from_pretrained(dir, gguf_file=name)``), the result is cached under
``settings.models_dir/hf/<name>`` and then loaded in nf4. No grammar; output is validated.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict

from bot.explain.llm.base import LLMError
from bot.explain.llm.formats import FEWSHOT_STOP, render_fewshot
from bot.explain.llm.models import model_path, packaged_model_path
from bot.settings import Settings

_ROLES = {"system": "system", "human": "user", "ai": "assistant"}


class TransformersChat(BaseChatModel):
    """A LangChain chat model over a transformers causal LM and its tokenizer."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    model: Any
    tokenizer: Any
    max_tokens: int = 64
    temperature: float = 0.0
    model_name: str = "transformers"

    @property
    def _llm_type(self) -> str:
        return "transformers-bnb"

    def _prompt(self, messages: list[BaseMessage]) -> tuple[str, str | None]:
        """The prompt text and the stop string (None when the chat template ends the turn)."""
        pairs = [(_ROLES.get(m.type, "user"), str(m.content)) for m in messages]
        if getattr(self.tokenizer, "chat_template", None):
            text = self.tokenizer.apply_chat_template(
                [{"role": r, "content": c} for r, c in pairs], tokenize=False, add_generation_prompt=True
            )
            return str(text), None
        return render_fewshot(pairs), FEWSHOT_STOP

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        import torch
        from transformers import TextIteratorStreamer

        prompt, stop_text = self._prompt(messages)
        stops = [s for s in [*(stop or []), stop_text] if s]
        inputs = self.tokenizer(prompt, return_tensors="pt").to(self.model.device)
        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
        temperature = float(kwargs.get("temperature", self.temperature))
        generate_kwargs = dict(
            **inputs,
            streamer=streamer,
            max_new_tokens=int(kwargs.get("max_tokens", self.max_tokens)),
            do_sample=temperature > 0,
            pad_token_id=self.tokenizer.eos_token_id,
        )
        if temperature > 0:
            generate_kwargs["temperature"] = temperature
        if stops:
            generate_kwargs["stop_strings"] = stops
            generate_kwargs["tokenizer"] = self.tokenizer
        errors: list[BaseException] = []

        def run() -> None:
            try:
                with torch.inference_mode():
                    self.model.generate(**generate_kwargs)
            except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
                errors.append(exc)
                streamer.end()

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        text = ""
        for piece in streamer:
            combined = text + piece
            cuts = [i for i in (combined.find(s, max(0, len(text) - len(s))) for s in stops) if i >= 0]
            if cuts:
                tail = combined[len(text) : min(cuts)]
                if tail:
                    yield ChatGenerationChunk(message=AIMessageChunk(content=tail))
                break
            text = combined
            if piece:
                yield ChatGenerationChunk(message=AIMessageChunk(content=piece))
        thread.join()
        if errors:
            raise LLMError(f"transformers generation failed: {errors[0]}", "failure", self._llm_type)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        text = "".join(str(c.message.content) for c in self._stream(messages, stop, run_manager, **kwargs))
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])


def hf_folder(path: Path, settings: Settings) -> Path:
    """A transformers folder for ``path``: itself, or the cached dequantized copy of a GGUF file."""
    if path.is_dir():
        return path
    if path.suffix != ".gguf":
        raise LLMError(f"{path}: expected a model folder or a .gguf file", "load", "transformers")
    target = settings.models_dir / "hf" / path.stem
    if (target / "config.json").is_file():
        return target
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
        model = AutoModelForCausalLM.from_pretrained(path.parent, gguf_file=path.name, dtype=torch.float32)
    except (OSError, ValueError, RuntimeError) as exc:
        raise LLMError(f"transformers could not read {path}: {exc}", "load", "transformers") from exc
    # The weights are plain float32 now; transformers still marks the model as "gguf-quantized" and
    # refuses to save it, so drop that marker first.
    model.hf_quantizer = None  # type: ignore[assignment]
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    target.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(target)
    tokenizer.save_pretrained(target)
    return target


def load_transformers(settings: Settings) -> TransformersChat:
    """Load ``settings.llm_model_path`` (default: the packaged Gemma GGUF) in bitsandbytes nf4."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, BitsAndBytesConfig

    # Default here is the packaged Gemma GGUF: the dequantize-then-nf4 path tested on this machine.
    if settings.llm_model_path is not None:
        source = model_path(settings)
    else:
        source = packaged_model_path("gemma", settings)
    folder = hf_folder(source, settings)
    cuda = torch.cuda.is_available()
    config = BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_compute_dtype=torch.bfloat16 if cuda else torch.float32,
    )
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder)
        model = AutoModelForCausalLM.from_pretrained(
            folder, quantization_config=config, device_map="cuda" if cuda else "cpu"
        )
    except (OSError, ValueError, RuntimeError, ImportError) as exc:
        raise LLMError(
            f"could not load {folder} in 4-bit nf4 with bitsandbytes: {exc}", "load", "transformers"
        ) from exc
    torch.set_num_threads(settings.llm_threads)
    return TransformersChat(
        model=model,
        tokenizer=tokenizer,
        max_tokens=settings.llm_max_tokens,
        temperature=settings.llm_temperature,
        model_name=folder.name,
    )
