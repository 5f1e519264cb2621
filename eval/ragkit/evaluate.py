"""Answer a file of questions and write one result per line (the eval contract).

Each output row is `rag.schema.result_row` of the answer:
`{"id", "question", "answer", "refused", "citations": [{"n", "source", "quote"}],
"retrieved": [{"source", "score"}], "timings": {"retrieve_s", "ttft_s", "total_s"}}`
where `source` is the article's file name. Other tools read this: keep it stable.

Beside it (`RESULTS.trace.jsonl`) goes what the metrics need beyond the contract: the
passage texts and offsets, the sentences with their support, the raw model output and
every timing.

A file of conversations (`eval/conversations.jsonl`) is played turn by turn instead
(`run_conversations`): one row per turn, the contract row plus where the turn sits in its
conversation and the standalone question a follow-up was rewritten into.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rag.answer import Assistant, QuestionError, prepare_question
from rag.rewrite import Turn
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
        if "turns" in row and "question" not in row:
            raise ValueError(f"{path}:{i}: a conversation: give the file as --conversations")
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
        "checks": list(answer.checks),
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
                row = rejected_row(q["id"], str(q["question"]), e)
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
            f.flush()
            if progress:
                progress(
                    f"[{i}/{len(questions)}] {q['id']}: {row['answer'][:70]!r} "
                    f"({row['timings']['total_s']:.1f} s)"
                )
    return len(questions)


def rejected_row(qid: Any, question: str, error: QuestionError) -> dict[str, Any]:
    """The contract row of a question rejected before anything ran (e.g. an empty one)."""
    return {
        "id": qid,
        "question": question,
        "answer": str(error),
        "refused": True,
        "citations": [],
        "retrieved": [],
        "timings": dict.fromkeys(TIMING_KEYS, 0.0),
    }


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
    Fields a recorded row has beyond the contract (a conversation turn's `conversation`,
    `turn`, `asked`, `rewritten`, `rewrite`) are kept: the rewrite is not done again.
    Returns the number of rows written.
    """
    from rag import prompts
    from rag.cite import Verified

    results = {str(r["id"]): r for r in read_results(recorded)}
    traces = {str(t["id"]): t for t in read_results(trace_path(recorded))}
    out.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with out.open("w", encoding="utf-8") as f, trace_path(out).open("w", encoding="utf-8") as tf:
        for q in questions:
            qid = str(q["id"])
            recorded_row, trace = results.get(qid), traces.get(qid)
            if recorded_row is None:
                continue
            written += 1
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
                # a recorded retry's raw text is the second answer: checked as the live run did
                check = assistant.verify_retry if "retry_s" in timings else assistant.verify
                verified = check(raw, question, trace["language"], evidence)
                # the one time of this run: the check, done again here (the rest is recorded)
                timings["check_s"] = time.perf_counter() - started
            else:  # refused before the model ran (the relevance gate)
                gate = tuple(trace.get("checks", ()))
                verified = Verified(True, prompts.refusal(trace["language"]), (), (), gate)
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
                checks=verified.changes,
            )
            row = result_row(q["id"], answer)
            row["retrieved"] = recorded_row["retrieved"]
            row.update({k: v for k, v in recorded_row.items() if k not in row})
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
            tf.write(json.dumps(trace_row(q["id"], answer), ensure_ascii=False) + "\n")
    if progress:
        progress(f"re-checked {written} recorded answers from {recorded}")
    return written


# ---------------------------------------------------------------- conversations


def read_conversations(path: Path) -> list[dict[str, Any]]:
    """Rows of a conversations JSONL file (`eval/conversations.jsonl`): each needs `id` and
    `turns`, a non-empty list of turns that each have a `question` (other fields are kept)."""
    rows: list[dict[str, Any]] = []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        turns = row.get("turns")
        if "id" not in row or not isinstance(turns, list) or not turns:
            raise ValueError(f"{path}:{i}: every conversation needs `id` and a list of `turns`")
        if not all(isinstance(t, dict) and "question" in t for t in turns):
            raise ValueError(f"{path}:{i}: every turn needs a `question`")
        rows.append(row)
    return rows


def turn_id(conversation: Any, n: int) -> str:
    """The id of turn `n` (from 1) of a conversation in the result rows: `c01.2`."""
    return f"{conversation}.{n}"


def conversation_turns(conversations: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One gold row per turn, in order, shaped like a row of `questions.jsonl`: the turn's
    fields plus `id` (`turn_id`), `conversation`, `turn` (from 1) and `language` (the
    conversation's, unless the turn gives its own). The metrics and a replay read these."""
    rows = []
    for c in conversations:
        for n, turn in enumerate(c["turns"], 1):
            row = {"language": c.get("language", ""), **turn}
            row.update({"id": turn_id(c["id"], n), "conversation": c["id"], "turn": n})
            rows.append(row)
    return rows


def rewrite_method(answer: Answer, history: Sequence[Turn]) -> str:
    """How the question of a turn was obtained, read from its answer: "none" (searched as
    typed), "context" (the rewrite failed its check, so the previous question was put
    before the follow-up, as `rag.rewrite.rewrite` does) or "model" (a checked rewrite)."""
    if not answer.asked:
        return "none"
    if history and answer.question == f"{history[-1].question} {answer.asked}":
        return "context"
    return "model"


def run_conversations(
    assistant: Assistant,
    conversations: Sequence[dict[str, Any]],
    out: Path,
    progress: Callable[[str], None] | None = None,
) -> int:
    """Play every conversation turn by turn, as the chat does; write one row per turn.

    Each turn is asked through `Assistant.ask` with the earlier turns of its conversation
    as history, kept as `ui/app.py` `respond` keeps them: a `Turn` of the question that was
    answered (the standalone one) and the answer as shown. A turn rejected before anything
    ran (an empty question) is not kept, as in the chat. Each row is the contract row
    (`result_row`, whose `question` is what was searched) plus `conversation`, `turn`
    (from 1), `asked` (the question as typed), `rewritten` (the standalone question a
    follow-up was rewritten into, None when it was searched as typed) and `rewrite`
    (`rewrite_method`). The trace rows are `trace_row`'s. Returns the number of rows.
    """
    total = sum(len(c["turns"]) for c in conversations)
    written = 0
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as f, trace_path(out).open("w", encoding="utf-8") as tf:
        for c in conversations:
            history: list[Turn] = []
            for n, turn in enumerate(c["turns"], 1):
                tid, asked = turn_id(c["id"], n), str(turn["question"])
                try:
                    answer = assistant.ask(asked, history)
                except QuestionError as e:
                    row = rejected_row(tid, asked, e)
                    rewritten, method = None, "none"
                else:
                    row = result_row(tid, answer)
                    tf.write(json.dumps(trace_row(tid, answer), ensure_ascii=False) + "\n")
                    method = rewrite_method(answer, history)
                    rewritten = answer.question if answer.asked else None
                    history.append(Turn(answer.question, answer.text))
                row.update(
                    conversation=c["id"], turn=n, asked=asked, rewritten=rewritten, rewrite=method
                )
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
                f.flush()
                written += 1
                if progress:
                    searched = f" -> {rewritten!r}" if rewritten else ""
                    progress(
                        f"[{written}/{total}] {tid}{searched}: {row['answer'][:70]!r} "
                        f"({row['timings']['total_s']:.1f} s)"
                    )
    return written
