"""Check every answer sentence against the evidence it cites; repair, quote or refuse.

The model is small and cites carelessly: it puts all citations at the end, cites a
passage that does not hold the fact, answers from memory, gives a name the passages do
not hold, or restates the question. So after generation each answer sentence is compared
with the evidence sentences the model read (their embeddings were stored at ingest):

* support(sentence, passage) = the best cosine similarity between the sentence (embedded
  as a query) and one stored sentence of the passage, across languages;
* every proper name, number (with its magnitude: "10 mil millones" is $10 billion) and
  month of the sentence must occur in the evidence it cites, case- and accent-folded
  (rag/terms.py); a name may also be a translation ("Warsaw", "Varsovia"). A sentence that
  fails is re-cited to the evidence that holds its facts, or removed;
* a sentence that adds nothing to the question's own words, or that says in any language
  that the passages do not answer, is no answer;
* a citation is kept only if its passage supports the sentence; an unsupported one is
  moved to the passage that does support the sentence, or dropped; an uncited sentence
  that a passage clearly supports gets that citation; a citation can only ever point to a
  passage the model was given;
* if nothing is left, the answer is "the articles don't say", unless one evidence
  sentence clearly answers the question: then that sentence is quoted (`quote`).

Passages are untrusted (rag/injection.py): a passage sentence that gives orders to an AI
never counts as support, and an answer sentence is removed outright when it repeats the
system prompt, carries a link no article reports, or echoes a word found only in such an
injected instruction (a canary, an invented name, a dictated source).

There is no multilingual NLI model to be had here, so "support" means close in meaning
and literally consistent in names and numbers, not entailment; the thresholds are settings.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from rag import terms
from rag.chunk import Span, split_sentences
from rag.embed import Embedder
from rag.evidence import Candidate, Evidence, answer_kind, holds_kind, lexical_agreement
from rag.injection import LeakDetector, echoed_words, instruction_spans, urls_in
from rag.meaning import Meanings
from rag.prompts import (
    MODEL_REFUSAL_PATTERNS,
    NOT_FOUND,
    SYSTEM_PROMPT,
    article_quote_lead,
    quote_lead,
)
from rag.schema import Citation, Passage, Sentence
from rag.terms import numbers_in

__all__ = [
    "CitationChecker",
    "Lexical",
    "Verified",
    "numbers_in",
    "parse_answer",
    "per_article",
    "quote",
    "quote_cited",
    "render",
    "with_lead",
]

_MARKER = re.compile(r"\s*(?:\[\s*\d+(?:\s*[,;]\s*\d+)*\s*\])+")
_NUMBERS_IN_MARKER = re.compile(r"\d+")
_TRAILING_MARKER = re.compile(r"([.!?…]+)([\"'”»)]*)\s*((?:\[\s*\d+(?:\s*[,;]\s*\d+)*\s*\]\s*)+)")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_LOOSE_MARKER = re.compile(r"\[\s*(?:\^|passages?\s*|sources?\s*|fuente\s*)(\d+)\s*\]", re.I)
_PASSAGE_TAG = re.compile(r"</?\s*passage\b[^>]*>", re.I)
_RANGE_MARKER = re.compile(r"\[\s*(\d+)\s*[-–]\s*(\d+)\s*\]")
_PAREN_MARKER = re.compile(r"\s*\((\d{1,2})\)([.!?…])")
_LISTED_MARKERS = re.compile(r"\]\s*,?\s*(?:(?:and|y|et|e|und|&)\s*)?\[(?=\s*\d)", re.I)
_LIST_PREFIX = re.compile(r"(?m)^\s*(?:[-*•]|\d{1,2}[.)])\s+")


def strip_passage_tags(text: str) -> str:
    """Remove prompt tags the model copied into its answer (`<passage n="1" ...>`)."""
    return _PASSAGE_TAG.sub(" ", text)


def normalise_markers(text: str) -> str:
    """Rewrite the citation styles small models produce into plain `[n]` markers.

    `【1】`, `［1］`, `[1-3]`, `[Passage 2]`, `[^1]`, `[1], [2], and [3]` and a `(1)` right
    before a full stop all become `[n]` markers; list numbering at the start of a line
    ("1. ", "- ") goes.
    """
    text = text.translate(str.maketrans("【】［］", "[][]"))
    text = _LOOSE_MARKER.sub(lambda m: f"[{m.group(1)}]", text)
    text = _LISTED_MARKERS.sub("][", text)
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


def _citations_after(parsed: Sequence[tuple[str, tuple[int, ...]]]) -> list[tuple[int, ...]]:
    """For each uncited sentence, the citations of the next cited sentence, when only
    uncited sentences stand between them: "A. B [1]." is how a small model cites both."""
    out: list[tuple[int, ...]] = []
    following: tuple[int, ...] = ()
    for _, cited in reversed(parsed):
        following = cited or following
        out.append(() if cited else following)
    return out[::-1]


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


_REFUSAL = re.compile("|".join(MODEL_REFUSAL_PATTERNS), re.I)


def says_not_answered(sentence: str) -> bool:
    """True when an answer sentence says, in any language, that the passages do not answer
    ("The passage does not provide information about...", "no se menciona...")."""
    return bool(_REFUSAL.search(terms.fold(sentence)))


def restates(sentence: str, question: str) -> bool:
    """True when a sentence adds no content word (nor number) beyond the question's own
    words and words that carry no fact ("company", "article", "mentioned")."""
    if not question:
        return False
    asked = terms.content_words(question)
    new = [
        w
        for w in terms.content_words(sentence)
        if not terms.is_generic(w) and not any(terms.same_word(w, q) for q in asked)
    ]
    return not new and not (terms.numbers_in(sentence) - terms.numbers_in(question))


@dataclass(frozen=True)
class Facts:
    """What an answer sentence asserts literally: names, numbers, months. The question's own
    names are left out (the asker may spell them in another language than the articles);
    its numbers are not: "Llama 7 in 2031" repeated from the question is still a claim."""

    names: tuple[str, ...]
    numbers: frozenset[str]
    months: frozenset[int]

    def __bool__(self) -> bool:
        return bool(self.names or self.numbers or self.months)


def facts_of(sentence: str, question: str, language: str = "") -> Facts:
    """The names `question` does not already hold, and all the numbers and months, of
    `sentence`."""
    names = terms.names_in(sentence, language)
    return Facts(
        names=tuple(terms.missing_names(names, question)) if question else tuple(names),
        numbers=frozenset(terms.numbers_in(sentence, language)),
        months=frozenset(terms.dates_in(sentence)),
    )


NO_FACTS = Facts((), frozenset(), frozenset())


def adds_to(facts: Facts, question: str) -> bool:
    """True when a sentence's facts go beyond what the question states: a name it does not
    hold, or a number or month it does not give. A passage that holds only the question's
    own facts ("Llama 5", asked when Llama 5 comes) is no evidence that it answers it."""
    return bool(
        facts.names
        or facts.numbers - terms.numbers_in(question)
        or facts.months - terms.dates_in(question)
    )


def _apart(text: str) -> tuple[str, list[str]]:
    """`text` without the instructions planted in it (`instruction_spans`), and those
    instructions: words an injected instruction dictates are no evidence for a sentence
    that repeats them."""
    kept, planted, last = [], [], 0
    for a, b in instruction_spans(text):
        kept.append(text[last:a])
        planted.append(text[a:b])
        last = b
    return " ".join([*kept, text[last:]]), planted


def own_words(sentence: str, question: str) -> dict[str, float]:
    """The content words of an answer sentence that the question does not give (as the
    same word or an inflection), weighted 1: what a passage must hold, word for word, to be
    the one the sentence was written from."""
    asked = terms.content_words(question)
    return {
        w: 1.0
        for w in terms.content_words(sentence)
        if not terms.is_generic(w) and not any(terms.same_word(w, q) for q in asked)
    }


class CitationChecker:
    """Verifies and repairs the citations of an answer against the evidence it was given."""

    def __init__(
        self,
        embedder: Embedder,
        threshold: float,
        add_margin: float = 0.05,
        margin: float = 0.05,
        check_names: bool = True,
        name_similarity: float = 0.85,
        fact_bonus: float = 0.15,
        lexical_weight: float = 0.2,
    ) -> None:
        self.embedder = embedder
        self.threshold = threshold
        self.add_threshold = threshold + add_margin
        """An uncited sentence gets a citation only when support is this clear."""
        self.margin = margin
        """A cited passage this much weaker than the best one loses the citation to it."""
        self.check_names = check_names
        self.fact_bonus = fact_bonus
        """Added to the support of a passage that holds every name and number of a sentence,
        when they go beyond the question's ("Eero Saarinen ... 1955" against the Spanish
        sentence that names him and the year)."""
        self.lexical_weight = lexical_weight
        """Weight, beside closeness in meaning, of the share of a sentence's own words (those
        the question does not give) that a passage holds (`own_words`). The embedder finds
        a sentence closer to a passage in its own language: a Portuguese answer written word
        for word from a Spanish sentence ("acelerar ... atraer ... construir encima") is
        otherwise re-cited to a Portuguese one on the same subject ("desacelerar")."""
        self.name_similarity = name_similarity
        """A name not found letter for letter still counts if it is this close in meaning
        to a name of the evidence ("Warsaw" and "Varsovia": 0.94; other names stay < 0.75)."""
        self._cache: dict[str, tuple[list[Span], np.ndarray]] = {}
        self.meanings = Meanings(embedder, name_similarity)
        """Word and name embeddings, cached (shared with the quote fallback's key words)."""
        self.leaks = LeakDetector([SYSTEM_PROMPT])

    def _passage_sentences(
        self, passage: Passage, given: Sequence[Candidate] | None = None
    ) -> tuple[list[Span], np.ndarray]:
        """The passage's sentences (offsets in the passage) and their embeddings: the
        evidence's stored ones when given, else split and embedded as at ingest. An
        injected instruction's sentence gets a zero vector, so it supports nothing."""
        cached = self._cache.get(passage.chunk_id)
        if cached is None:
            if given:
                spans = [
                    Span(c.text, c.start - passage.start, c.end - passage.start) for c in given
                ]
                vectors = np.stack([c.vector for c in given]).astype(np.float32)
            else:
                spans = split_sentences(passage.text) or [Span(passage.text, 0, len(passage.text))]
                vectors = self.embedder.embed_documents([s.text for s in spans], passage.title)
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
        apart = [_apart(p.text) for p in passages]
        injected = [planted for _, instructions in apart for planted in instructions]
        trusted_text = " ".join(
            f"{kept} {p.title}" for (kept, _), p in zip(apart, passages, strict=True)
        )
        if urls_in(sentence) - urls_in(trusted_text):
            return "it holds a link no article reports"
        echoed = echoed_words(sentence, " ".join(injected), trusted_text)
        if echoed:
            return f"it echoes an instruction planted in a passage ({', '.join(sorted(echoed))})"
        return None

    def support(
        self,
        sentences: Sequence[str],
        passages: Sequence[Passage],
        evidence: Evidence | None = None,
    ) -> tuple[np.ndarray, list[list[Span]]]:
        """support[i, j]: how close sentence i is in meaning to the best sentence of passage
        j (the answer sentence embedded as a query against the stored evidence sentence);
        and that best span of each passage."""
        vectors = np.stack([self.embedder.embed_query(s) for s in sentences])
        scores = np.zeros((len(sentences), len(passages)), dtype=np.float32)
        best: list[list[Span]] = [[] for _ in sentences]
        given = evidence.sentences if evidence is not None else None
        for j, passage in enumerate(passages):
            spans, pvecs = self._passage_sentences(passage, given[j] if given else None)
            sims = vectors @ pvecs.T
            for i in range(len(sentences)):
                k = int(np.argmax(sims[i]))
                best[i].append(spans[k])
                scores[i, j] = float(sims[i, k])
        return scores, best

    def missing(
        self, facts: Facts, texts: Sequence[str], languages: Sequence[str] = ()
    ) -> list[str]:
        """The facts of a sentence that none of `texts` (in `languages`, when known: "dos"
        is two in Spanish) holds (empty: all are there)."""
        names = terms.missing_names(facts.names, *texts)
        if names:
            names = self._unmatched_in_meaning(names, texts)
        langs = list(languages) + [""] * (len(texts) - len(languages))
        numbers = facts.numbers - set().union(
            *(terms.numbers_in(t, lang) for t, lang in zip(texts, langs, strict=True))
        )
        months = facts.months - set().union(*(terms.dates_in(t) for t in texts))
        return names + sorted(numbers) + [f"month {m}" for m in sorted(months)]

    def _unmatched_in_meaning(self, names: list[str], texts: Sequence[str]) -> list[str]:
        """The names with no translation among the evidence's capitalised words and names
        ("Warsaw" / "Varsovia", "Germany" / "Alemania")."""
        candidates = {
            terms.fold(w) for t in texts for w in re.findall(r"\b[A-ZÀ-Þ][\w'’-]+", t)
        } | {n for t in texts for s in split_sentences(t) for n in terms.names_in(s.text)}
        return self.meanings.unmatched(names, candidates)

    def check(
        self,
        answer: str,
        passages: Sequence[Passage],
        refusal: str,
        question: str = "",
        evidence: Evidence | None = None,
        language: str = "",
    ) -> Verified:
        """Verify `answer` (model output with [n] markers, in `language`) against `passages`
        (numbered from 1; `evidence`, when given, holds their sentences and vectors)."""
        refused = Verified(True, refusal, (), (), ())
        if not passages or not answer.strip() or is_not_found(answer):
            return refused
        parsed = parse_answer(answer)
        changes: list[str] = []
        kept_parsed = []
        for i, (text, cited) in enumerate(parsed):
            reason = self.injected(text, passages)
            if reason is None and self.check_names:
                if says_not_answered(text):
                    reason = "it says the passages do not answer"
                elif restates(text, question):
                    reason = "it only restates the question"
            if reason:
                changes.append(f"removed sentence {i + 1}: {reason}")
            else:
                kept_parsed.append((text, cited))
        parsed = kept_parsed
        if not parsed:
            return Verified(True, refusal, (), (), tuple(changes))
        scores, best = self.support([s for s, _ in parsed], passages, evidence)
        facts = [
            facts_of(text, question, language) if self.check_names else NO_FACTS
            for text, _ in parsed
        ]
        bonus = [adds_to(f, question) for f in facts]
        own = [own_words(text, question) for text, _ in parsed]
        trusted = [_apart(p.text)[0] for p in passages] if self.lexical_weight else []
        for j, p in enumerate(passages):
            known = terms.numbers_in(p.text)
            for i, (text, _) in enumerate(parsed):
                if not self.check_names:  # the coarse rule: numbers only, no magnitude
                    if terms.numbers_in(text) - known:
                        scores[i, j] = 0.0
                elif bonus[i] and not self.missing(facts[i], [p.text], [p.language]):
                    # The passage holds every name and number of the sentence: that is
                    # evidence of its own, beside closeness in meaning.
                    scores[i, j] += self.fact_bonus
                if self.lexical_weight and own[i]:
                    scores[i, j] += self.lexical_weight * lexical_agreement(own[i], trusted[j])
        sentences: list[Sentence] = []
        citations: list[Citation] = []
        after = _citations_after(parsed)
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
            elif not cited and (
                shared := [
                    n for n in after[i] if 1 <= n <= len(passages) and scores[i, n - 1] >= floor
                ]
            ):
                kept = shared
                changes.append(f"sentence {i + 1} shares {shared} with the sentence after it")
            elif not cited and top_score >= self.add_threshold:
                kept = [top]
                changes.append(f"added [{top}] to sentence {i + 1}")
            elif not cited:
                changes.append(f"sentence {i + 1} has no citation and no passage clearly holds it")
            cited_texts = [passages[n - 1].text for n in kept] or [""]
            cited_langs = [passages[n - 1].language for n in kept]
            if facts[i] and self.missing(facts[i], cited_texts, cited_langs):
                recited = self._recite(facts[i], scores[i], passages)
                if recited is None:
                    lost = self.missing(
                        facts[i], [p.text for p in passages], [p.language for p in passages]
                    )
                    what = ", ".join(lost) or "the passages that hold them do not support it"
                    changes.append(f"removed sentence {i + 1}: not in the evidence ({what})")
                    continue
                changes.append(f"re-cited sentence {i + 1} to {recited}: it holds the names")
                kept = recited
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

    def _recite(
        self, facts: Facts, scores: np.ndarray, passages: Sequence[Passage]
    ) -> list[int] | None:
        """The passages (numbers from 1) that hold every fact of a sentence and support it
        in meaning: the best single one, else the fewest (up to three) together."""
        options = [int(j) + 1 for j in np.argsort(-scores) if scores[j] >= self.threshold]
        for n in options:
            if not self.missing(facts, [passages[n - 1].text], [passages[n - 1].language]):
                return [n]
        chosen: list[int] = []
        for n in options[:3]:
            chosen.append(n)
            together = [passages[m - 1] for m in chosen]
            if not self.missing(facts, [p.text for p in together], [p.language for p in together]):
                return sorted(chosen)
        return None

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


Lexical = Callable[[Candidate], float]
"""How much of the question's key terms an evidence sentence holds (0..1)."""


def _literal(cand: Candidate) -> float:
    return cand.lexical


def quote(
    evidence: Evidence,
    question: str,
    language: str,
    min_similarity: float,
    min_lexical: float,
    lexical: Lexical | None = None,
    relaxed: tuple[float, float] | None = None,
) -> Verified | None:
    """The best evidence sentence, quoted in its own language with a lead-in in the
    asker's, when it clearly answers the question: close in meaning, holding most of its
    names, numbers and key words (`lexical`, by default the literal share the ranking
    computed), and, for a question that asks how many, when or who, holding a number, a
    date or a name. `relaxed` (similarity, share): a sentence holding at least that share
    of the key words needs only that similarity. None otherwise."""
    kind = answer_kind(question)
    share = lexical or _literal
    for cand in evidence.ranked:
        if not _clear(cand.similarity, share(cand), min_similarity, min_lexical, relaxed):
            continue
        if kind and not holds_kind(kind, cand.text, question):
            continue
        for n, group in enumerate(evidence.sentences, 1):
            if any(c.source == cand.source and c.start == cand.start for c in group):
                text = quote_lead(language).format(quote=cand.text)
                sentence = Sentence(text, (n,), supported=True, quoted=True)
                p = evidence.passages[n - 1]
                citation = Citation(
                    n, p.source, p.title, p.chunk_id, cand.text, cand.start, cand.end, 1.0
                )
                return Verified(
                    False, render([sentence]), (sentence,), (citation,), ("quoted the evidence",)
                )
    return None


def _clear(
    similarity: float,
    held: float,
    min_similarity: float,
    min_lexical: float,
    relaxed: tuple[float, float] | None,
) -> bool:
    """Whether a sentence holding `held` of the key words is clear enough to quote: it
    holds at least `min_lexical` of them, and it is at least `min_similarity` close in
    meaning, or, with `relaxed` (similarity, share), that lower similarity while holding
    at least that share."""
    if held < min_lexical:
        return False
    if similarity >= min_similarity:
        return True
    return relaxed is not None and similarity >= relaxed[0] and held >= relaxed[1]


def quote_cited(verified: Verified, language: str) -> Verified:
    """An answer the model kept writing in another language, replaced by the evidence
    sentence it cites with the best support, quoted with a lead-in in the asker's language:
    what was checked stays, in the words of the article."""
    if verified.refused or not verified.citations:
        return verified
    best = max(verified.citations, key=lambda c: c.support)
    sentence = Sentence(
        quote_lead(language).format(quote=best.quote), (best.n,), supported=True, quoted=True
    )
    changes = (*verified.changes, "quoted what the answer in another language cites")
    return Verified(False, render([sentence]), (sentence,), (best,), changes)


def per_article(
    verified: Verified,
    evidence: Evidence,
    min_similarity: float,
    min_lexical: float,
    language: str,
    lexical: Lexical | None = None,
    names: Sequence[str] = (),
) -> Verified:
    """The answer to a broad question, one point per article, in article order.

    The model's checked sentences are ordered by the passage (article) they cite, and an
    article of the evidence that no kept sentence cites, but whose sentence clearly
    addresses the question, is quoted: as `quote` judges it, or holding every one of the
    question's key words, or one of its `names` and `min_lexical` of its key words
    ("which articles mention X or Y" asks for just that; a question about the articles
    as a whole is far in meaning from any one sentence). Nothing left: the refusal.
    """
    share = lexical or _literal
    passages = evidence.passages
    kept = [] if verified.refused else list(verified.sentences)
    citations = [] if verified.refused else list(verified.citations)
    cited = {passages[n - 1].source for s in kept for n in s.citations}
    quoted = 0
    for n, group in enumerate(evidence.sentences, 1):
        p = passages[n - 1]
        if p.source in cited or not group:
            continue
        cand = group[-1]  # the article's best sentence; a neighbour it needs comes first
        holds_all = cand.lexical >= 0.999
        named = len(terms.missing_names(names, cand.text)) < len(names)
        if not holds_all and (
            (cand.similarity < min_similarity and not named) or share(cand) < min_lexical
        ):
            continue
        text = article_quote_lead(language).format(quote=cand.text)
        kept.append(Sentence(text, (n,), supported=True, quoted=True))
        citations.append(
            Citation(n, p.source, p.title, p.chunk_id, cand.text, cand.start, cand.end, 1.0)
        )
        cited.add(p.source)
        quoted += 1
    if not kept:
        return verified
    kept.sort(key=lambda s: min(s.citations, default=len(passages) + 1))
    changes = verified.changes + ((f"quoted {quoted} article(s)",) if quoted else ())
    return Verified(False, render(kept), tuple(kept), tuple(citations), changes)


def with_lead(verified: Verified, lead: str) -> Verified:
    """`verified` with an uncited first sentence of the product's own (e.g. "only 2 of
    the 5 articles mention it")."""
    sentences = (Sentence(lead, (), supported=True), *verified.sentences)
    return dataclasses.replace(verified, text=render(sentences), sentences=sentences)


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
