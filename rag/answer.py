"""The one public entry point: question -> retrieve -> evidence -> prompt -> generate -> cite.

`Assistant.stream()` yields events in the order a chat wants them: the evidence as soon as
retrieval is done, then the model's tokens, then the verified `Answer`. `ask()` returns
just the answer. The models load on first use and stay loaded.

The model reads only the best sentences of the retrieved passages (rag/evidence.py), a few
hundred tokens, and its answer is checked against those very sentences (rag/cite.py). An
answer in the wrong language is generated once more with a stronger instruction; when
nothing of an answer holds but one evidence sentence clearly answers, that sentence is
quoted instead of a refusal.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rag import lang, prompts, terms
from rag.build import IngestReport, Progress, ingest
from rag.cite import (
    CitationChecker,
    Lexical,
    Verified,
    per_article,
    quote,
    quote_cited,
    with_lead,
)
from rag.config import Settings
from rag.evidence import Candidate, Evidence, is_broad, key_terms, whole_passages
from rag.generate import GenerationStats
from rag.rewrite import Turn, rewrite
from rag.schema import Answer, Passage, Translation

if TYPE_CHECKING:
    from rag.embed import Embedder
    from rag.generate import Generator
    from rag.lock import Lease
    from rag.retrieve import Retriever
    from rag.store import DocumentInfo, Store
    from rag.translate import Translator

log = logging.getLogger(__name__)


class QuestionError(ValueError):
    """A question that cannot be answered as given (e.g. empty); the message is for the user."""


@dataclass(frozen=True)
class Rewritten:
    """A follow-up was rewritten into this standalone question, which is what gets searched."""

    question: str
    asked: str


@dataclass(frozen=True)
class Sources:
    """Retrieval is done: these passages will be shown to the model."""

    passages: tuple[Passage, ...]
    language: str


@dataclass(frozen=True)
class Token:
    """A piece of the model's raw answer, as it is written."""

    text: str


@dataclass(frozen=True)
class Retrying:
    """The answer came in the wrong language: the tokens that follow replace it."""

    notice: str


@dataclass(frozen=True)
class Done:
    """The verified answer."""

    answer: Answer


Event = Rewritten | Sources | Token | Retrying | Done

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def prepare_question(question: str, limit: int) -> tuple[str, tuple[str, ...]]:
    """Normalise a question: no control characters, collapsed spaces, at most `limit` chars.

    Raises QuestionError for a question with nothing in it.
    """
    text = " ".join(_CONTROL.sub(" ", question or "").split())
    text = text.encode("utf-8", "replace").decode("utf-8")  # lone surrogates become "?"
    if not any(ch.isalnum() for ch in text):
        raise QuestionError(prompts.EMPTY_QUESTION)
    if len(text) <= limit:
        return text, ()
    trimmed = text[:limit].rsplit(" ", 1)[0] if " " in text[:limit] else text[:limit]
    return trimmed, (prompts.TRIMMED_NOTICE.format(n=len(text), limit=len(trimmed)),)


ARTICLE_TEXT_LIMIT = 200
"""Up to this many indexed articles, a broad question's names are counted in their texts."""


