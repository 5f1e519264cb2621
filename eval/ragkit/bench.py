"""Speed benchmarks: ingestion, retrieval at scale, the model inside the app, chat feedback.

Every figure is measured several times and reported as median with min and max: these
machines are noisy. Nothing here is asserted by a test; `rag bench` prints the figures and
writes them to a Markdown and a JSON file.
"""

from __future__ import annotations

import json
import resource
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rag.config import Settings

Say = Callable[[str], None]


def stats(values: Sequence[float]) -> dict[str, float]:
    """Median, min, max, p95 and count of a list of measurements."""
    vs = sorted(values)
    p95 = vs[min(len(vs) - 1, round(0.95 * (len(vs) - 1)))]
    return {
        "median": statistics.median(vs),
        "min": vs[0],
        "max": vs[-1],
        "p95": p95,
        "n": float(len(vs)),
    }


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ---------------------------------------------------------------- ingestion


def bench_ingest(settings: Settings, runs: int, say: Say) -> dict[str, Any]:
    """Index the bundled corpus into fresh indexes: chunks/s end to end, peak memory."""
    from rag.answer import Assistant
    from rag.models import make_embedder

    started = time.perf_counter()
    embedder = make_embedder(settings)
    load_s = time.perf_counter() - started
    rates, seconds = [], []
    chunks = 0
    for i in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            assistant = Assistant(settings.with_(index_dir=Path(tmp)), embedder=embedder)
            report = assistant.ingest([settings.path(settings.corpus_dir)])
            chunks = report.chunks
            seconds.append(report.seconds)
            rates.append(report.chunks / report.seconds)
            say(f"  ingest run {i + 1}: {report.chunks} chunks in {report.seconds:.2f} s")
    return {
        "embedder_load_s": load_s,
        "chunks": chunks,
        "seconds": stats(seconds),
        "chunks_per_s": stats(rates),
        "peak_rss_mb": peak_rss_mb(),
        "embedder_precision": getattr(embedder, "precision", None),
    }


# ---------------------------------------------------------------- retrieval at scale


class RandomEmbedder:
    """Unit vectors at random: for measuring the store and the retriever, not the model."""

    model_id = "synthetic-random"

    def __init__(self, dimension: int, seed: int = 0) -> None:
        self.dimension = dimension
        self._rng = np.random.default_rng(seed)

    def unit(self, n: int) -> np.ndarray:
        v = self._rng.standard_normal((n, self.dimension)).astype(np.float32)
        unit: np.ndarray = v / np.linalg.norm(v, axis=1, keepdims=True)
        return unit

    def embed_query(self, text: str) -> np.ndarray:
        vector: np.ndarray = self.unit(1)[0]
        return vector

    def embed_documents(self, texts: Sequence[str], title: str = "none") -> np.ndarray:
        return self.unit(len(texts))

    def embed_sentences(self, texts: Sequence[str]) -> np.ndarray:
        return self.unit(len(texts))

    def tokenize(self, text: str) -> list[int]:
        return list(range(len(text.split())))


def _vocabulary(settings: Settings) -> list[str]:
    from rag.retrieve import tokenize

    words: set[str] = set()
    for f in sorted(settings.path(settings.corpus_dir).glob("*.txt")):
        words.update(tokenize(f.read_text(encoding="utf-8")))
    return sorted(words)


