"""Answer a file of questions and write one result per line (the eval contract).

Each output row is
`{"id", "question", "answer", "refused", "citations": [{"n", "source", "quote"}],
"retrieved": [{"source", "score"}], "timings": {"retrieve_s", "ttft_s", "total_s"}}`
where `source` is the article's file name. Other tools read this: keep it stable.
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


def run(
    assistant: Assistant,
    questions: list[dict[str, Any]],
    out: Path,
    progress: Callable[[str], None] | None = None,
) -> int:
    """Answer every question with one loaded assistant; write the rows as they come."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as f:
        for i, q in enumerate(questions, 1):
            try:
                row = result_row(q["id"], assistant.ask(str(q["question"])))
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
