"""Stream an answer's tokens from the language model: two implementations of `Generator`.

`LlamaCppGenerator` runs a local GGUF model through llama.cpp in this process. One `Llama`
instance is loaded per process and reused; a lock serialises generations, because two at
once on two cores slow both down. llama.cpp keeps the evaluated tokens of the previous call,
so the fixed system prompt is not evaluated again for each question.

`OpenAIGenerator` asks any OpenAI-compatible chat-completions server (vLLM, llama.cpp's
server, Ollama, a hosted API) and reads its Server-Sent Events. What the pipeline does
with the text (citation check, refusal) does not depend on which one wrote it.
"""

from __future__ import annotations

import json
import math
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import httpx
    from llama_cpp import Llama


@dataclass
class GenerationStats:
    """Counters of one generation, filled in while it streams."""

    prompt_tokens: int = 0
    """Tokens of the whole prompt."""
    new_prompt_tokens: int = 0
    """Tokens of the prompt the model really read: those after the prefix it had cached
    (the system prompt); what the time to first token depends on."""
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
        prompt_lookup: int = 0,
    ) -> None:
        """`prompt_lookup` > 0 turns on prompt-lookup speculative decoding with that many
        draft tokens per step (text at temperature 0 stays the same; only speed changes)."""
        if not path.exists():
            raise FileNotFoundError(
                f"model file not found at {path}; run `rag setup` to fetch it "
                "(`rag setup --with llm-small` for the small model)"
            )
        from llama_cpp import Llama
        from llama_cpp.llama_speculative import LlamaPromptLookupDecoding

        threads = threads or os.cpu_count() or 1
        draft = LlamaPromptLookupDecoding(num_pred_tokens=prompt_lookup) if prompt_lookup else None
        self._llm: Llama = Llama(
            model_path=str(path),
            n_ctx=context,
            n_threads=threads,
            n_threads_batch=threads,
            n_batch=512,
            seed=seed,
            draft_model=draft,
            # llama-cpp-python 0.3.36 keeps every position's logits once it drafts, but sizes
            # that buffer from this flag: without it, a long answer overruns it and crashes.
            # The cost: n_ctx x vocabulary floats (2.5 GB for the default model at 4096).
            logits_all=draft is not None,
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
        from llama_cpp import llama_cpp

        with self._lock:
            before = llama_cpp.llama_perf_context(self._llm.ctx).n_p_eval
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
                read = llama_cpp.llama_perf_context(self._llm.ctx).n_p_eval - before
                stats.new_prompt_tokens = int(read)

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


BYTES_PER_TOKEN_FLOOR = 2.0
"""For a server that cannot count tokens: assume a token is at least this many UTF-8 bytes.

Measured on the bundled articles (800-character slices, en/es/fr/pt): 2.7 bytes per token
at the least for SmolLM2's small vocabulary, 3.4 for Qwen2.5 (medians 3.1 and 4.2). Two
over-counts every one of them, so a prompt judged to fit does fit."""

# The token-counting endpoints of the common servers: (path from the server root, request
# body, how to read the count). The first that answers is used from then on.
_TOKENIZERS: tuple[tuple[str, Callable[[str, str], dict[str, Any]], Callable[[Any], int]], ...] = (
    # llama-cpp-python's server
    ("extras/tokenize/count", lambda text, model: {"input": text}, lambda j: int(j["count"])),
    # vLLM
    (
        "tokenize",
        lambda text, model: {"model": model, "prompt": text, "add_special_tokens": False},
        lambda j: int(j["count"]),
    ),
    # llama.cpp's own server
    ("tokenize", lambda text, model: {"content": text}, lambda j: len(j["tokens"])),
)


class ModelServerError(RuntimeError):
    """The model server could not be reached, or refused the request."""


class OpenAIGenerator:
    """A chat model behind an OpenAI-compatible HTTP API, streamed over Server-Sent Events.

    Tokens are counted by the server's tokenize endpoint when it has one (llama-cpp-python,
    vLLM, llama.cpp's server), else estimated from the text's size on the safe side, so the
    prompt fitting never overfills the context. The context size is a setting: the API does
    not tell it.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        context: int = 4096,
        temperature: float = 0.0,
        seed: int = 7,
        timeout: float = 120.0,
        parallel: int = 1,
    ) -> None:
        import httpx

        self.base_url = base_url.rstrip("/")
        self.model_id = model
        self.temperature = temperature
        self.seed = seed
        self._context = context
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http: httpx.Client = httpx.Client(
            headers=headers, timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0))
        )
        self._slots = threading.BoundedSemaphore(parallel)
        self._tokenizer: int | None = None  # index into _TOKENIZERS; -1: estimate
        self._counts: dict[str, int] = {}

    @property
    def context_size(self) -> int:
        return self._context

    @property
    def token_counter(self) -> str:
        """How tokens are counted: the server endpoint found, or `estimate` (or `unknown` yet)."""
        if self._tokenizer is None:
            return "unknown"
        return "estimate" if self._tokenizer < 0 else _TOKENIZERS[self._tokenizer][0]

    def count_tokens(self, text: str) -> int:
        if text not in self._counts:
            if len(self._counts) > 256:
                self._counts.clear()
            self._counts[text] = self._count(text)
        return self._counts[text]

    def _count(self, text: str) -> int:
        estimate = math.ceil(len(text.encode("utf-8")) / BYTES_PER_TOKEN_FLOOR)
        if self._tokenizer is not None and self._tokenizer < 0:
            return estimate
        root = self.base_url.removesuffix("/v1")
        candidates = range(len(_TOKENIZERS)) if self._tokenizer is None else [self._tokenizer]
        for i in candidates:
            path, body, read = _TOKENIZERS[i]
            try:
                r = self._http.post(f"{root}/{path}", json=body(text, self.model_id))
                count = read(r.json()) if r.status_code == 200 else None
            except Exception as e:  # unreachable is an error; anything else means no endpoint
                if _unreachable(e):
                    raise ModelServerError(f"cannot reach the model server at {root}: {e}") from e
                count = None
            if count is not None:
                self._tokenizer = i
                return count
        self._tokenizer = -1
        return estimate

    def stream(
        self, messages: list[dict[str, str]], max_tokens: int, stats: GenerationStats | None = None
    ) -> Iterator[str]:
        """Yield the answer piece by piece as the server sends it."""
        request = {
            "model": self.model_id,
            "messages": messages,
            "max_tokens": max_tokens,
            "temperature": self.temperature,
            "seed": self.seed,
            "stream": True,
        }
        url = f"{self.base_url}/chat/completions"
        with self._slots:
            n = 0
            usage: dict[str, Any] = {}
            try:
                with self._http.stream("POST", url, json=request) as response:
                    if response.status_code != 200:
                        response.read()
                        raise ModelServerError(
                            f"the model server at {self.base_url} answered "
                            f"{response.status_code}: {_error_text(response)}"
                        )
                    for data in _sse_data(response.iter_lines()):
                        if data == "[DONE]":
                            break
                        chunk = json.loads(data)
                        if "error" in chunk:
                            raise ModelServerError(f"the model server failed: {chunk['error']}")
                        usage = chunk.get("usage") or usage
                        for choice in chunk.get("choices") or []:
                            delta = (choice.get("delta") or {}).get("content")
                            if delta:
                                n += 1
                                yield delta
            except ModelServerError:
                raise
            except Exception as e:
                if _unreachable(e):
                    raise ModelServerError(
                        f"cannot reach the model server at {self.base_url}: {e}"
                    ) from e
                raise
        if stats is not None:
            stats.completion_tokens = int(usage.get("completion_tokens", n))
            stats.prompt_tokens = int(
                usage.get("prompt_tokens") or sum(self.count_tokens(m["content"]) for m in messages)
            )
            cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0
            stats.new_prompt_tokens = stats.prompt_tokens - int(cached)

    def close(self) -> None:
        self._http.close()


def _sse_data(lines: Iterator[str]) -> Iterator[str]:
    """The `data` of each Server-Sent Event (multi-line data joined; comments skipped)."""
    buffer: list[str] = []
    for line in lines:
        if not line:
            if buffer:
                yield "\n".join(buffer)
                buffer = []
        elif line.startswith("data:"):
            buffer.append(line[5:].removeprefix(" "))
    if buffer:
        yield "\n".join(buffer)


def _error_text(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    error = body.get("error", body) if isinstance(body, dict) else body
    if isinstance(error, dict):
        error = error.get("message") or error.get("detail") or error
    return str(error)[:300]


def _unreachable(e: Exception) -> bool:
    import httpx

    return isinstance(e, httpx.TransportError)
