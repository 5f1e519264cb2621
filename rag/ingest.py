"""Read article files, strip what is not the article, detect the language: -> `Article`.

News pages carry text that is not the story: navigation crumbs, share counters, image
captions (often in another language than the article), newsletter calls to action, a
trailing "Source" label. Left in, they get embedded, retrieved and cited as if they were
news. Cleaning works line by line with rules that are cheap to read and to test.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from rag import lang
from rag.schema import Article

SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm")
"""File types that ingestion reads; others are reported and skipped."""

MAX_FILE_BYTES = 20_000_000
"""Larger files are rejected: no news article is that long, and reading it would hog memory."""

MIN_ARTICLE_CHARS = 80
"""Cleaned text shorter than this is not an article (empty page, stub, error page)."""


class IngestError(Exception):
    """A file that cannot be ingested; the message says why, for the user."""


@dataclass(frozen=True)
class Rejected:
    """A file that was skipped, with the reason shown to the user."""

    path: str
    reason: str


# ---------------------------------------------------------------- finding files


def discover(paths: Iterable[Path]) -> tuple[list[Path], list[Rejected]]:
    """Expand folders into the article files below them, sorted; report the rest.

    A folder's hidden files and README files are passed over; a file named explicitly is
    always read.
    """
    found: list[Path] = []
    rejected: list[Rejected] = []
    for p in paths:
        if p.is_dir():
            files = [f for f in sorted(p.rglob("*")) if f.is_file() and not _skipped(f)]
        elif p.is_file():
            files = [p]
        else:
            files = []
        for f in files:
            if f.suffix.lower() in SUFFIXES:
                found.append(f)
            else:
                rejected.append(Rejected(str(f), f"unsupported file type {f.suffix or '(none)'}"))
        if not p.exists():
            rejected.append(Rejected(str(p), "no such file or folder"))
    return found, rejected


def _skipped(path: Path) -> bool:
    """Files a folder walk passes over: hidden ones, and READMEs (they describe the folder)."""
    return path.name.startswith(".") or path.stem.upper() == "README"


# ---------------------------------------------------------------- decoding


def decode(data: bytes) -> str:
    """Bytes -> text: UTF-8 (with or without BOM), UTF-16 with BOM, else Windows-1252.

    Raises IngestError for binary data.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as e:
            raise IngestError(f"broken UTF-16 text: {e.reason}") from e
    if b"\x00" in data[:4096]:
        raise IngestError("binary file (contains NUL bytes)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


class _HTMLText(HTMLParser):
    """Collects the visible text of an HTML page, one block element per line."""

    SKIP = frozenset({"script", "style", "noscript", "nav", "header", "footer", "aside"})
    BLOCK = frozenset(
        {"p", "div", "br", "h1", "h2", "h3", "h4", "h5", "h6", "li", "tr", "section", "article"}
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIP:
            self.skipping += 1
        elif tag == "title":
            self._in_title = True
        elif tag in self.BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP and self.skipping:
            self.skipping -= 1
        elif tag == "title":
            self._in_title = False
        elif tag in self.BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._in_title and not self.skipping:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """Visible text of an HTML page, without scripts, styles and page chrome."""
    parser = _HTMLText()
    parser.feed(html)
    parser.close()
    lines = [" ".join(line.split()) for line in "".join(parser.parts).splitlines()]
    return "\n".join(line for line in lines if line)


# ---------------------------------------------------------------- cleaning

_CTA = re.compile(
    r"newsletter|bolet[íi]n|suscr[íi]bete|\bsubscribe\b(?! ?rs)|sign up|inscreva-se|assine j[áa]|"
    r"abonnez-vous|rejoignez|[úu]nete\b|join us|s'inscrire|follow us|s[íi]guenos|suivez-nous",
    re.IGNORECASE,
)
_SOURCE_LABEL = re.compile(
    r"^(fuente|fonte|source|sources|fuentes|fontes|via|leia também|lea también|lire aussi)"
    r"\s*:?\s*$",
    re.IGNORECASE,
)
_CAPTION = re.compile(
    r"photo illustration|\(photo|foto:|imagen:|image:|crédito|credit:|getty images|reuters/",
    re.IGNORECASE,
)
_COUNTER = re.compile(r"^[\d\s.,kKmM+]{1,8}$")


def _norm(s: str) -> str:
    return " ".join(s.split()).casefold()


def clean(text: str, language: str) -> str:
    """Drop the lines of a news page that are not the article itself.

    `language` is the article's language: a short line in another language is an image
    caption or a widget, not part of the story.
    """
    lines = [" ".join(line.split()) for line in unicodedata.normalize("NFC", text).splitlines()]
    lines = [line for line in lines if line]
    kept: list[str] = []
    for i, line in enumerate(lines):
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        words = len(line.split())
        if _COUNTER.match(line) or _SOURCE_LABEL.match(line):
            continue
        # A breadcrumb trail ends with the headline that follows it ("Home Tech <title>").
        if nxt and len(line) > len(nxt) and _norm(line).endswith(_norm(nxt)):
            continue
        if kept and _norm(line) == _norm(kept[-1]):
            continue
        near_end = i >= len(lines) - 3
        if words <= 40 and _CTA.search(line) and (near_end or not line.endswith(".")):
            continue
        if words <= 40 and _CAPTION.search(line):
            continue
        if 4 <= words <= 40 and _foreign(line, language):
            continue
        kept.append(line)
    return "\n".join(kept)


def _foreign(line: str, language: str) -> bool:
    """True for a line clearly written in another language than the article."""
    detected = lang.detect(line, default=language)
    return detected != language and lang.confidence(line, detected) > 0.9


def derive_title(text: str, max_chars: int = 120) -> str:
    """The first line if it reads as a headline, else the first sentence, shortened."""
    first = text.split("\n", 1)[0].strip()
    if len(first) <= max_chars and not first.endswith("."):
        return first
    sentence = re.split(r"(?<=[.!?])\s", first, maxsplit=1)[0]
    if len(sentence) <= max_chars:
        return sentence.rstrip(".")
    cut = sentence[:max_chars].rsplit(" ", 1)[0]
    return cut.rstrip(",;:") + "…"


# ---------------------------------------------------------------- the stage


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def load_article(path: Path) -> Article:
    """Read, decode, clean one file and detect its language. Raises IngestError."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise IngestError(f"file too large ({size:,} bytes; the limit is {MAX_FILE_BYTES:,})")
        data = path.read_bytes()
    except OSError as e:
        raise IngestError(f"cannot read file: {e.strerror or e}") from e
    raw = decode(data)
    if path.suffix.lower() in (".html", ".htm"):
        raw = html_to_text(raw)
    if len(raw.strip()) < MIN_ARTICLE_CHARS:
        raise IngestError("no article text (empty or too short)")
    language = lang.detect(raw)
    text = clean(raw, language)
    if len(text) < MIN_ARTICLE_CHARS:
        raise IngestError("no article text left after removing page boilerplate")
    return Article(
        source=path.name,
        path=str(path),
        title=derive_title(text),
        language=lang.detect(text, default=language),
        text=text,
        content_hash=content_hash(text),
    )


def load_articles(paths: Iterable[Path]) -> Iterator[Article | Rejected]:
    """Every article under `paths`, or a `Rejected` with the reason for each bad file."""
    files, rejected = discover(paths)
    yield from rejected
    for f in files:
        try:
            yield load_article(f)
        except IngestError as e:
            yield Rejected(str(f), str(e))
