"""Check every citation against its passage; repair what is wrong; decide to refuse.

The model is small and cites carelessly: it puts all citations at the end, cites a
passage that does not hold the fact, or answers from memory. So after generation each
answer sentence is compared with every sentence of every retrieved passage:

* support(sentence, passage) = the best cosine similarity between the sentence and one
  sentence of the passage (multilingual embeddings, so an English sentence is compared
  with the Spanish original), set to zero when the sentence states a number the passage
  does not contain (numbers are where small models invent most confidently);
* a citation is kept only if its passage supports the sentence; an unsupported one is
  moved to the passage that does support the sentence, or dropped;
* an uncited sentence that a passage clearly supports gets that citation;
* a citation can only ever point to a retrieved passage;
* if the model said it could not answer, or no sentence is supported, the answer is
  "the articles don't say" with no citations.

Passages are untrusted (rag/injection.py): a passage sentence that gives orders to an AI
never counts as support, and an answer sentence is removed outright when it repeats the
system prompt, carries a link no article reports, or echoes a word found only in such an
injected instruction (a canary, an invented name, a dictated source).

There is no multilingual NLI model to be had here, so "support" means close in meaning
and consistent in numbers, not entailment; the thresholds are settings.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rag.embed import Embedder
from rag.injection import LeakDetector, echoed_words, instruction_spans, urls_in
from rag.prompts import NOT_FOUND, SYSTEM_PROMPT
from rag.schema import Citation, Passage, Sentence

_MARKER = re.compile(r"\s*(?:\[\s*\d+(?:\s*[,;]\s*\d+)*\s*\])+")
_NUMBERS_IN_MARKER = re.compile(r"\d+")
_SENTENCE_END = re.compile(r"[.!?…][\"'”»)]*(\s+)(?=[\"'“«(¿¡]?[A-ZÀ-ÖØ-Þ0-9])")
_TRAILING_MARKER = re.compile(r"([.!?…]+)([\"'”»)]*)\s*((?:\[\s*\d+(?:\s*[,;]\s*\d+)*\s*\]\s*)+)")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_LOOSE_MARKER = re.compile(r"\[\s*(?:\^|passages?\s*|sources?\s*|fuente\s*)(\d+)\s*\]", re.I)
_PASSAGE_TAG = re.compile(r"</?\s*passage\b[^>]*>", re.I)
_RANGE_MARKER = re.compile(r"\[\s*(\d+)\s*[-–]\s*(\d+)\s*\]")
_PAREN_MARKER = re.compile(r"\s*\((\d{1,2})\)([.!?…])")
_LIST_PREFIX = re.compile(r"(?m)^\s*(?:[-*•]|\d{1,2}[.)])\s+")
ABBREVIATIONS = frozenset(
    [
        "sr",
        "sra",
        "srta",
        "dr",
        "dra",
        "mr",
        "mrs",
        "ms",
        "st",
        "uu",
        "ee",
        "vs",
        "etc",
        "p",
        "ej",
        "pp",
        "no",
        "núm",
        "art",
        "dept",
        "inc",
        "ltd",
        "co",
        "jr",
        "m",
        "mme",
        "mlle",
        "av",
        "prof",
    ]
)
"""Words that end in a full stop without ending the sentence ("EE. UU.", "Sr.", "Dr.")."""


@dataclass(frozen=True)
class Span:
    """A sentence of a passage, with its offsets in the passage text."""

    text: str
    start: int
    end: int


def split_sentences(text: str) -> list[Span]:
    """Sentences of a text with their offsets (line breaks always end a sentence)."""
    spans: list[Span] = []
    for line in re.finditer(r"[^\n]+", text):
        cuts = [
            m.span(1)
            for m in _SENTENCE_END.finditer(line.group())
            if not _abbreviation_before(line.group(), m.start())
        ]
        starts = [0] + [end for _, end in cuts]
        ends = [start for start, _ in cuts] + [len(line.group())]
        for a, b in zip(starts, ends, strict=True):
            piece = line.group()[a:b]
            stripped = piece.strip()
            if stripped:
                lead = len(piece) - len(piece.lstrip())
                start = line.start() + a + lead
                spans.append(Span(stripped, start, start + len(stripped)))
    return spans


def strip_passage_tags(text: str) -> str:
    """Remove prompt tags the model copied into its answer (`<passage n="1" ...>`)."""
    return _PASSAGE_TAG.sub(" ", text)


def normalise_markers(text: str) -> str:
    """Rewrite the citation styles small models produce into plain `[n]` markers.

    `【1】`, `［1］`, `[1-3]`, `[Passage 2]`, `[^1]` and a `(1)` right before a full stop
    all become `[n]` markers; list numbering at the start of a line ("1. ", "- ") goes.
    """
    text = text.translate(str.maketrans("【】［］", "[][]"))
    text = _LOOSE_MARKER.sub(lambda m: f"[{m.group(1)}]", text)
    text = _RANGE_MARKER.sub(
        lambda m: (
            "".join(f"[{n}]" for n in range(int(m.group(1)), int(m.group(2)) + 1))
            if 0 < int(m.group(2)) - int(m.group(1)) < 10
            else f"[{m.group(1)}]"
        ),
        text,
    )
    text = _PAREN_MARKER.sub(lambda m: f" [{m.group(1)}]{m.group(2)}", text)
    return _LIST_PREFIX.sub("", text)


def _abbreviation_before(text: str, stop: int) -> bool:
    """True if the full stop at `stop` ends an abbreviation or an initial, not a sentence."""
    if text[stop] != ".":
        return False
    word = re.search(r"(\w+)$", text[:stop])
    if word is None:
        return False
    w = word.group(1)
    return w.casefold() in ABBREVIATIONS or (len(w) == 1 and w.isupper())


def parse_answer(text: str) -> list[tuple[str, tuple[int, ...]]]:
    """Split an answer into (sentence without markers, cited numbers) pairs.

    A marker placed after the full stop ("... end. [2] Next") belongs to the sentence
    before it. Pieces without a letter or digit (a stray "[1]." line) are not sentences:
    their markers go to the sentence before.
    """
    text = normalise_markers(strip_passage_tags(text))
    # "fact. [2] Next" and "fact.[2] Next" -> "fact [2]. Next", so sentences split cleanly.
    text = _TRAILING_MARKER.sub(lambda m: f" {m.group(3).strip()}{m.group(1)}{m.group(2)} ", text)
    pairs: list[tuple[str, list[int]]] = []
    for span in split_sentences(text.strip()):
        sentence = span.text
        lead = _MARKER.match(sentence)
        if lead and pairs:
            pairs[-1][1].extend(int(n) for n in _NUMBERS_IN_MARKER.findall(lead.group()))
            sentence = sentence[lead.end() :].strip()
        numbers = [
            int(n)
            for m in _MARKER.finditer(sentence)
            for n in _NUMBERS_IN_MARKER.findall(m.group())
        ]
        clean = _MARKER.sub("", sentence).strip()
        clean = re.sub(r"\s+([.,;:!?])", r"\1", clean)
        clean = re.sub(r"([.!?])\1+$", r"\1", clean)
        if any(ch.isalnum() for ch in clean):
            pairs.append((clean, numbers))
        elif pairs:
            pairs[-1][1].extend(numbers)
    return [(s, tuple(dict.fromkeys(ns))) for s, ns in pairs]


NUMBER_WORDS: dict[str, str] = {
    word: str(value)
    for value, words in {
        2: "two deux dois duas",  # not "dos": Portuguese for "of the"
        3: "three tres trois três",
        4: "four cuatro quatre quatro",
        5: "five cinco cinq",
        6: "six seis",
        7: "seven siete sept sete",
        8: "eight ocho huit oito",
        9: "nine nueve nove",  # not "neuf": French for "new" too
        10: "ten diez dix dez",
        12: "twelve doce douze doze dozen docena douzaine dúzia",
    }.items()
    for word in words.split()
}
"""Small numbers written as words, in the four languages, so "12" matches "una docena"."""


def numbers_in(text: str) -> set[str]:
    """The numbers a text states, normalised: thousands separators removed, small number
    words ("nine", "docena") as digits."""
    found = {re.sub(r"[.,](?=\d{3}\b)", "", n).replace(",", ".") for n in _NUMBER.findall(text)}
    words = re.findall(r"\w+", text.casefold())
    return found | {NUMBER_WORDS[w] for w in words if w in NUMBER_WORDS}


def is_not_found(text: str) -> bool:
    """True when the model said the passages do not answer the question.

    Only the answer's start counts: "the plane was not found [1]" is an answer.
    """
    head = text.strip().strip("*_`\"' ").upper()
    return head.startswith((NOT_FOUND, NOT_FOUND.replace("_", " ")))


@dataclass(frozen=True)
class Verified:
    """The outcome of the check: the repaired answer, or a refusal."""

    refused: bool
    text: str
    sentences: tuple[Sentence, ...]
    citations: tuple[Citation, ...]
    changes: tuple[str, ...]
    """What the check changed, in words (moved, dropped or added citations)."""


class CitationChecker:
    """Verifies and repairs the citations of an answer against the retrieved passages."""

    def __init__(
        self, embedder: Embedder, threshold: float, add_margin: float = 0.05, margin: float = 0.15
    ) -> None:
        self.embedder = embedder
        self.threshold = threshold
        self.add_threshold = threshold + add_margin
        """An uncited sentence gets a citation only when support is this clear."""
        self.margin = margin
        """A cited passage this much weaker than the best one loses the citation to it."""
        self._cache: dict[str, tuple[list[Span], np.ndarray]] = {}
        self.leaks = LeakDetector([SYSTEM_PROMPT])

    def _passage_sentences(self, passage: Passage) -> tuple[list[Span], np.ndarray]:
        """The passage's sentences and their embeddings; an injected instruction's sentence
        gets a zero vector, so it supports nothing."""
        cached = self._cache.get(passage.chunk_id)
        if cached is None:
            spans = split_sentences(passage.text) or [Span(passage.text, 0, len(passage.text))]
            vectors = self.embedder.embed_sentences([s.text for s in spans])
            injected = instruction_spans(passage.text)
            for k, span in enumerate(spans):
                if any(a < span.end and span.start < b for a, b in injected):
                    vectors[k] = 0.0
            cached = (spans, vectors)
            if len(self._cache) > 2048:
                self._cache.clear()
            self._cache[passage.chunk_id] = cached
        return cached

    def injected(self, sentence: str, passages: Sequence[Passage]) -> str | None:
        """Why an answer sentence must go because it obeys the passages' text rather than
        reports it, or None."""
        if self.leaks(sentence):
            return "it repeats the system prompt"
        injected: list[str] = []
        trusted: list[str] = []
        for p in passages:
            last = 0
            for a, b in instruction_spans(p.text):
                trusted.append(p.text[last:a])
                injected.append(p.text[a:b])
                last = b
            trusted += [p.text[last:], p.title]
        trusted_text = " ".join(trusted)
        if urls_in(sentence) - urls_in(trusted_text):
            return "it holds a link no article reports"
        echoed = echoed_words(sentence, " ".join(injected), trusted_text)
        if echoed:
            return f"it echoes an instruction planted in a passage ({', '.join(sorted(echoed))})"
        return None

    def support(
        self, sentences: Sequence[str], passages: Sequence[Passage]
    ) -> tuple[np.ndarray, list[list[Span]]]:
        """support[i, j]: how well passage j supports sentence i; and the best span of each."""
        vectors = self.embedder.embed_sentences(list(sentences))
        scores = np.zeros((len(sentences), len(passages)), dtype=np.float32)
        best: list[list[Span]] = [[] for _ in sentences]
        for j, passage in enumerate(passages):
            spans, pvecs = self._passage_sentences(passage)
            sims = vectors @ pvecs.T
            passage_numbers = numbers_in(passage.text)
            for i, sentence in enumerate(sentences):
                k = int(np.argmax(sims[i]))
                best[i].append(spans[k])
                unknown_numbers = numbers_in(sentence) - passage_numbers
                scores[i, j] = 0.0 if unknown_numbers else float(sims[i, k])
        return scores, best

    def check(self, answer: str, passages: Sequence[Passage], refusal: str) -> Verified:
        """Verify `answer` (model output with [n] markers) against `passages` (numbered from 1)."""
        refused = Verified(True, refusal, (), (), ())
        if not passages or not answer.strip() or is_not_found(answer):
            return refused
        parsed = parse_answer(answer)
        changes: list[str] = []
        kept_parsed = []
        for i, (text, cited) in enumerate(parsed):
            reason = self.injected(text, passages)
            if reason:
                changes.append(f"removed sentence {i + 1}: {reason}")
            else:
                kept_parsed.append((text, cited))
        parsed = kept_parsed
        if not parsed:
            return Verified(True, refusal, (), (), tuple(changes))
        scores, best = self.support([s for s, _ in parsed], passages)
        sentences: list[Sentence] = []
        citations: list[Citation] = []
        for i, (text, cited) in enumerate(parsed):
            valid = [n for n in cited if 1 <= n <= len(passages)]
            if len(valid) < len(cited):
                changes.append(
                    f"dropped citation(s) {sorted(set(cited) - set(valid))}: no such passage"
                )
            top = int(np.argmax(scores[i])) + 1
            top_score = float(scores[i, top - 1])
            # A citation stays if its passage supports the sentence and no other passage
            # supports it far better (then the fact is really there, not here).
            floor = max(self.threshold, top_score - self.margin)
            kept = [n for n in valid if scores[i, n - 1] >= floor]
            for n in set(valid) - set(kept):
                changes.append(f"dropped [{n}] from sentence {i + 1}: passage does not support it")
            if not kept and cited and top_score >= self.threshold:
                kept = [top]
                changes.append(f"moved citation of sentence {i + 1} to [{top}]")
            elif not cited and top_score >= self.add_threshold:
                kept = [top]
                changes.append(f"added [{top}] to sentence {i + 1}")
            sentences.append(Sentence(text, tuple(kept), supported=bool(kept)))
            for n in kept:
                p, span = passages[n - 1], best[i][n - 1]
                citations.append(
                    Citation(
                        n=n,
                        source=p.source,
                        title=p.title,
                        chunk_id=p.chunk_id,
                        quote=span.text,
                        quote_start=p.start + span.start,
                        quote_end=p.start + span.end,
                        support=float(scores[i, n - 1]),
                    )
                )
        if not any(s.supported for s in sentences):
            return Verified(True, refusal, (), (), tuple(changes))
        return Verified(
            False, render(sentences), tuple(sentences), tuple(citations), tuple(changes)
        )

    @staticmethod
    def unchecked(answer: str, passages: Sequence[Passage], refusal: str) -> Verified:
        """The model's own citations, only mapped to passages (for ablations: no check)."""
        if not passages or is_not_found(answer) or not answer.strip():
            return Verified(True, refusal, (), (), ())
        sentences: list[Sentence] = []
        citations: list[Citation] = []
        for text, cited in parse_answer(answer):
            valid = tuple(n for n in cited if 1 <= n <= len(passages))
            sentences.append(Sentence(text, valid, supported=bool(valid)))
            for n in valid:
                p = passages[n - 1]
                citations.append(
                    Citation(n, p.source, p.title, p.chunk_id, p.text, p.start, p.end, 0.0)
                )
        return Verified(False, render(sentences), tuple(sentences), tuple(citations), ())


def render(sentences: Sequence[Sentence]) -> str:
    """The answer text with each sentence's citations placed before its final stop."""
    out: list[str] = []
    for s in sentences:
        marks = "".join(f"[{n}]" for n in s.citations)
        text = s.text
        if marks:
            m = re.search(r"[.!?…]+[\"'”»)]*$", text)
            text = f"{text[: m.start()]} {marks}{text[m.start() :]}" if m else f"{text} {marks}"
        out.append(text)
    return " ".join(out)
