"""The machine's raw llama.cpp speed, measured in the same run as the figures it scales.

A time in seconds says little without the speed of the machine it came from: these CPUs
differ by 3.5 times and more. So every eval run and benchmark measures llama.cpp's own
prompt and decode rates on the configured model (from an empty cache, a fixed prompt of a
few hundred tokens, a fixed number of tokens written) and records them beside its figures.
"""

from __future__ import annotations

import statistics
from typing import Any

RATE_PROMPT = "Summarise the following text in one sentence.\n\n" + " ".join(
    [
        "The company released the weights of its language model so that researchers and",
        "developers outside could study it, adapt it and build products on top of it.",
        "Critics said the release could help competitors; supporters answered that open",
        "models are audited faster and improve sooner, and that the company earns its",
        "money from advertising, not from selling software.",
    ]
    * 5
)
"""A fixed prompt (about 300 tokens for the default model), the same on every machine."""


def raw_rates(generator: Any, runs: int = 3, decode_tokens: int = 48) -> dict[str, Any] | None:
    """Median llama.cpp prompt and decode rates (tokens/s) over `runs` generations from an
    empty cache, read from llama.cpp's own counters; None for a model behind a server."""
    if not hasattr(generator, "native_counters"):
        return None
    from rag.generate import GenerationStats

    messages = [{"role": "user", "content": RATE_PROMPT}]
    prompt: list[float] = []
    decode: list[float] = []
    tokens: dict[str, float] = {}
    for _ in range(runs):
        generator.reset_counters(forget_cache=True)
        for _piece in generator.stream(messages, decode_tokens, GenerationStats()):
            pass
        native = generator.native_counters()
        prompt.append(native["prompt_tokens"] / max(native["prompt_ms"] / 1000, 1e-9))
        decode.append(native["decode_tokens"] / max(native["decode_ms"] / 1000, 1e-9))
        tokens = {k: native[k] for k in ("prompt_tokens", "decode_tokens")}
    generator.reset_counters(forget_cache=True)
    return {
        "model": generator.model_id,
        "prompt_tok_s": round(statistics.median(prompt), 1),
        "decode_tok_s": round(statistics.median(decode), 1),
        **tokens,
        "runs": runs,
    }