def bench_retrieval(
    settings: Settings, sizes: Sequence[int], queries: int, say: Say
) -> dict[str, Any]:
    """Retrieval latency on synthetic collections: random vectors, texts of corpus words.

    `dense` is the vector query alone, `bm25` the keyword search alone, `hybrid` the whole
    hybrid retrieval (both, fusion, reading the chosen chunks back, deduplication).
    """
    from rag.retrieve import Retriever
    from rag.schema import Article, Chunk
    from rag.store import Store

    vocab = _vocabulary(settings)
    rng = np.random.default_rng(1)
    out: dict[str, Any] = {}
    for size in sizes:
        embedder = RandomEmbedder(768)
        with tempfile.TemporaryDirectory() as tmp:
            store = Store(Path(tmp), "bench", embedder.model_id, embedder.dimension)
            started = time.perf_counter()
            per_article = 500
            for a in range(0, size, per_article):
                n = min(per_article, size - a)
                texts = [" ".join(rng.choice(vocab, 60)) for _ in range(n)]
                article = Article(f"synthetic-{a}.txt", "", "synthetic", "es", "", f"h{a}")
                chunks = [
                    Chunk(f"c{a + i}", article.source, t, 0, len(t)) for i, t in enumerate(texts)
                ]
                store.replace_article(article, chunks, embedder.embed_documents(texts))
            insert_s = time.perf_counter() - started
            retriever = Retriever(store, embedder, settings.with_(retrieval_mode="hybrid"))
            started = time.perf_counter()
            retriever.bm25()
            bm25_build_s = time.perf_counter() - started
            timings: dict[str, list[float]] = {"hybrid": [], "dense": [], "bm25": []}
            for _ in range(queries):
                question = " ".join(rng.choice(vocab, 8))
                t0 = time.perf_counter()
                store.query(embedder.embed_query(question), settings.candidates)
                t1 = time.perf_counter()
                retriever.bm25().search(question, settings.candidates)
                t2 = time.perf_counter()
                retriever.retrieve(question)
                t3 = time.perf_counter()
                timings["dense"].append((t1 - t0) * 1000)
                timings["bm25"].append((t2 - t1) * 1000)
                timings["hybrid"].append((t3 - t2) * 1000)
            out[str(size)] = {
                "insert_s": insert_s,
                "bm25_build_s": bm25_build_s,
                **{f"{k}_ms": stats(v) for k, v in timings.items()},
            }
            h = out[str(size)]["hybrid_ms"]
            say(
                f"  {size:>7,} chunks: hybrid p50 {h['median']:.1f} ms, p95 {h['p95']:.1f} ms "
                f"(insert {insert_s:.0f} s, BM25 build {bm25_build_s:.1f} s)"
            )
    return out


# ---------------------------------------------------------------- the model in the app


BENCH_QUESTION = "Why did Meta open-source Llama?"
OTHER_QUESTIONS = (
    "Who co-leads Meta Superintelligence Labs?",
    "What did Yann LeCun say about open-source models?",
    "Would Zuckerberg open-source a $10 billion model?",
    "Why is Meta talking to Google and OpenAI?",
    "What did Meta's spokesperson tell TechCrunch?",
    "How did DeepSeek use Meta's technology?",
)
"""Distinct questions for the warm runs: each brings new passages, so only the system
prompt is cached, as in a real chat (a repeated question would be cached whole)."""


def bench_llm(
    settings: Settings, runs: int, say: Say, build_demo: Callable[[Any], Any] | None = None
) -> dict[str, Any]:
    """TTFT and token rates of the model inside the app vs llama.cpp's own counters.

    Each run evaluates the same prompt from an empty cache (the worst case a new question
    meets), streams the answer through the app's generator, and reads llama.cpp's counters
    for the same call: the ratio shows what the app's own code costs.
    """
    from rag.answer import Assistant
    from rag.generate import GenerationStats, LlamaCppGenerator
    from rag.prompts import build_messages

    with tempfile.TemporaryDirectory() as tmp:
        assistant = Assistant(settings.with_(index_dir=Path(tmp)))
        assistant.ingest([settings.path(settings.corpus_dir)])
        passages = assistant.retriever.retrieve(BENCH_QUESTION)
        started = time.perf_counter()
        generator = assistant.generator
        load_s = time.perf_counter() - started
        assert isinstance(generator, LlamaCppGenerator)
        messages = build_messages(BENCH_QUESTION, "en", passages)
        rows = []
        for i in range(runs):
            generator.reset_counters(forget_cache=True)
            gen_stats = GenerationStats()
            t0 = time.perf_counter()
            first = None
            pieces = 0
            for _ in generator.stream(messages, settings.max_answer_tokens, gen_stats):
                pieces += 1
                if first is None:
                    first = time.perf_counter() - t0
            total = time.perf_counter() - t0
            native = generator.native_counters()
            ttft = first or total
            row = {
                "ttft_s": ttft,
                "total_s": total,
                "prompt_tokens": native["prompt_tokens"],
                "completion_tokens": float(gen_stats.completion_tokens),
                "app_prompt_tok_s": native["prompt_tokens"] / ttft,
                "app_decode_tok_s": max(pieces - 1, 1) / max(total - ttft, 1e-9),
                "native_prompt_tok_s": native["prompt_tokens"] / (native["prompt_ms"] / 1000),
                "native_decode_tok_s": native["decode_tokens"] / (native["decode_ms"] / 1000),
            }
            rows.append(row)
            say(
                f"  model run {i + 1}: TTFT {ttft:.2f} s, "
                f"{row['prompt_tokens']:.0f} prompt tokens, "
                f"decode {row['app_decode_tok_s']:.1f} tok/s "
                f"(llama.cpp {row['native_decode_tok_s']:.1f})"
            )
        warm = []
        for question in OTHER_QUESTIONS[:runs]:  # the chat's case: system prompt cached
            answer = assistant.ask(question)
            warm.append(answer.timings.get("ttft_s", 0.0))
        result: dict[str, Any] = {"model": generator.model_id, "load_s": load_s}
        for key in rows[0]:
            result[key] = stats([r[key] for r in rows])
        result["prompt_ratio_app_vs_native"] = (
            result["app_prompt_tok_s"]["median"] / result["native_prompt_tok_s"]["median"]
        )
        result["decode_ratio_app_vs_native"] = (
            result["app_decode_tok_s"]["median"] / result["native_decode_tok_s"]["median"]
        )
        result["answer_ttft_warm_s"] = stats(warm)
        if build_demo is not None:
            result["feedback"] = bench_feedback(assistant, build_demo, runs, say)
    return result


