"""Conversations in the eval: the gold file, the rewrite scores, and the turn-by-turn runner."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from rag.cli import build_parser
from rag.config import PROJECT_ROOT, Settings
from ragkit import commands
from ragkit.evaluate import (
    conversation_turns,
    read_conversations,
    read_questions,
    read_results,
    replay,
    run_conversations,
    trace_path,
)
from ragkit.metrics import compute_conversations, contains_passage, rewrite_named, term_named
from ragkit.report import write_report

CONVERSATIONS = PROJECT_ROOT / "eval" / "conversations.jsonl"
CORPUS = PROJECT_ROOT / "corpus"
CONTRACT = {"id", "question", "answer", "refused", "citations", "retrieved", "timings"}
TURN_FIELDS = {"conversation", "turn", "asked", "rewritten", "rewrite"}


def fake_detect(text: str) -> str:
    return "es" if "¿" in text else "en"


# ---------------------------------------------------------------- the gold file


def test_the_conversation_file_is_valid() -> None:
    conversations = read_conversations(CONVERSATIONS)
    assert len(conversations) >= 20
    ids = [c["id"] for c in conversations]
    assert len(set(ids)) == len(ids)
    languages = Counter(c["language"] for c in conversations)
    assert set(languages) == {"en", "es", "fr", "pt"}
    assert min(languages.values()) >= 4
    unanswered_follow_ups = 0
    for c in conversations:
        assert 2 <= len(c["turns"]) <= 3, c["id"]
        for n, turn in enumerate(c["turns"], 1):
            where = f"{c['id']} turn {n}"
            assert turn["question"].strip(), where
            assert isinstance(turn["answerable"], bool), where
            if n > 1:
                terms = turn.get("rewrite_terms")
                assert terms, f"{where}: a follow-up needs rewrite_terms"
                assert all(g and all(isinstance(t, str) and t for t in g) for g in terms), where
                assert not rewrite_named(terms, turn["question"]), (
                    f"{where}: the follow-up names it already; the terms must come from earlier"
                )
                unanswered_follow_ups += not turn["answerable"]
            if not turn["answerable"]:
                assert turn["gold_sources"] == turn["expected_facts"] == [], where
                continue
            assert turn["gold_sources"], where
            assert turn["expected_facts"], where
            assert all(alts for alts in turn["expected_facts"]), where
            texts = [(CORPUS / s).read_text(encoding="utf-8") for s in turn["gold_sources"]]
            for quote in turn.get("gold_passages") or []:
                assert any(contains_passage(t, quote) for t in texts), f"{where}: {quote[:50]}"
        assert c["turns"][0]["answerable"], f"{c['id']}: the first turn sets the topic"
    assert 2 <= unanswered_follow_ups <= 3


# ---------------------------------------------------------------- rewrite scores


def test_rewrite_terms_are_named_folded_at_word_starts() -> None:
    assert term_named("Why did ZUCKERBERG hire them?", ["Zuckerberg"])
    assert term_named("¿Qué dijo Clement Delangue?", ["Clément Delangue"]), "accents folded"
    assert term_named("Why did critics object?", ["critic"]), "a stem covers its endings"
    assert not term_named("Who is Nguang?", ["Wang"]), "not inside another word"
    assert term_named("What did 01.AI build?", ["01.ai"])
    question = "Why did critics object to Meta open-sourcing Llama?"
    assert rewrite_named([["Meta"], ["Llama", "open-sourc"]], question)
    assert not rewrite_named([["Meta"], ["Behemoth"]], question), "every group is needed"


def turn_result(tid: str, question: str, rewritten: str | None, rewrite: str, **kw: Any) -> dict:
    conversation, turn = tid.split(".")
    return {
        "id": tid,
        "question": rewritten or question,
        "answer": kw.get("answer", "The articles don't say."),
        "refused": kw.get("refused", True),
        "citations": kw.get("citations", []),
        "retrieved": kw.get("retrieved", []),
        "timings": {"retrieve_s": 0.1, "ttft_s": 1.0, "total_s": 2.0},
        "conversation": conversation,
        "turn": int(turn),
        "asked": question,
        "rewritten": rewritten,
        "rewrite": rewrite,
    }


def test_rewrites_and_follow_up_answers_are_scored(tmp_path: Path) -> None:
    gold = [
        {"id": "a", "language": "en", "turns": [
            {"question": "Why did Meta open-source Llama?", "answerable": True,
             "gold_sources": ["x.txt"], "expected_facts": [["accelerat"]]},
            {"question": "and why did critics object?", "rewrite_terms": [["Meta"], ["Llama"]],
             "answerable": True, "gold_sources": ["x.txt"], "expected_facts": [["toxic"]]},
            {"question": "how much did it cost?", "rewrite_terms": [["Llama"]],
             "answerable": False, "gold_sources": [], "expected_facts": []},
        ]},
        {"id": "b", "language": "es", "turns": [
            {"question": "¿Quién dirige el laboratorio?", "answerable": True,
             "gold_sources": ["y.txt"], "expected_facts": [["Wang"]]},
            {"question": "¿y antes?", "rewrite_terms": [["Wang"]], "answerable": True,
             "gold_sources": ["y.txt"], "expected_facts": [["Scale AI"]]},
        ]},
    ]  # fmt: skip
    turns = conversation_turns(gold)
    assert [t["id"] for t in turns] == ["a.1", "a.2", "a.3", "b.1", "b.2"]
    assert (turns[1]["language"], turns[1]["turn"]) == ("en", 2)
    cite = [{"n": 1, "source": "x.txt", "quote": "q"}]
    results = [
        turn_result("a.1", "Why did Meta open-source Llama?", None, "none",
                    answer="To accelerate it [1].", refused=False, citations=cite),
        turn_result("a.2", "and why did critics object?",
                    "Why did critics object to Meta open-sourcing Llama?", "model",
                    answer="It could spread toxic content [1].", refused=False, citations=cite),
        turn_result("a.3", "how much did it cost?",
                    "Why did Meta open-source Llama? how much did it cost?", "context"),
        turn_result("b.1", "¿Quién dirige el laboratorio?", None, "none",
                    answer="Wang [1].", refused=False),
        turn_result("b.2", "¿y antes?", "Who ran it before?", "model"),  # English: lost
    ]  # fmt: skip
    summary = compute_conversations(turns, results, None, fake_detect)
    group = summary["conversations"]
    assert (group["conversations"], group["turns"], group["follow_ups"]) == (2, 5, 3)
    assert group["rewrite_named"] == pytest.approx(2 / 3), "b.2 does not name Wang"
    assert group["rewrite_language_kept"] == pytest.approx(2 / 3), "b.2 is in English"
    assert group["rewritten_by_model"] == pytest.approx(2 / 3)
    assert group["rewritten_from_context"] == pytest.approx(1 / 3)
    assert group["not_rewritten"] == 0.0
    follow = group["follow_up_answers"]
    assert follow["questions"] == 3
    assert follow["fact_coverage"] == 0.5, "a.2 states its fact, b.2 refused"
    assert follow["abstention_accuracy"] == 1.0
    assert follow["false_abstention_rate"] == 0.5
    assert follow["citation_source_precision"] == 1.0
    assert group["all_turn_answers"] == summary["overall"]
    assert summary["overall"]["questions"] == 5
    assert summary["overall"]["fact_coverage"] == 0.75
    assert group["by_language"]["es"]["rewrite_named"] == 0.0
    assert group["by_language"]["en"]["rewrite_named"] == 1.0

    report = write_report({"conv": summary}, {"conv": [2.0] * 5}, tmp_path / "report")
    text = report.read_text(encoding="utf-8")
    assert "## Conversations" in text
    assert "| rewrite_named | 0.667 |" in text
    assert "| metric | conv: follow-ups | conv: all turns |" in text
    written = json.loads((tmp_path / "report" / "summary.json").read_text(encoding="utf-8"))
    assert written["conversations"]["conv"]["follow_ups"] == 3


# ---------------------------------------------------------------- the runner


REWRITE = "Why did critics object to Meta open-sourcing Llama?"
PLAYED = [
    {"id": "c1", "language": "en", "turns": [
        {"question": "Why did Meta open-source Llama?"},
        {"question": "and why did critics object?", "rewrite_terms": [["Meta"], ["Llama"]]},
        {"question": "   "},
    ]},
    {"id": "c2", "language": "es", "turns": [
        {"question": "¿Y por qué liberó Meta el código de Llama?"},
        {"question": "¿y quién lo dirige ahora?", "rewrite_terms": [["Llama"]]},
    ]},
]  # fmt: skip


def test_the_runner_writes_one_row_per_turn_and_replays_them(tmp_path: Path) -> None:
    from rag.answer import Assistant
    from ragkit.bench import RandomEmbedder
    from tests.conftest import FakeGenerator

    articles = tmp_path / "articles"
    articles.mkdir()
    shutil.copy(CORPUS / "004_ecf98a8ca6297839.txt", articles)
    settings = Settings(
        index_dir=tmp_path / "index",
        min_relevance=-1.0,  # random vectors: let every question reach the (fake) model
        language_retry=False,
        verify_citations=False,
    )
    # one reply for every call: an answer, and a rewrite that passes the check in English
    # and fails it in Spanish (another language), which falls back to the context
    fake = FakeGenerator(REWRITE)
    assistant = Assistant(settings, embedder=RandomEmbedder(16), generator=fake)
    assistant.ingest([articles])
    out = tmp_path / "run" / "conv.jsonl"

    assert run_conversations(assistant, PLAYED, out) == 5
    rows = read_results(out)
    assert [r["id"] for r in rows] == ["c1.1", "c1.2", "c1.3", "c2.1", "c2.2"]
    for r in rows:
        assert set(r) == CONTRACT | TURN_FIELDS
        assert set(r["timings"]) == {"retrieve_s", "ttft_s", "total_s"}
    assert [(r["conversation"], r["turn"]) for r in rows] == [
        ("c1", 1), ("c1", 2), ("c1", 3), ("c2", 1), ("c2", 2)
    ]  # fmt: skip
    first, follow_up, empty, new_topic, fallback = rows
    assert (first["rewrite"], first["rewritten"]) == ("none", None)
    assert first["question"] == first["asked"] == "Why did Meta open-source Llama?"
    assert (follow_up["rewrite"], follow_up["rewritten"]) == ("model", REWRITE)
    assert follow_up["question"] == REWRITE, "the rewrite is what was searched"
    assert follow_up["asked"] == "and why did critics object?"
    rewrite_prompt = next(m[-1]["content"] for m in fake.calls if "critics" in m[-1]["content"])
    assert "Why did Meta open-source Llama?" in rewrite_prompt, "the earlier turn is history"
    assert (empty["refused"], empty["rewrite"]) == (True, "none")
    assert new_topic["rewrite"] == "none", "a new conversation starts without history"
    assert fallback["rewrite"] == "context"
    assert fallback["question"] == f"{new_topic['question']} ¿y quién lo dirige ahora?"
    assert len(read_results(trace_path(out))) == 4, "no trace for the rejected turn"

    calls = len(fake.calls)
    again = tmp_path / "run" / "replayed.jsonl"
    assert replay(assistant, conversation_turns(PLAYED[:1]), out, again) == 3
    replayed = read_results(again)
    assert len(fake.calls) == calls, "a replay generates nothing"
    assert [r["id"] for r in replayed] == ["c1.1", "c1.2", "c1.3"]
    assert [(r["rewritten"], r["question"]) for r in replayed] == [
        (r["rewritten"], r["question"]) for r in rows[:3]
    ]
    assert all(set(r) == CONTRACT | TURN_FIELDS for r in replayed)


def test_eval_and_report_take_a_conversation_file(tmp_path: Path) -> None:
    from importlib.metadata import EntryPoint

    from rag.cli import COMMANDS

    parser = build_parser([EntryPoint("kit", "ragkit.commands:register", COMMANDS)])
    args = parser.parse_args(
        ["eval", "--conversations", "c.jsonl", "--out", "o.jsonl", "--limit", "3",
         "--replay", "r.jsonl", "--report", "d"]
    )  # fmt: skip
    assert (args.func, args.conversations, args.questions) == (commands.cmd_eval, "c.jsonl", None)
    assert (args.limit, args.replay) == (3, "r.jsonl")
    args = parser.parse_args(["report", "--conversations", "c", "--runs", "a", "--out", "d"])
    assert (args.func, args.conversations) == (commands.cmd_report, "c")
    with pytest.raises(SystemExit):
        parser.parse_args(["eval", "--questions", "q", "--conversations", "c", "--out", "o"])
    with pytest.raises(SystemExit):
        parser.parse_args(["eval", "--out", "o"])
    gold = tmp_path / "c.jsonl"
    gold.write_text(json.dumps(PLAYED[0]) + "\n", encoding="utf-8")
    args = parser.parse_args(
        ["eval", "--conversations", str(gold), "--out", "o", "--retrieval-only"]
    )
    assert commands.cmd_eval(args, Settings(index_dir=tmp_path / "index")) == 2
    with pytest.raises(ValueError, match="--conversations"):
        read_questions(gold)
