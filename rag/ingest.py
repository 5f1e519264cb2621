"""Read article files, strip what is not the article, detect the language: -> `Article`.

News pages carry text that is not the story: navigation crumbs, share counters, image
captions (often in another language than the article), newsletter calls to action, a
trailing "Source" label. Left in, they get embedded, retrieved and cited as if they were
news. Cleaning works line by line with rules that are cheap to read and to test.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import re
import stat
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from rag import lang
from rag.schema import Article

log = logging.getLogger(__name__)

SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm")
"""File types that ingestion reads; others are reported and skipped."""

MAX_FILE_BYTES = 5_000_000
"""Default size limit: larger files are rejected unread (setting `max_file_bytes`)."""

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
    always read. Everything else that is not a readable article file is reported with the
    reason: unsupported types, broken links, symbolic link loops, FIFOs and devices (which
    would block or never end if read), folders that cannot be listed.
    """
    found: list[Path] = []
    rejected: list[Rejected] = []
    for p in paths:
        files: list[Path] = []
        bad: list[Rejected] = []
        if not p.exists() and not p.is_symlink():
            bad.append(Rejected(str(p), "no such file or folder"))
        else:
            _classify(p, files, bad, visited=set())
        found += sorted(files)
        rejected += sorted(bad, key=lambda r: Path(r.path))
    return found, rejected


def _classify(
    path: Path, files: list[Path], bad: list[Rejected], visited: set[tuple[int, int]]
) -> None:
    """Sort one path into `files` or `bad`; folders are walked (each real folder once)."""
    try:
        st = path.stat()
    except OSError as e:
        bad.append(Rejected(str(path), _stat_problem(path, e)))
        return
    if stat.S_ISDIR(st.st_mode):
        if (st.st_dev, st.st_ino) in visited:
            reason = "folder already read (a symbolic link loop, or a second link to it)"
            bad.append(Rejected(str(path), reason))
            return
        visited.add((st.st_dev, st.st_ino))
        try:
            entries = sorted(os.scandir(path), key=lambda e: e.name)
        except OSError as e:
            bad.append(Rejected(str(path), f"cannot read folder: {e.strerror or e}"))
            return
        for entry in entries:
            child = Path(entry.path)
            if not _skipped(child):
                _classify(child, files, bad, visited)
    elif not stat.S_ISREG(st.st_mode):
        bad.append(Rejected(str(path), "not a regular file (a FIFO, socket or device)"))
    elif path.suffix.lower() in SUFFIXES:
        files.append(path)
    else:
        bad.append(Rejected(str(path), f"unsupported file type {path.suffix or '(none)'}"))


def _stat_problem(path: Path, e: OSError) -> str:
    if e.errno == errno.ELOOP:
        return "symbolic link loop"
    if e.errno == errno.ENOENT and path.is_symlink():
        return f"broken symbolic link (to {os.readlink(path)})"
    return f"cannot read: {e.strerror or e}"


def _skipped(path: Path) -> bool:
    """Files a folder walk passes over: hidden ones, and READMEs (they describe the folder)."""
    return path.name.startswith(".") or path.stem.upper() == "README"


# ---------------------------------------------------------------- decoding


def decode(data: bytes) -> str:
    """Bytes -> text: UTF-8 (with or without BOM), UTF-16 (with BOM, or without one if the
    zero bytes show it), else line by line UTF-8 or Windows-1252 (files of mixed encodings).

    Raises IngestError for binary data.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return _strict(data, "utf-16")
    sample = data[:4096]
    if b"\x00" in sample:
        utf16 = _utf16_without_bom(sample)
        if utf16 is None:
            raise IngestError("binary file (contains NUL bytes)")
        text = _strict(data, utf16)
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = "".join(_decode_line(line) for line in data.splitlines(keepends=True))
    if _unprintable_share(text[:65536]) > 0.05:
        raise IngestError("binary file (mostly unprintable characters)")
    return text


def _strict(data: bytes, encoding: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as e:
        raise IngestError(f"broken UTF-16 text: {e.reason}") from e


def _utf16_without_bom(sample: bytes) -> str | None:
    """UTF-16 without a BOM if the zero bytes sit on one side only (as in Latin text)."""
    even, odd = sample[0::2], sample[1::2]
    if not even or not odd:
        return None
    zeros_even, zeros_odd = even.count(0) / len(even), odd.count(0) / len(odd)
    if zeros_odd > 0.3 and zeros_even < 0.02:
        return "utf-16-le"
    if zeros_even > 0.3 and zeros_odd < 0.02:
        return "utf-16-be"
    return None


def _decode_line(line: bytes) -> str:
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        return line.decode("cp1252", errors="replace")


def _unprintable_share(text: str) -> float:
    """Share of control characters and replacement marks: high in binary data read as text."""
    if not text:
        return 0.0
    bad = sum(
        1
        for ch in text
        if ch == "\ufffd" or (unicodedata.category(ch) == "Cc" and ch not in "\t\n\r\f\v")
    )
    return bad / len(text)


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


TOO_LARGE = "file too large ({size:,} bytes; the limit is {limit:,}, setting max_file_bytes)"
"""Why a file over the size limit is rejected (the uploads of the chat and the API say it too)."""


def load_article(path: Path, max_bytes: int | None = None) -> Article:
    """Read, decode, clean one file and detect its language. Raises IngestError.

    A file over `max_bytes` (default MAX_FILE_BYTES) is rejected without being read, and
    never more than that is read, so one huge file cannot exhaust memory.
    """
    limit = MAX_FILE_BYTES if max_bytes is None else max_bytes
    too_large = TOO_LARGE
    try:
        size = path.stat().st_size
        if size > limit:
            raise IngestError(too_large.format(size=size, limit=limit))
        with path.open("rb") as f:
            data = f.read(limit + 1)
    except OSError as e:
        raise IngestError(f"cannot read file: {e.strerror or e}") from e
    if len(data) > limit:  # it grew after the size check
        raise IngestError(too_large.format(size=len(data), limit=limit))
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
        source=readable(path.name),
        path=readable(str(path)),
        title=derive_title(text),
        language=lang.detect(text, default=language),
        text=text,
        content_hash=content_hash(text),
    )


def readable(name: str) -> str:
    """A file name as valid text: bytes that are not UTF-8 are read as Windows-1252.

    Python keeps such bytes as lone surrogates, which the store cannot save.
    """
    raw = os.fsencode(name)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def load_articles(
    paths: Iterable[Path], max_bytes: int | None = None
) -> Iterator[Article | Rejected]:
    """Every article under `paths`, or a `Rejected` with the reason for each bad file.

    Never raises for a file: an unforeseen error is that file's rejection, not the run's end.
    """
    files, rejected = discover(paths)
    yield from rejected
    for f in files:
        try:
            yield load_article(f, max_bytes)
        except IngestError as e:
            yield Rejected(str(f), str(e))
        except Exception as e:  # noqa: BLE001 - one strange file must not stop the others
            log.debug("unexpected error reading %s", f, exc_info=True)
            yield Rejected(str(f), f"unexpected error: {type(e).__name__}: {e}")
