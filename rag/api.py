"""The HTTP API (`rag serve`): the newsroom's own tools ask, ingest and manage articles.

A FastAPI app around one `Assistant`, the same entry point as the chat and the CLI. The
streamed answer is a Server-Sent Events mirror of `Assistant.stream()`: a `sources` event,
`token` events, then one `answer` event (an `error` event if the model fails midway).
Answers carry the eval contract's fields (rag/schema.py `result_row`), with more detail
on each citation. Generation runs one at a time (the generator's lock); writes to the index
take a lock of their own. The schema is served at /openapi.json.
"""

# No `from __future__ import annotations`: FastAPI reads the endpoint annotations, some of
# which name types imported inside `create_app`.

import json
import tempfile
import threading
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from rag import lang
from rag.access import bearer_ok
from rag.answer import (
    Assistant,
    Done,
    QuestionError,
    Retrying,
    Sources,
    Token,
    prepare_question,
)
from rag.generate import ModelServerError
from rag.ingest import TOO_LARGE
from rag.schema import Answer, Passage, Translation, passage_rows, result_row
from rag.store import StoreMismatch
from rag.translate import TranslationError, target_language

if TYPE_CHECKING:
    from fastapi import FastAPI


class AskIn(BaseModel):
    question: str = Field(description="The question, in any language the articles speak.")


class AskTranslatedIn(AskIn):
    translate_to: str | None = Field(
        None,
        description="Optional ISO 639-1 code (e.g. `en`): each citation whose article is in "
        "another language also carries its quote translated into it (`translation`), made "
        "after the answer by the same model, one generation per quote not yet cached.",
    )


class TranslateIn(BaseModel):
    text: str = Field(description="The text to translate: a citation's `quote`.")
    language: str = Field(description="ISO 639-1 code to translate into, e.g. `en`.")


class TranslationOut(BaseModel):
    translation: str = Field(description="The text in `language` (machine translated).")
    original: str = Field(description="The text as it was translated (spaces normalised).")
    source_language: str = Field(description="ISO 639-1 code of the original (detected).")
    language: str = Field(description="ISO 639-1 code of the translation.")
    label: str = Field(
        description="What to show with it: `Machine translation` (or, for a text already in "
        "`language`, given back as it is: `Already in English: not translated`)."
    )
    warnings: list[str] = Field(
        description="Each name, number (with its magnitude) or month of the original the "
        "translation lost or changed, in words; empty when all were kept."
    )
    cached: bool = Field(description="True when it came from the cache (no model ran).")


class CitationOut(BaseModel):
    n: int = Field(description="The `[n]` in the answer: position in `passages`, from 1.")
    source: str = Field(description="File name of the article.")
    quote: str = Field(description="The article sentence that supports the cited sentence.")
    title: str
    chunk_id: str
    quote_start: int = Field(description="Character offset of the quote in the article text.")
    quote_end: int
    support: float = Field(description="Cosine similarity of the quote to the cited sentence.")
    translation: TranslationOut | None = Field(
        None, description="The quote in `translate_to` (POST /ask with `translate_to` only)."
    )


class RetrievedOut(BaseModel):
    source: str
    score: float


class PassageOut(BaseModel):
    n: int = Field(description="The number the answer cites this passage by.")
    chunk_id: str
    source: str
    title: str
    language: str
    text: str
    start: int = Field(description="Character offsets of the passage in the article text.")
    end: int
    score: float = Field(description="Fused retrieval score (higher is better).")
    similarity: float = Field(description="Cosine similarity to the question.")


class AnswerOut(BaseModel):
    question: str = Field(description="The question as answered (normalised, maybe trimmed).")
    answer: str = Field(description="The answer, with `[n]` citation markers.")
    refused: bool = Field(description="True when the articles don't say (no citations then).")
    language: str = Field(description="Language of the question and of the answer.")
    citations: list[CitationOut]
    retrieved: list[RetrievedOut]
    passages: list[PassageOut]
    notices: list[str] = Field(description="What the asker should know, e.g. a trimmed question.")
    timings: dict[str, float] = Field(description="retrieve_s, ttft_s, total_s (seconds).")


class ArticleOut(BaseModel):
    source: str
    title: str
    language: str
    chunks: int
    story: list[str] = Field(
        default_factory=list,
        description="The other indexed articles that tell the same story (e.g. its version "
        "in another language), by file name.",
    )


class RejectedOut(BaseModel):
    file: str
    reason: str


class DuplicateOut(BaseModel):
    file: str
    same_as: str = Field(description="The indexed article with the same text.")


class IngestOut(BaseModel):
    added: list[str]
    updated: list[str]
    unchanged: list[str]
    duplicates: list[DuplicateOut]
    rejected: list[RejectedOut]
    chunks: int
    seconds: float


