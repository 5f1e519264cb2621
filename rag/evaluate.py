"""Answer a file of questions and write one result per line (the eval contract).

Each output row is
`{"id", "question", "answer", "refused", "citations": [{"n", "source", "quote"}],
"retrieved": [{"source", "score"}], "timings": {"retrieve_s", "ttft_s", "total_s"}}`
where `source` is the article's file name. Other tools read this: keep it stable.

Beside it (`RESULTS.trace.jsonl`) goes what the metrics need beyond the contract: the
passage texts and offsets, the sentences with their support, the raw model output and
every timing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rag.answer import Assistant, QuestionError
from rag.schema import Answer

TIMING_KEYS = ("retrieve_s", "ttft_s", "total_s")


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


def result_row(qid: Any, answer: Answer) -> dict[str, Any]:
    """One row of the eval contract for an answer."""
    return {
        "id": qid,
        "question": answer.question,
        "answer": answer.text,
        "refused": answer.refused,
        "citations": [{"n": c.n, "source": c.source, "quote": c.quote} for c in answer.citations],
        "retrieved": [{"source": p.source, "score": round(p.score, 6)} for p in answer.passages],
        "timings": {k: round(float(answer.timings.get(k, 0.0)), 4) for k in TIMING_KEYS},
    }


def trace_row(qid: Any, answer: Answer) -> dict[str, Any]:
    """Everything about an answer that the contract leaves out (for metrics and debugging)."""
    return {
        "id": qid,
        "language": answer.language,
        "raw_text": answer.raw_text,
        "notices": list(answer.notices),
        "passages": [
            {
                "source": p.source,
                "text": p.text,
                "start": p.start,
                "end": p.end,
                "similarity": round(p.similarity, 4),
            }
            for p in answer.passages
        ],
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


def run(
    assistant: Assistant,
    questions: list[dict[str, Any]],
    out: Path,
    progress: Callable[[str], None] | None = None,
) -> int:
    """Answer every question with one loaded assistant; write the rows as they come."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as f, trace_path(out).open("w", encoding="utf-8") as tf:
        for i, q in enumerate(questions, 1):
            try:
                answer = assistant.ask(str(q["question"]))
                row = result_row(q["id"], answer)
                tf.write(json.dumps(trace_row(q["id"], answer), ensure_ascii=False) + "\n")
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