class Assistant:
    """Answers questions about the indexed articles, with checked citations."""

    def __init__(
        self,
        settings: Settings,
        embedder: Embedder | None = None,
        generator: Generator | None = None,
    ) -> None:
        self.settings = settings
        self._embedder = embedder
        self._generator = generator
        self._store: Store | None = None
        self._retriever: Retriever | None = None
        self._checker: CitationChecker | None = None
        self._translator: Translator | None = None
        self._texts: tuple[tuple[tuple[str, str], ...], list[str]] | None = None

    # ------------------------------------------------------------ parts, loaded lazily

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            from rag.models import make_embedder

            self._embedder = make_embedder(self.settings)
        return self._embedder

    @property
    def generator(self) -> Generator:
        if self._generator is None:
            from rag.models import make_generator

            self._generator = make_generator(self.settings)
        return self._generator

    @property
    def store(self) -> Store:
        if self._store is None:
            from rag.models import open_store

            self._store = open_store(self.settings, self.embedder)
        return self._store

    @property
    def retriever(self) -> Retriever:
        if self._retriever is None:
            from rag.retrieve import Retriever

            self._retriever = Retriever(self.store, self.embedder, self.settings)
        return self._retriever

    @property
    def checker(self) -> CitationChecker:
        if self._checker is None:
            s = self.settings
            self._checker = CitationChecker(
                self.embedder,
                s.support_threshold,
                margin=s.support_margin,
                check_names=s.check_names,
                lexical_weight=s.support_lexical_weight,
            )
        return self._checker

    @property
    def translator(self) -> Translator:
        """Quotes in the asker's language, on demand and cached (rag/translate.py); the
        model and the embedder load only when a translation has to be made."""
        if self._translator is None:
            from rag.translate import Translator

            given = self._generator.model_id if self._generator is not None else None
            self._translator = Translator(
                self.settings, lambda: self.generator, lambda: self.checker, model_id=given
            )
        return self._translator

    def translate(self, text: str, language: str, source: str | None = None) -> Translation:
        """`text` (a cited quote) in `language`, made by the answer model from the text
        alone, or read from the cache; `source` is its language if known. Only on demand,
        never before an answer. Raises TranslationError for an empty or too long text or
        an unknown language."""
        return self.translator.translate(text, language, source)

    # ------------------------------------------------------------ the index

    def ingest(
        self, paths: Sequence[Path], progress: Progress | None = None, rebuild: bool = False
    ) -> IngestReport:
        """Add or update the articles under `paths` (files or folders); with `rebuild`,
        embed them all again and drop indexed articles no longer found.

        Raises IndexBusy at once if another process is writing to the index.
        """
        from rag.lock import index_lock
        from rag.store import StoreMismatch

        s = self.settings
        with index_lock(s) as lease:
            if rebuild:
                try:
                    _ = self.store  # opening it checks the embedding model
                except StoreMismatch:
                    from rag.models import open_store

                    if progress:
                        progress("the index was built with another embedding model: starting over")
                    self._store, self._retriever = open_store(s, self.embedder, reset=True), None
            return ingest(
                paths,
                self.store,
                self.embedder,
                s.chunk_size,
                s.chunk_overlap,
                progress,
                max_file_bytes=s.max_file_bytes,
                rebuild=rebuild,
                check_vectors=self._after_crash(lease),
            )

    def documents(self) -> dict[str, DocumentInfo]:
        """The indexed articles by file name, each with the other articles of its story."""
        docs = self.store.documents()
        stories = self.retriever.stories()
        return {src: dataclasses.replace(d, story=stories.others(src)) for src, d in docs.items()}

    def story(self, source: str) -> tuple[DocumentInfo, ...]:
        """The other indexed articles that tell the same story as `source` (rag/stories.py);
        () for an article alone or not indexed."""
        docs = self.store.documents()
        return tuple(docs[s] for s in self.retriever.stories().others(source) if s in docs)

    def article_text(self, source: str) -> str:
        """The cleaned text of one indexed article ("" if it is not indexed)."""
        return self.store.article_text(source)

    def remove(self, source: str) -> bool:
        """Remove one article from the index; False if it was not there.

        Raises IndexBusy at once if another process is writing to the index.
        """
        from rag.check import check
        from rag.lock import index_lock

        with index_lock(self.settings) as lease:
            if self._after_crash(lease):
                health = check(self.store, repair=True)
                log.warning("the last writer died mid-write; index check: %s", health.summary())
            return self.store.remove(source) > 0

    @staticmethod
    def _after_crash(lease: Lease) -> bool:
        """True once per lease whose previous holder died holding the write lock: the
        writer then checks the vector index too before it writes."""
        due = lease.after_crash and not lease.checked
        lease.checked = True
        return due

    # ------------------------------------------------------------ the query path

    def _fit(
        self, question: str, language: str, passages: tuple[Passage, ...]
    ) -> tuple[tuple[Passage, ...], list[dict[str, str]], tuple[str, ...]]:
        """The prompt, with as many of the best passages as fit the model's context."""
        budget = self.generator.context_size - self.settings.max_answer_tokens - 16
        wanted = len(passages)
        while True:
            messages = prompts.build_messages(question, language, passages)
            used = sum(self.generator.count_tokens(m["content"]) + 8 for m in messages)
            if used <= budget or len(passages) == 1:
                break
            passages = passages[:-1]
        if used > budget:
            raise QuestionError(prompts.TOO_LONG)
        if len(passages) < wanted:
            return passages, messages, (prompts.FEWER_PASSAGES.format(n=len(passages)),)
        return passages, messages, ()

    def ask(self, question: str, history: Sequence[Turn] = ()) -> Answer:
        """Answer one question (blocking)."""
        for event in self.stream(question, history):
            if isinstance(event, Done):
                return event.answer
        raise RuntimeError("the answer stream ended without an answer")  # pragma: no cover

    def stream(self, question: str, history: Sequence[Turn] = ()) -> Iterator[Event]:
        """Answer one question, yielding Sources, then Tokens, then Done.

        With a `history` of earlier turns, a follow-up question is first rewritten into a
        standalone one (yielding Rewritten), which is then searched for and answered.
        Raises QuestionError for an empty question, before any work is done.
        """
        s = self.settings
        started = time.perf_counter()
        question, notices = prepare_question(question, s.max_question_chars)
        language = lang.detect(question)
        timings: dict[str, float] = {}
        asked = ""
        if history:
            standalone = rewrite(self.generator, history, question, language)
            timings["rewrite_s"] = time.perf_counter() - started
            if standalone.method != "none":
                asked, question = question, standalone.question
                notices += (prompts.REWRITE_NOTICE.format(question=question),)
                yield Rewritten(question, asked)
        evidence = self._evidence(question, language)
        passages = evidence.passages
        retrieved = time.perf_counter()
        timings["retrieve_s"] = retrieved - started - timings.get("rewrite_s", 0.0)
        yield Sources(passages, language)

        def finish(verified: Verified, raw: str, extra: tuple[str, ...] = ()) -> Done:
            timings["total_s"] = time.perf_counter() - started
            return Done(
                Answer(
                    question=question,
                    language=language,
                    text=verified.text,
                    refused=verified.refused,
                    sentences=verified.sentences,
                    citations=verified.citations,
                    passages=passages,
                    timings=dict(timings),
                    notices=notices + extra,
                    raw_text=raw,
                    checks=verified.changes,
                    asked=asked,
                )
            )

        refusal = prompts.refusal(language)
        if not passages:
            yield finish(Verified(True, refusal, (), (), ()), "", (prompts.EMPTY_INDEX,))
            return
        if evidence.relevance < s.min_relevance:
            timings["ttft_s"] = 0.0
            gate = prompts.GATE_CHECK.format(score=evidence.relevance, floor=s.min_relevance)
            yield finish(Verified(True, refusal, (), (), (gate,)), "")
            return

        passages, messages, fitted = self._fit(question, language, passages)
        notices += fitted
        stats = GenerationStats()
        pieces: list[str] = []
        for piece in self.generator.stream(messages, s.max_answer_tokens, stats):
            if not pieces:
                timings["ttft_s"] = time.perf_counter() - started
            pieces.append(piece)
            yield Token(piece)
        generated = time.perf_counter()
        timings["generate_s"] = generated - retrieved
        timings.setdefault("ttft_s", generated - started)
        _count(timings, stats)
        raw = "".join(pieces)
        verified = self.verify(raw, question, language, evidence)
        timings["check_s"] = time.perf_counter() - generated
        if s.language_retry and not verified.refused and wrong_language(verified, language):
            yield Retrying(prompts.RETRY_NOTICE)
            retry = prompts.build_messages(question, language, passages, retry=True)
            stats = GenerationStats()
            pieces = []
            for piece in self.generator.stream(retry, s.max_answer_tokens, stats):
                pieces.append(piece)
                yield Token(piece)
            _count(timings, stats)
            raw = "".join(pieces)
            checked = time.perf_counter()
            verified = self.verify_retry(raw, question, language, evidence)
            timings["retry_s"] = time.perf_counter() - checked
        yield finish(verified, raw)

    def _broad(self, question: str) -> bool:
        """True when the question is about the articles as a whole and is answered article
        by article (`broad_questions`; sentence evidence only)."""
        s = self.settings
        return s.broad_questions and s.evidence_mode == "sentences" and is_broad(question)

    def naming(self, question: str) -> tuple[int, int] | None:
        """(articles whose text holds every name of the question, indexed articles), or
        None when the question names nothing or the index is larger than
        `ARTICLE_TEXT_LIMIT` articles. A literal count, so "only 2 of the 5 articles mention
        it" is a claim anyone can check."""
        names = terms.names_in(question)
        texts = self._article_texts() if names else []
        if not texts:
            return None
        return sum(not terms.missing_names(names, t) for t in texts), len(texts)

    def distinctive_names(self, question: str, language: str = "") -> list[str]:
        """The question's names that fewer than half of the indexed articles hold: naming
        one of them is what sets an article apart ("Anthropic"), where a name most articles
        hold ("Meta", "Zuckerberg" here) says little. Empty when the index has over
        `ARTICLE_TEXT_LIMIT` articles."""
        names = terms.names_in(question, language)
        texts = self._article_texts() if names else []
        return [
            n for n in names if sum(not terms.missing_names([n], t) for t in texts) < len(texts) / 2
        ]

    def _article_texts(self) -> list[str]:
        """The text of every indexed article, read once per state of the index (a broad
        question counts its names in them twice: `naming`, `distinctive_names`), or [] for
        fewer than two or more than `ARTICLE_TEXT_LIMIT` articles."""
        docs = self.store.documents()
        if not 1 < len(docs) <= ARTICLE_TEXT_LIMIT:
            return []
        key = tuple(sorted((source, d.content_hash) for source, d in docs.items()))
        if self._texts is None or self._texts[0] != key:
            self._texts = (key, [self.article_text(source) for source in sorted(docs)])
        return self._texts[1]

    def _evidence(self, question: str, language: str = "") -> Evidence:
        """What the model will read: the packed best sentences (a broad question: the best
        of each article), or (evidence_mode `passages`) the top_k whole passages.
        `language` is the question's (which of its capitalised words are names)."""
        if self.settings.evidence_mode == "passages":
            return whole_passages(self.retriever.retrieve(question))
        if self._broad(question):
            return self.retriever.broad_evidence(question, self.generator.count_tokens)
        return self.retriever.evidence(question, self.generator.count_tokens, language=language)

    def verify(self, raw: str, question: str, language: str, evidence: Evidence) -> Verified:
        """The citation check of a raw answer against the evidence, then, if nothing of it
        holds, the quote of an evidence sentence that clearly answers (or the refusal)."""
        s = self.settings
        refusal = prompts.refusal(language)
        passages = evidence.passages
        if s.verify_citations:
            verified = self.checker.check(raw, passages, refusal, question, evidence, language)
        else:
            verified = CitationChecker.unchecked(raw, passages, refusal)
        if self._broad(question) and evidence.sentences:
            return self._per_article(verified, evidence, question, language)
        if verified.refused and s.quote_fallback and passages:
            quoted = self._quote(evidence, question, language)
            if quoted is not None:
                return dataclasses.replace(quoted, changes=verified.changes + quoted.changes)
        return verified

    def verify_retry(self, raw: str, question: str, language: str, evidence: Evidence) -> Verified:
        """`verify` for the answer generated again with the stronger language instruction:
        if it is still in another language, the evidence is quoted with a lead-in in the
        asker's: the sentence that clearly answers, else the one the answer cites."""
        verified = self.verify(raw, question, language, evidence)
        if not verified.refused and wrong_language(verified, language):
            quoted = self._quote(evidence, question, language)
            verified = quoted or quote_cited(verified, language)
        return verified

    def recorded_evidence(self, question: str, passages: Sequence[Passage]) -> Evidence:
        """The evidence of a recorded answer, rebuilt from its passages (for replays)."""
        from rag.evidence import recorded

        s = self.settings
        return recorded(
            question,
            self.embedder.embed_query(question),
            passages,
            self.retriever.embed_evidence,
            s.lexical_weight,
            s.passage_weight,
            s.answer_kind_weight,
        )

    def _per_article(
        self, verified: Verified, evidence: Evidence, question: str, language: str
    ) -> Verified:
        """A broad question's answer: a cited point per article (`cite.per_article`), led by
        how many articles name what it asks about when only some do."""
        s = self.settings
        inf = float("inf")
        verified = per_article(
            verified,
            evidence,
            s.quote_min_similarity if s.quote_fallback else inf,
            s.quote_min_lexical if s.quote_fallback else inf,
            language,
            self._lexical(question),
            self.distinctive_names(question, language),
        )
        named = self.naming(question)
        if named and not verified.refused and 0 < named[0] < named[1]:
            verified = with_lead(verified, prompts.only_some(language, *named))
        return verified

    def _quote(self, evidence: Evidence, question: str, language: str) -> Verified | None:
        s = self.settings
        if not s.quote_fallback:
            return None
        if self._broad(question) and evidence.sentences:
            refused = Verified(True, prompts.refusal(language), (), (), ())
            quoted = self._per_article(refused, evidence, question, language)
            return None if quoted.refused else quoted
        return quote(
            evidence,
            question,
            language,
            s.quote_min_similarity,
            s.quote_min_lexical,
            self._lexical(question),
            (s.quote_relaxed_similarity, s.quote_relaxed_lexical),
        )

    def _lexical(self, question: str) -> Lexical | None:
        """The share of the question's key terms a sentence holds, literally or in meaning
        (rag/meaning.py), for the quote fallback; None: the ranking's literal share."""
        s = self.settings
        if s.word_similarity > 1:
            return None
        weights = key_terms(question)
        meanings = self.checker.meanings

        def share(cand: Candidate) -> float:
            if cand.lexical >= 0.999:  # every key term literally: nothing to embed
                return cand.lexical
            return meanings.lexical(weights, cand.text, s.word_similarity)

        return share


def _count(timings: dict[str, float], stats: GenerationStats) -> None:
    """Add one generation's token counts to the answer's (a retry adds a second one)."""
    for key, value in (
        ("prompt_tokens", stats.prompt_tokens),
        ("new_prompt_tokens", stats.new_prompt_tokens),
        ("completion_tokens", stats.completion_tokens),
    ):
        timings[key] = timings.get(key, 0) + value


def wrong_language(verified: Verified, language: str) -> bool:
    """True when the answer's own sentences (not its quotes) are clearly in another
    language than the question's."""
    text = " ".join(s.text for s in verified.sentences if not s.quoted)
    if len(text.split()) < 4:
        return False
    return lang.detect(text, language) != language and lang.confidence(text, language) < 0.3