class DeletedOut(BaseModel):
    source: str
    deleted: bool


class HealthOut(BaseModel):
    status: str
    articles: int
    store_backend: str
    llm_backend: str
    model: str


def translation_out(t: Translation) -> TranslationOut:
    return TranslationOut(
        translation=t.text,
        original=t.original,
        source_language=t.source_language,
        language=t.language,
        label=t.label,
        warnings=list(t.warnings),
        cached=t.cached,
    )


def passage_out(passages: tuple[Passage, ...]) -> list[PassageOut]:
    return [PassageOut(n=i, **row) for i, row in enumerate(passage_rows(passages), 1)]


def answer_out(answer: Answer) -> AnswerOut:
    """The eval contract row of an answer, with each citation's offsets and the passages."""
    row = result_row(None, answer)
    citations = [
        CitationOut(
            **contract,
            title=c.title,
            chunk_id=c.chunk_id,
            quote_start=c.quote_start,
            quote_end=c.quote_end,
            support=round(c.support, 4),
        )
        for contract, c in zip(row["citations"], answer.citations, strict=True)
    ]
    return AnswerOut(
        question=row["question"],
        answer=row["answer"],
        refused=row["refused"],
        language=answer.language,
        citations=citations,
        retrieved=[RetrievedOut(**r) for r in row["retrieved"]],
        passages=passage_out(answer.passages),
        notices=list(answer.notices),
        timings=row["timings"],
    )


def _sse(event: str, data: Any) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def warm_up(assistant: Assistant) -> None:
    """Load every part once before serving: no visitor waits for it, and no two requests
    load one twice. Fails here, with the CLI's clear message, on a bad configuration."""
    lang.detect("Warm-up question?")
    assistant.retriever  # noqa: B018 - loads the embedder and opens the store
    assistant.checker  # noqa: B018
    assistant.generator  # noqa: B018