def bench_feedback(
    assistant: Any, build_demo: Callable[[Any], Any], runs: int, say: Say
) -> dict[str, Any]:
    """Time from submitting a question in the chat to the sources being on screen.

    The page is served for real and driven with gradio_client over HTTP; the first update
    the browser receives carries the sources.
    """
    from gradio_client import Client

    from ragkit.servers import free_port

    port = free_port()
    demo = build_demo(assistant)
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        firsts, totals, follow_firsts, follow_totals = [], [], [], []
        for i in range(runs):
            question = OTHER_QUESTIONS[-1 - i % len(OTHER_QUESTIONS)]
            first, total, history = _chat_turn(client, question, [])
            firsts.append(first)
            totals.append(total)
            first, total, _ = _chat_turn(client, FOLLOW_UP, history)
            follow_firsts.append(first)
            follow_totals.append(total)
            say(
                f"  chat run {i + 1}: sources after {firsts[-1]:.2f} s, answer after "
                f"{totals[-1]:.1f} s; follow-up: sources after {follow_firsts[-1]:.1f} s, "
                f"answer after {follow_totals[-1]:.1f} s"
            )
    finally:
        demo.close()
    return {
        "sources_shown_s": stats(firsts),
        "answer_done_s": stats(totals),
        "follow_up_sources_shown_s": stats(follow_firsts),
        "follow_up_answer_done_s": stats(follow_totals),
    }


FOLLOW_UP = "and why did they do that?"
"""A follow-up that needs the rewrite (a pronoun, a leading "and")."""


def _chat_turn(client: Any, question: str, history: Any) -> tuple[float, float, Any]:
    """One chat turn over HTTP: (seconds to sources on screen, seconds to answer, history)."""
    t0 = time.perf_counter()
    job = client.submit(question, history, api_name="/turn")
    first = None
    for update in job:
        if first is None and 'class="source"' in str(update[2]):
            first = time.perf_counter() - t0
    result = job.result()
    total = time.perf_counter() - t0
    return (first if first is not None else total), total, result[0]


# ---------------------------------------------------------------- the report


def run_all(
    settings: Settings, quick: bool, say: Say, build_demo: Callable[[Any], Any] | None = None
) -> dict[str, Any]:
    """All benchmarks; `quick` uses fewer runs and collections up to 10k chunks.

    `build_demo` (the chat page factory) enables the chat-feedback measurement.
    """
    runs = 2 if quick else 3
    sizes = (1_000, 10_000) if quick else (1_000, 10_000, 100_000)
    say("ingestion (bundled corpus, fresh index each run)")
    result: dict[str, Any] = {"ingest": bench_ingest(settings, runs, say)}
    say("retrieval on synthetic collections")
    result["retrieval"] = bench_retrieval(settings, sizes, 20 if quick else 50, say)
    say("default model inside the app vs llama.cpp's counters")
    result["llm"] = bench_llm(settings, runs, say, build_demo)
    result["peak_rss_mb"] = peak_rss_mb()
    return result


def _precision(p: dict[str, Any] | None) -> str:
    """The embedder's dtype and, when it was measured, the figures it was chosen by."""
    if not p:
        return "unknown"
    if "float32_passages_s" not in p:
        return f"{p['dtype']} (set in the settings)"
    return (
        f"**{p['dtype']}**, chosen by measurement ({p['chosen_by']}): float32 "
        f"{p['float32_passages_s']} passages/s, bfloat16 {p['bfloat16_passages_s']} passages/s "
        f"at cosine {p['bfloat16_min_cosine']} to float32 (kept only if >= 0.999); native "
        f"bf16 instructions: {'yes' if p['native_bf16'] else 'no'}"
    )


