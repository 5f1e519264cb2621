"""Follow-up questions -> standalone questions, so retrieval searches for what was meant.

"And why did critics object?" finds nothing on its own: who objected to what lives in the
previous turn. When a question reads like a follow-up (a pronoun, a leading "and/but",
very few words) and there is a conversation, the model rewrites it into a standalone
question in the asker's language. The rewrite is checked before it is used: it must keep
the language and may not bring in names that are neither in the conversation nor in the
question. If it fails the check, the previous question is prepended instead, which keeps
retrieval on topic without inventing anything.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rag import lang, prompts
from rag.generate import GenerationStats, Generator


@dataclass(frozen=True)
class Turn:
    """One earlier exchange of the conversation, as the rewrite sees it."""

    question: str
    """The standalone question that was answered."""
    answer: str
    """The answer as shown (citation markers are removed before use)."""


@dataclass(frozen=True)
class Rewrite:
    """The question retrieval and the model will use, and how it was obtained."""

    question: str
    method: str
    """"model" (checked rewrite), "context" (previous question prepended) or "none"."""


FOLLOW_UP_STARTS = (
    "and", "but", "so", "also", "what about", "how about", "then", "why not",
    "y", "pero", "entonces", "también", "tambien", "¿y", "y qué", "¿qué hay de",
    "et", "mais", "alors", "aussi", "et pourquoi", "qu'en est-il",
    "e", "mas", "então", "entao", "também", "e quanto",
)  # fmt: skip
"""Openings that continue the conversation rather than start a new topic."""

_ANAPHORA_WORDS = """
    it its they them their theirs he him his she her this that those these there such
    él ella ellos ellas eso esto ese esa esos esas aquello su sus dicho dicha
    il elle ils elles cela ça ceci celui celle ceux leur leurs lui
    ele ela eles elas isso isto esse essa esses essas dele dela deles delas aquilo"""
ANAPHORA = frozenset(_ANAPHORA_WORDS.split())
"""Words that point back to something named earlier (articles such as 'la' are left out)."""

MIN_STANDALONE_WORDS = 4
"""Questions shorter than this are taken as follow-ups ("and critics?")."""

_WORD = re.compile(r"[\w'’-]+")  # hyphenated: French inversions (discute-t-elle) are one word
_MARKER = re.compile(r"\s*\[\d+(?:\s*[,-]\s*\d+)*\]")
_CAPITALISED = re.compile(r"\b[A-ZÀ-Ý][\w'’-]+")


def needs_rewrite(question: str) -> bool:
    """Whether `question` reads like a follow-up that depends on the previous turn."""
    text = question.strip().lower()
    words = _WORD.findall(text)
    if len(words) < MIN_STANDALONE_WORDS:
        return True
    bare = text.lstrip("¿¡\"'«( ")
    if any(bare == s or bare.startswith((s + " ", s + ",")) for s in FOLLOW_UP_STARTS):
        return True
    return any(w in ANAPHORA for w in words)


def rewrite(
    generator: Generator,
    history: Sequence[Turn],
    question: str,
    language: str,
    max_tokens: int = 64,
) -> Rewrite:
    """The standalone form of `question` given the conversation so far."""
    if not history or not needs_rewrite(question):
        return Rewrite(question, "none")
    recent = [Turn(t.question, _MARKER.sub("", t.answer)) for t in history[-2:]]
    messages = prompts.build_rewrite_messages(
        [(t.question, t.answer) for t in recent], question, language
    )
    raw = "".join(generator.stream(messages, max_tokens, GenerationStats()))
    candidate = clean(raw)
    if candidate and acceptable(candidate, question, language, recent):
        return Rewrite(candidate, "model")
    return Rewrite(f"{recent[-1].question} {question}", "context")


def clean(raw: str) -> str:
    """The rewritten question out of what the model wrote: first line, no label or quotes."""
    line = next((ln.strip() for ln in raw.strip().splitlines() if ln.strip()), "")
    line = re.sub(r"^(standalone |rewritten )?question\s*:\s*", "", line, flags=re.I)
    return line.strip(" \"'“”«»`")


def acceptable(candidate: str, question: str, language: str, history: Sequence[Turn]) -> bool:
    """Whether a rewrite is safe to use: a question, same language, no invented names, every
    name the follow-up gives kept, and no pointing back ("isso", "it") left unresolved."""
    if prompts.NOT_FOUND in candidate or len(candidate) > 3 * len(question) + 200:
        return False
    if len(_WORD.findall(candidate)) < 2:
        return False
    if lang.detect(candidate, default=language) != language:
        return False
    known = " ".join([question, *(t.question + " " + t.answer for t in history)]).lower()
    names = _names(candidate)
    if not all(n.lower().rstrip("'’s") in known for n in names):
        return False
    if any(n.lower() not in candidate.lower() for n in _names(question)):
        return False  # "Et où se situe Meta ?" rewritten without Meta
    new_names = [n for n in names if n.lower() not in question.lower()]
    still_pointing = any(w in ANAPHORA for w in _WORD.findall(candidate.lower()))
    return bool(new_names) or not still_pointing


def _names(text: str) -> list[str]:
    """The capitalised words of `text` after its first word."""
    first = next((i for i, ch in enumerate(text) if ch.isalpha()), 0)
    return [m.group(0) for m in _CAPITALISED.finditer(text) if m.start() > first]