def create_app(assistant: Assistant) -> "FastAPI":
    """The API over `assistant` (call `warm_up` first to have the models loaded)."""
    import httpx
    from fastapi import FastAPI, File, HTTPException, UploadFile
    from fastapi.responses import JSONResponse, StreamingResponse
    from starlette.requests import Request
    from starlette.responses import Response

    index_lock = threading.Lock()
    settings = assistant.settings
    app = FastAPI(
        title="Ask the articles",
        version="1",
        summary="Cited answers from the indexed news articles.",
    )

    def error(status: int, prefix: str = "") -> Any:
        async def handler(_request: Request, exc: Exception) -> JSONResponse:
            return JSONResponse(status_code=status, content={"detail": f"{prefix}{exc}"})

        return handler

    app.add_exception_handler(QuestionError, error(422))  # the message is for the asker
    app.add_exception_handler(TranslationError, error(422))
    app.add_exception_handler(ModelServerError, error(502))
    # The Chroma server cannot be reached: when connecting, or (httpx's error) later on.
    app.add_exception_handler(ConnectionError, error(503))
    app.add_exception_handler(
        httpx.TransportError, error(503, "the Chroma server stopped answering: ")
    )
    app.add_exception_handler(StoreMismatch, error(503))

    if settings.api_key is not None:
        key = settings.api_key.get_secret_value()

        @app.middleware("http")
        async def require_key(
            request: Request, call_next: Callable[[Request], Awaitable[Response]]
        ) -> Response:
            """Every route but /health (and the schema and docs with them) wants the key."""
            if request.url.path == "/health" or bearer_ok(
                request.headers.get("authorization"), key
            ):
                return await call_next(request)
            return JSONResponse(
                status_code=401,
                content={"detail": "missing or wrong API key: send Authorization: Bearer <key>"},
                headers={"WWW-Authenticate": "Bearer"},
            )

    @app.get("/health", tags=["operations"])
    def health() -> HealthOut:
        """Ready: the models are loaded and the store answers."""
        if settings.llm_backend == "openai":
            model = settings.llm_model_name
        else:
            model = settings.llm_model.name
        return HealthOut(
            status="ok",
            articles=len(assistant.store.documents()),  # no grouping: health stays cheap
            store_backend=settings.store_backend,
            llm_backend=settings.llm_backend,
            model=model,
        )

    @app.post("/ask", tags=["questions"], responses={422: {"description": "Empty question"}})
    def ask(body: AskTranslatedIn) -> AnswerOut:
        """Answer one question; the answer comes whole, with its checked citations (and,
        with `translate_to`, each quote from an article in another language translated)."""
        target = target_language(body.translate_to) if body.translate_to else None
        answer = assistant.ask(body.question)
        out = answer_out(answer)
        if target is not None:
            for c in out.citations:
                source = answer.passages[c.n - 1].language
                if source != target:
                    made = assistant.translate(c.quote, target, source)
                    c.translation = translation_out(made)
        return out

    @app.post(
        "/translate",
        tags=["questions"],
        responses={422: {"description": "Empty or too long text, or an unknown language"}},
    )
    def translate(body: TranslateIn) -> TranslationOut:
        """Translate one quote into `language` with the answer model, from the quote alone;
        cached per (text, language, model), so asking again costs nothing. Labelled a
        machine translation, with a warning for each name, number or month it lost or
        changed. Runs one generation at a time with the answers (the model's lock)."""
        return translation_out(assistant.translate(body.text, body.language))

    @app.post(
        "/ask/stream",
        tags=["questions"],
        response_class=StreamingResponse,
        responses={
            200: {
                "content": {"text/event-stream": {}},
                "description": "Server-Sent Events: `sources` ({language, passages}), `token` "
                "({text}) as the model writes, then `answer` (as POST /ask returns it); "
                "`error` ({detail}) if the model fails midway.",
            },
            422: {"description": "Empty question"},
        },
    )
    def ask_stream(body: AskIn) -> StreamingResponse:
        """Answer one question as Server-Sent Events, token by token."""
        prepare_question(body.question, settings.max_question_chars)  # 422 before streaming

        def events() -> Iterator[str]:
            try:
                for event in assistant.stream(body.question):
                    if isinstance(event, Sources):
                        passages = [p.model_dump() for p in passage_out(event.passages)]
                        yield _sse("sources", {"language": event.language, "passages": passages})
                    elif isinstance(event, Token):
                        yield _sse("token", {"text": event.text})
                    elif isinstance(event, Retrying):
                        yield _sse("retry", {"detail": event.notice})
                    elif isinstance(event, Done):
                        yield _sse("answer", answer_out(event.answer).model_dump())
            except (ModelServerError, ConnectionError) as e:
                yield _sse("error", {"detail": str(e)})
            except httpx.TransportError as e:
                yield _sse("error", {"detail": f"the Chroma server stopped answering: {e}"})

        return StreamingResponse(
            events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
        )

    @app.get("/articles", tags=["articles"])
    def list_articles() -> list[ArticleOut]:
        """The indexed articles, by file name, each with the others of its story."""
        docs = assistant.documents()
        return [
            ArticleOut(
                source=d.source,
                title=d.title,
                language=d.language,
                chunks=d.chunks,
                story=list(d.story),
            )
            for d in sorted(docs.values(), key=lambda d: d.source)
        ]

    upload = File(description="Article files: .txt, .md or .html")

    @app.post("/articles", tags=["articles"])
    def ingest(files: list[UploadFile] = upload) -> IngestOut:
        """Index uploaded articles; an article is known by its file name, and re-uploading
        it replaces it. Each file is reported added, updated, unchanged, duplicate or
        rejected (with the reason)."""
        limit = settings.max_file_bytes
        too_large: list[RejectedOut] = []
        with tempfile.TemporaryDirectory(prefix="rag-upload-") as tmp:
            paths = []
            for i, part in enumerate(files):
                name = Path(part.filename or "").name
                if not name or name.startswith("."):
                    name = f"unnamed-{i}"
                # one folder per upload: two files with one name are both seen (and one refused)
                target = Path(tmp) / str(i) / name
                target.parent.mkdir()
                with target.open("wb") as out:
                    size = _copy_at_most(part.file, out, limit + 1)
                if size > limit:  # refused before it is indexed or kept
                    target.unlink()
                    reason = TOO_LARGE.format(size=part.size or size, limit=limit)
                    too_large.append(RejectedOut(file=name, reason=reason))
                    continue
                paths.append(target)
            with index_lock:
                report = assistant.ingest(paths)
        return IngestOut(
            added=report.added,
            updated=report.updated,
            unchanged=report.unchanged,
            duplicates=[DuplicateOut(file=f, same_as=t) for f, t in report.duplicates],
            rejected=too_large
            + [RejectedOut(file=Path(r.path).name, reason=r.reason) for r in report.rejected],
            chunks=report.chunks,
            seconds=round(report.seconds, 3),
        )

    @app.delete(
        "/articles/{source}", tags=["articles"], responses={404: {"description": "Not indexed"}}
    )
    def delete_article(source: str) -> DeletedOut:
        """Remove one article (all its passages) from the index."""
        with index_lock:
            if not assistant.remove(source):
                raise HTTPException(404, detail=f"no indexed article named {source!r}")
        return DeletedOut(source=source, deleted=True)

    return app


def _copy_at_most(src: Any, dst: Any, limit: int, block: int = 1 << 20) -> int:
    """Copy up to `limit` bytes from one file object to another; return how many."""
    copied = 0
    while copied < limit and (data := src.read(min(block, limit - copied))):
        dst.write(data)
        copied += len(data)
    return copied