def _ms(s: dict[str, float]) -> str:
    return f"{s['median']:.1f} (p95 {s['p95']:.1f}, min {s['min']:.1f}, max {s['max']:.1f})"


def _s(s: dict[str, float]) -> str:
    return f"{s['median']:.2f} (min {s['min']:.2f}, max {s['max']:.2f})"


def to_markdown(result: dict[str, Any], command: str) -> str:
    """The figures as a Markdown page."""
    ing, llm = result["ingest"], result["llm"]
    lines = [
        "# Benchmarks",
        "",
        f"Produced by `{command}` on a 2-core CPU machine (medians; min/max over runs).",
        "",
        "## Ingestion (bundled corpus, end to end: read, clean, chunk, embed, store)",
        "",
        f"- {ing['chunks']} chunks in {_s(ing['seconds'])} s: "
        f"**{ing['chunks_per_s']['median']:.1f} chunks/s** "
        f"(min {ing['chunks_per_s']['min']:.1f}, max {ing['chunks_per_s']['max']:.1f})",
        f"- embedder load: {ing['embedder_load_s']:.1f} s; "
        f"peak memory after ingestion: {ing['peak_rss_mb']:.0f} MB",
        f"- embedder precision: {_precision(ing.get('embedder_precision'))}",
        "",
        "## Retrieval latency on synthetic collections (random unit vectors, ms)",
        "",
        "| chunks | hybrid p50 | hybrid p95 | dense p50 | BM25 p50 | insert s | BM25 build s |",
        "|---|---|---|---|---|---|---|",
    ]
    for size, r in result["retrieval"].items():
        lines.append(
            f"| {int(size):,} | {r['hybrid_ms']['median']:.1f} | {r['hybrid_ms']['p95']:.1f} | "
            f"{r['dense_ms']['median']:.1f} | {r['bm25_ms']['median']:.1f} | {r['insert_s']:.0f} | "
            f"{r['bm25_build_s']:.1f} |"
        )
    fb = llm.get("feedback")
    lines += [
        "",
        f"## The model inside the app ({llm['model']}, question: “{BENCH_QUESTION}”)",
        "",
        "From an empty cache (every prompt token evaluated):",
        "",
        "| figure | app | llama.cpp's own counters | app / llama.cpp |",
        "|---|---|---|---|",
        f"| prompt tokens/s | {llm['app_prompt_tok_s']['median']:.1f} | "
        f"{llm['native_prompt_tok_s']['median']:.1f} | "
        f"{llm['prompt_ratio_app_vs_native']:.3f} |",
        f"| decode tokens/s | {llm['app_decode_tok_s']['median']:.1f} | "
        f"{llm['native_decode_tok_s']['median']:.1f} | "
        f"{llm['decode_ratio_app_vs_native']:.3f} |",
        "",
        f"- prompt: {llm['prompt_tokens']['median']:.0f} tokens; "
        f"time to first token {_s(llm['ttft_s'])} s; "
        f"whole answer {_s(llm['total_s'])} s; model load {llm['load_s']:.1f} s",
        f"- time to first token of a full `Assistant.ask` of a new question (the system "
        f"prompt cached, the passages not): "
        f"{_s(llm['answer_ttft_warm_s'])} s",
        "",
    ]
    if fb:
        lines += [
            "## Chat feedback (Gradio page over HTTP, gradio_client)",
            "",
            f"- sources on screen after {_s(fb['sources_shown_s'])} s; "
            f"answer complete after {_s(fb['answer_done_s'])} s",
            f'- a follow-up ("{FOLLOW_UP}", rewritten first): sources after '
            f"{_s(fb['follow_up_sources_shown_s'])} s; answer complete after "
            f"{_s(fb['follow_up_answer_done_s'])} s",
            "",
        ]
    lines += [
        f"Peak memory of the benchmark process: {result['peak_rss_mb']:.0f} MB.",
        "",
    ]
    return "\n".join(lines)


def write(result: dict[str, Any], out: Path, command: str) -> Path:
    """Write `bench.md` and `bench.json` into `out`."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench.json").write_text(
        json.dumps({"command": command, **result}, indent=2) + "\n", encoding="utf-8"
    )
    page = out / "bench.md"
    page.write_text(to_markdown(result, command), encoding="utf-8")
    return page
