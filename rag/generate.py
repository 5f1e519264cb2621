"""Stream an answer's tokens from a local GGUF model through llama.cpp (in process).

One `Llama` instance is loaded per process and reused; a lock serialises generations,
because two at once on two cores slow both down. llama.cpp keeps the evaluated tokens of
the previous call, so the fixed system prompt is not evaluated again for each question.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from llama_cpp import Llama


@dataclass
class GenerationStats:
    """Counters of one generation, filled in while it streams."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    extra: dict[str, float] = field(default_factory=dict)


class Generator(Protocol):
    """What the pipeline needs from a language model."""

    model_id: str

    def stream(
        self, messages: list[dict[str, str]], max_tokens: int, stats: GenerationStats | None = None
    ) -> Iterator[str]: ...

    def count_tokens(self, text: str) -> int: ...

    @property
    def context_size(self) -> int: ...


class LlamaCppGenerator:
    """A chat GGUF model run by llama-cpp-python on the CPU."""

    def __init__(
        self,
        path: Path,
        context: int = 4096,
        threads: int = 0,
        temperature: float = 0.0,
        seed: int = 7,
    ) -> None:
        if not path.exists():
            raise FileNotFoundError(
                f"model file not found at {path}; run `rag setup` to fetch it "
                "(`rag setup --with llm-small` for the small model)"
            )
        from llama_cpp import Llama

        threads = threads or os.cpu_count() or 1
        self._llm: Llama = Llama(
            model_path=str(path),
            n_ctx=context,
            n_threads=threads,
            n_threads_batch=threads,
            n_batch=512,
            seed=seed,
            verbose=False,
        )
        self.model_id = path.name
        self.temperature = temperature
        self._lock = threading.Lock()

    @property
    def context_size(self) -> int:
        return int(self._llm.n_ctx())

    def count_tokens(self, text: str) -> int:
        return len(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def stream(
        self, messages: list[dict[str, str]], max_tokens: int, stats: GenerationStats | None = None
    ) -> Iterator[str]:
        """Yield the answer piece by piece as the model writes it."""
        with self._lock:
            chunks: Any = self._llm.create_chat_completion(
                messages=messages,  # type: ignore[arg-type]
                max_tokens=max_tokens,
                temperature=self.temperature,
                top_k=1 if self.temperature == 0 else 40,
                repeat_penalty=1.05,
                stream=True,
            )
            n = 0
            for chunk in chunks:
                delta = chunk["choices"][0]["delta"].get("content")
                if delta:
                    n += 1
                    yield delta
            if stats is not None:
                stats.completion_tokens = n
                stats.prompt_tokens = int(self._llm.n_tokens) - n

    def native_counters(self) -> dict[str, float]:
        """llama.cpp's own timing counters since the last `reset_counters()` (for benchmarks)."""
        from llama_cpp import llama_cpp

        data = llama_cpp.llama_perf_context(self._llm.ctx)
        return {
            "prompt_ms": float(data.t_p_eval_ms),
            "prompt_tokens": float(data.n_p_eval),
            "decode_ms": float(data.t_eval_ms),
            "decode_tokens": float(data.n_eval),
        }

    def reset_counters(self, forget_cache: bool = False) -> None:
        """Zero llama.cpp's counters; optionally drop the cached prompt state too."""
        from llama_cpp import llama_cpp

        if forget_cache:
            self._llm.reset()  # type: ignore[no-untyped-call]
        llama_cpp.llama_perf_context_reset(self._llm.ctx)
