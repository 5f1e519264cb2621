"""How long does "Show in English" take? Six real quotes of the bundled corpus, translated.

Two Spanish, two French and two Portuguese sentences of `corpus/` are translated into
English by the configured model (Settings() default: the 1.5B Qwen coder) through the
product's own path (`Assistant.translate`: prompt, model, name/number warnings, cache),
from an empty cache and, as in the chat, with the model's cache holding something else (an
answer ran before), so each translation reads its whole prompt. Printed per quote: prompt
and completion tokens, seconds, llama.cpp's own prompt/decode rates for that call and the
translation with its warnings; then the medians, the time of the cached second call, and
the raw llama.cpp rates measured in the same run (eval/ragkit/rates.py). The goal: a
translated quote shows within the time of one short generation (the rates' fixed prompt
of about 300 tokens and 48 tokens written).

    python eval/bench_translate.py [--out eval/reports/translate/bench.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rag.answer import Assistant
from rag.config import PROJECT_ROOT, Settings
from ragkit.rates import raw_rates

QUOTES: list[tuple[str, str]] = [
    (
        "003_7fbe2564b3846f7f.txt",
        "Mark Zuckerberg, CEO de Meta, ha declarado su disposición a hacer de código abierto "
        "un modelo de IA valorado en $10 mil millones si cumple con ciertos criterios.",
    ),
    (
        "004_ecf98a8ca6297839.txt",
        "Al compartir libremente el código que impulsó su tecnología AI, llamado LLAMAMeta "
        "esperaba acelerar el desarrollo de su tecnología y atraer a otros a construir encima.",
    ),
    (
        "001_fb4bc891a711a523.txt",
        "Le laboratoire a également recruté une douzaine de chercheurs, dont beaucoup se sont "
        "vu offrir des salaires très élevés, conformément à l'ambition de Zuckerberg de faire "
        "de Meta un leader de l'IA.",
    ),
    (
        "001_fb4bc891a711a523.txt",
        "Mais à long terme, le destin de Meta repose sur Llama 5 et au-delà.",
    ),
    (
        "002_e09d9c4875df88f1.txt",
        "O CEO da Meta, Mark Zuckerberg, ainda teria que ser assinado no caso de mudanças, e "
        "um porta -voz da empresa disse ao TechCrunch que a posição da meta na IA de código "
        "aberto é “inalterado”.",
    ),
    (
        "002_e09d9c4875df88f1.txt",
        "Isso inclui o pagamento de bônus de assinatura maciça e nove dígitos de salários aos "
        "principais pesquisadores, para expandir novos data centers e cobrir os enormes custos "
        "para o desenvolvimento de inteligência geral artificial (AGI) ou “super inteligência”.",
    ),
]
"""(article, sentence): each sentence is in its article word for word (checked at start)."""

LANGUAGES = {"003": "es", "004": "es", "001": "fr", "002": "pt"}


def next_answer_cost(generator: Any) -> dict[str, Any]:
    """New prompt tokens (and llama.cpp's seconds reading them) of an answer's prompt read
    right after another answer's (the system prompt cached) and right after a translation."""
    from rag import prompts
    from rag.generate import GenerationStats
    from rag.schema import Passage
    from rag.translate import build_messages

    passages = [
        Passage(f"q{i}", s, s, LANGUAGES[s[:3]], q, 0, len(q), 0.0, 0.0)
        for i, (s, q) in enumerate(QUOTES[:3])
    ]

    def read(messages: list[dict[str, str]]) -> tuple[int, float]:
        generator.reset_counters()
        stats = GenerationStats()
        for _piece in generator.stream(messages, 1, stats):
            pass
        return stats.new_prompt_tokens, generator.native_counters()["prompt_ms"] / 1000

    generator.reset_counters(forget_cache=True)
    read(prompts.build_messages("Why did Meta open-source Llama?", "en", passages))
    after_answer = read(prompts.build_messages("Who leads Meta?", "en", passages))
    read(build_messages(QUOTES[0][1], "en"))
    after_translation = read(prompts.build_messages("What did Meta hope?", "en", passages))
    return {
        "after_answer_tokens": after_answer[0],
        "after_answer_s": round(after_answer[1], 2),
        "after_translation_tokens": after_translation[0],
        "after_translation_s": round(after_translation[1], 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out", default=str(PROJECT_ROOT / "eval/reports/translate/bench.json"))
    parser.add_argument(
        "--next-answer",
        action="store_true",
        help="also measure what a translation costs the next answer (its system prompt is "
        "read again): about 1,500 prompt tokens more",
    )
    args = parser.parse_args(argv)
    for source, quote in QUOTES:
        text = (PROJECT_ROOT / "corpus" / source).read_text(encoding="utf-8")
        assert quote in " ".join(text.split()), f"not in {source}: {quote[:40]}…"

    with tempfile.TemporaryDirectory(prefix="bench-translate-") as tmp:
        settings = Settings(index_dir=Path(tmp) / "index")  # an empty translation cache
        assistant = Assistant(settings)
        started = time.perf_counter()
        generator: Any = assistant.generator
        assistant.checker  # noqa: B018 - the embedder the warnings use, loaded beforehand
        print(
            f"model {generator.model_id} and embedder loaded "
            f"in {time.perf_counter() - started:.1f} s"
        )
        rates = raw_rates(generator)
        print(f"raw llama.cpp rates: {rates}", flush=True)
        rows: list[dict[str, Any]] = []
        cached: list[float] = []
        for source, quote in QUOTES:
            generator.reset_counters(forget_cache=True)  # the model last read something else
            t0 = time.perf_counter()
            made = assistant.translate(quote, "en", LANGUAGES[source[:3]])
            seconds = time.perf_counter() - t0
            native = generator.native_counters()
            t1 = time.perf_counter()
            again = assistant.translate(quote, "en", LANGUAGES[source[:3]])
            cached.append(time.perf_counter() - t1)
            assert again.cached
            row = {
                "source": source,
                "language": made.source_language,
                "prompt_tokens": made.prompt_tokens,
                "completion_tokens": made.completion_tokens,
                "seconds": round(seconds, 2),
                "generate_s": made.seconds,
                "prompt_tok_s": round(native["prompt_tokens"] / (native["prompt_ms"] / 1000), 1),
                "decode_tok_s": round(native["decode_tokens"] / (native["decode_ms"] / 1000), 1),
                "original": quote,
                "translation": made.text,
                "warnings": list(made.warnings),
            }
            rows.append(row)
            print(
                f"\n{source} ({made.source_language}): {row['prompt_tokens']} prompt + "
                f"{row['completion_tokens']} completion tokens, {row['seconds']} s "
                f"(llama.cpp {row['prompt_tok_s']} prompt / {row['decode_tok_s']} decode tok/s)"
                f"\n  {quote}\n  -> {made.text}"
                + "".join(f"\n  ⚠️ {w}" for w in made.warnings)
                + f"\n  cached second call: {cached[-1] * 1000:.1f} ms",
                flush=True,
            )
        after = next_answer_cost(generator) if args.next_answer else None
        if after:
            print(
                f"\nthe next answer after a translation reads "
                f"{after['after_translation_tokens']} new prompt tokens "
                f"({after['after_translation_s']} s), against {after['after_answer_tokens']} "
                f"({after['after_answer_s']} s) after another answer: the translation's prompt "
                "took the answer's system prompt out of llama.cpp's cache"
            )
    assert rates is not None
    short = (
        rates["prompt_tokens"] / rates["prompt_tok_s"]
        + rates["decode_tokens"] / rates["decode_tok_s"]
    )
    summary = {
        "model": generator.model_id,
        "quotes": len(rows),
        "median_prompt_tokens": statistics.median(r["prompt_tokens"] for r in rows),
        "median_completion_tokens": statistics.median(r["completion_tokens"] for r in rows),
        "median_seconds": statistics.median(r["seconds"] for r in rows),
        "max_seconds": max(r["seconds"] for r in rows),
        "cached_median_ms": round(statistics.median(cached) * 1000, 2),
        "short_generation_s": round(short, 2),
        "raw_rates": rates,
        "with_warnings": sum(1 for r in rows if r["warnings"]),
        "next_answer": after,
    }
    print(
        f"\nmedian: {summary['median_prompt_tokens']} prompt + "
        f"{summary['median_completion_tokens']} completion tokens, "
        f"{summary['median_seconds']} s (max {summary['max_seconds']} s); cached second call: "
        f"median {summary['cached_median_ms']} ms, no model run\n"
        f"one short generation on this machine ({rates['prompt_tokens']:.0f} prompt + "
        f"{rates['decode_tokens']:.0f} decode tokens at the raw rates "
        f"{rates['prompt_tok_s']} / {rates['decode_tok_s']} tok/s): "
        f"{summary['short_generation_s']} s"
    )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps({"summary": summary, "quotes": rows}, ensure_ascii=False, indent=1) + "\n",
        encoding="utf-8",
    )
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
