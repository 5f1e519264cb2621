"""Answer a file of questions and write one result per line (the eval contract).

Each output row is `rag.schema.result_row` of the answer:
`{"id", "question", "answer", "refused", "citations": [{"n", "source", "quote"}],
"retrieved": [{"source", "score"}], "timings": {"retrieve_s", "ttft_s", "total_s"}}`
where `source` is the article's file name. Other tools read this: keep it stable.

Beside it (`RESULTS.trace.jsonl`) goes what the metrics need beyond the contract: the
passage texts and offsets, the sentences with their support, the raw model output and
every timing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rag.answer import Assistant, QuestionError, prepare_question
from rag.schema import (
    TIMING_KEYS,
    Answer,
    Passage,
    passage_rows,
    result_row,
    retrieved_rows,
)


def read_questions(path: Path) -> list[dict[str, Any]]:
    """Rows of a JSONL file; each must have `id` and `question` (other fields are kept)."""
    rows: list[dict[str, Any]] = []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        if "id" not in row or "question" not in row:
            raise ValueError(f"{path}:{i}: every row needs `id` and `question`")
        rows.append(row)
    return rows


def read_results(path: Path) -> list[dict[str, Any]]:
    """Rows of a results (or trace) JSONL file."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def trace_row(qid: Any, answer: Answer) -> dict[str, Any]:
    """Everything about an answer that the contract leaves out (for metrics and debugging)."""
    return {
        "id": qid,
        "language": answer.language,
        "raw_text": answer.raw_text,
        "notices": list(answer.notices),
        "passages": passage_rows(answer.passages),
        "sentences": [
            {"text": s.text, "citations": list(s.citations), "supported": s.supported}
            for s in answer.sentences
        ],
        "citations": [
            {"n": c.n, "quote_start": c.quote_start, "quote_end": c.quote_end, "support": c.support}
            for c in answer.citations
        ],
        "timings": {k: round(float(v), 4) for k, v in answer.timings.items()},
    }


def trace_path(out: Path) -> Path:
    """Where the trace of a results file goes: `x.jsonl` -> `x.trace.jsonl`."""
    return out.with_name(out.stem + ".trace" + out.suffix)


def retrieval_rows(
    assistant: Assistant, qid: Any, question: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Contract and trace rows for retrieval alone (no model): for retriever ablations."""
    started = time.perf_counter()
    text, _ = prepare_question(question, assistant.settings.max_question_chars)
    passages = assistant.retriever.retrieve(text)
    elapsed = time.perf_counter() - started
    row = {
        "id": qid,
        "question": text,
        "answer": "",
        "refused": False,
        "citations": [],
        "retrieved": retrieved_rows(passages),
        "timings": {"retrieve_s": round(elapsed, 4), "ttft_s": 0.0, "total_s": round(elapsed, 4)},
    }
    trace = {
        "id": qid,
        "retrieval_only": True,
        "sentences": [],
        "passages": passage_rows(passages),
    }
    return row, trace


def run(
    assistant: Assistant,
    questions: list[dict[str, Any]],
    out: Path,
    progress: Callable[[str], None] | None = None,
    retrieval_only: bool = False,
) -> int:
    """Answer every question with one loaded assistant; write the rows as they come.

    With `retrieval_only`, only retrieve (no model, empty answers): the retrieval metrics
    of such a run are comparable with a full run's, the answer metrics are left out.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as f, trace_path(out).open("w", encoding="utf-8") as tf:
        for i, q in enumerate(questions, 1):
            try:
                if retrieval_only:
                    row, trace = retrieval_rows(assistant, q["id"], str(q["question"]))
                else:
                    answer = assistant.ask(str(q["question"]))
                    row, trace = result_row(q["id"], answer), trace_row(q["id"], answer)
                tf.write(json.dumps(trace, ensure_ascii=False) + "\n")
            except QuestionError as e:
                row = {
                    "id": q["id"],
                    "question": q["question"],
                    "answer": str(e),
                    "refused": True,
                    "citations": [],
                    "retrieved": [],
                    "timings": dict.fromkeys(TIMING_KEYS, 0.0),
                }
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
            f.flush()
            if progress:
                progress(
                    f"[{i}/{len(questions)}] {q['id']}: {row['answer'][:70]!r} "
                    f"({row['timings']['total_s']:.1f} s)"
                )
    return len(questions)


def replay(
    assistant: Assistant,
    questions: list[dict[str, Any]],
    recorded: Path,
    out: Path,
    progress: Callable[[str], None] | None = None,
) -> int:
    """Re-run only the citation stage on the raw answers of a recorded run.

    Retrieval and generation are deterministic at temperature 0, so an ablation of the
    citation check (or a new threshold) needs no new generation: the recorded passages
    and raw model output are checked again with the current settings. Takes seconds.
    The timings are the recorded run's, but for `check_s`: the time of the check done
    again here (so a replay measures the check's cost under the current settings).
    """
    from rag import prompts
    from rag.cite import Verified

    results = {str(r["id"]): r for r in read_results(recorded)}
    traces = {str(t["id"]): t for t in read_results(trace_path(recorded))}
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as f, trace_path(out).open("w", encoding="utf-8") as tf:
        for q in questions:
            qid = str(q["id"])
            recorded_row, trace = results.get(qid), traces.get(qid)
            if recorded_row is None:
                continue
            if trace is None:  # the question was rejected before anything ran
                f.write(json.dumps(recorded_row, ensure_ascii=False) + "\n")
                continue
            passages = tuple(
                Passage(
                    chunk_id=p.get("chunk_id", f"{p['source']}:{p['start']}"),
                    source=p["source"],
                    title=p.get("title", p["source"]),
                    language=p.get("language", ""),
                    text=p["text"],
                    start=p["start"],
                    end=p["end"],
                    score=p.get("score", 0.0),
                    similarity=p["similarity"],
                )
                for p in trace["passages"]
            )
            raw = trace.get("raw_text", "")
            question = str(recorded_row["question"])
            timings = dict(trace["timings"])
            if trace.get("timings", {}).get("prompt_tokens") or raw:
                started = time.perf_counter()
                evidence = assistant.recorded_evidence(question, passages)
                verified = assistant.verify(raw, question, trace["language"], evidence)
                # the one time of this run: the check, done again here (the rest is recorded)
                timings["check_s"] = time.perf_counter() - started
            else:  # refused before the model ran (the relevance gate)
                verified = Verified(True, prompts.refusal(trace["language"]), (), (), ())
            answer = Answer(
                question=recorded_row["question"],
                language=trace["language"],
                text=verified.text,
                refused=verified.refused,
                sentences=verified.sentences,
                citations=verified.citations,
                passages=passages,
                timings=timings,
                notices=tuple(trace.get("notices", [])),
                raw_text=raw,
            )
            row = result_row(q["id"], answer)
            row["retrieved"] = recorded_row["retrieved"]
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
            tf.write(json.dumps(trace_row(q["id"], answer), ensure_ascii=False) + "\n")
    if progress:
        progress(f"re-checked {len(results)} recorded answers from {recorded}")
    return len(results)
