"""The evidence in the asker's language, on demand: translate one quoted sentence.

A reader who asks in English may be shown that the answer stands on a Spanish sentence.
When they ask for it (never before the answer), that sentence alone is translated by the
answer model (rag/generate.py), with the short, strict prompt `prompts.TRANSLATE_PROMPT`.

* The translation is labelled a machine translation, and the original stays beside it.
* Every name, number (with its magnitude: "10 mil millones" is 10 billion, not 10
  million) and month of the original that the translation lost or changed is a warning
  beside it: the comparison the citation check makes between an answer and its evidence
  (rag/cite.py `facts_of`, `CitationChecker.missing`; rag/terms.py), made between the
  original and its translation. With the checker, a translated name ("Germany" for
  "Alemania") counts as kept, as it does in an answer.
* Each translation is kept per (text, target language, model) in a SQLite file in the
  index folder (`translations.sqlite3`, WAL: two processes share it), so asking again costs
  nothing and does not even load the model.
"""

from __future__ import annotations

import calendar
import json
import re
import sqlite3
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING

from rag import lang, prompts, terms
from rag.cite import Facts, facts_of
from rag.generate import GenerationStats
from rag.schema import Translation

if TYPE_CHECKING:
    from rag.cite import CitationChecker
    from rag.config import Settings
    from rag.generate import Generator

CACHE_NAME = "translations.sqlite3"

MAX_TOKENS_FLOOR = 32
"""Tokens a translation may take beyond twice the original's (a translation into English
is rarely longer than the original; the cap only stops a model that does not stop)."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS translations (
    model TEXT NOT NULL,
    language TEXT NOT NULL,
    original TEXT NOT NULL,
    source_language TEXT NOT NULL,
    text TEXT NOT NULL,
    warnings TEXT NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    seconds REAL NOT NULL,
    created REAL NOT NULL,
    PRIMARY KEY (model, language, original)
);
"""

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_LEAD_LABEL = re.compile(
    r"^\s*(?:\*\*)?(?:[\w ]{0,20}translation|traducci[oó]n|traduction|tradu[cç][aã]o"
    r"|english|spanish|french|portuguese|german|italian|dutch)\s*:\s*(?:\*\*)?\s*",
    re.I,
)
"""A label the model may put before its translation ("Translation:", "**English:**")."""
_QUOTES = {'"': '"', "“": "”", "«": "»", "„": "“", "'": "'"}


class TranslationError(ValueError):
    """A text that cannot be translated as asked (empty, too long, an unknown language);
    the message is for the user."""


def target_language(language: str) -> str:
    """The ISO 639-1 code of a language the product speaks ("EN" -> "en"); raises
    TranslationError for any other."""
    code = (language or "").strip().lower()
    if code not in lang.LANGUAGE_NAMES:
        known = ", ".join(sorted(lang.LANGUAGE_NAMES))
        raise TranslationError(prompts.UNKNOWN_LANGUAGE.format(language=language, known=known))
    return code


def configured_model(settings: Settings) -> str:
    """The id of the configured answer model, known without loading it (the cache key)."""
    return settings.llm_model_name if settings.llm_backend == "openai" else settings.llm_model.name


class TranslationCache:
    """Translations by (model, target language, original text), in `<folder>/translations.sqlite3`.

    One short connection per call, in WAL mode with a busy timeout, so the chat and the API
    (two processes) can read and write it at once."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / CACHE_NAME
        self._ready = False

    def _connect(self) -> sqlite3.Connection:
        if not self._ready:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=10.0, isolation_level=None)
        if not self._ready:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)
            self._ready = True
        return db

    def get(self, original: str, language: str, model: str) -> Translation | None:
        with closing(self._connect()) as db:
            row = db.execute(
                "SELECT source_language, text, warnings, prompt_tokens, completion_tokens,"
                " seconds FROM translations WHERE model = ? AND language = ? AND original = ?",
                (model, language, original),
            ).fetchone()
        if row is None:
            return None
        source, text, warnings, prompt_tokens, completion_tokens, seconds = row
        return Translation(
            original=original,
            text=text,
            source_language=source,
            language=language,
            warnings=tuple(json.loads(warnings)),
            cached=True,
            label=prompts.TRANSLATION_LABEL,
            model=model,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            seconds=seconds,
        )

    def put(self, t: Translation) -> None:
        with closing(self._connect()) as db:
            db.execute(
                "INSERT OR REPLACE INTO translations VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    t.model,
                    t.language,
                    t.original,
                    t.source_language,
                    t.text,
                    json.dumps(list(t.warnings), ensure_ascii=False),
                    t.prompt_tokens,
                    t.completion_tokens,
                    t.seconds,
                    time.time(),
                ),
            )


class Translator:
    """Translates quotes with the answer model, on demand, through the cache.

    `generator` and `checker` are called only when a translation has to be made, so a
    cached one loads neither the model nor the embedder."""

    def __init__(
        self,
        settings: Settings,
        generator: Callable[[], Generator],
        checker: Callable[[], CitationChecker | None] = lambda: None,
        model_id: str | None = None,
    ) -> None:
        self.settings = settings
        self.generator = generator
        self.checker = checker
        self.model_id = model_id or configured_model(settings)
        self.cache = TranslationCache(settings.path(settings.index_dir))

    def prepare(self, text: str, language: str) -> tuple[str, str]:
        """The text normalised (no control characters, single spaces) and the target
        language code; raises TranslationError for an empty or too long text or an
        unknown language."""
        code = target_language(language)
        clean = " ".join(_CONTROL.sub(" ", text or "").split())
        clean = clean.encode("utf-8", "replace").decode("utf-8")
        if not any(ch.isalnum() for ch in clean):
            raise TranslationError(prompts.EMPTY_TRANSLATION_TEXT)
        limit = self.settings.max_translation_chars
        if len(clean) > limit:
            raise TranslationError(prompts.TRANSLATION_TOO_LONG.format(n=len(clean), limit=limit))
        return clean, code

    def cached(self, text: str, language: str, source: str | None = None) -> Translation | None:
        """The translation if it needs no model (cached, or already in `language`), else None."""
        text, language = self.prepare(text, language)
        source = _source(text, source)
        if source == language:
            return _unchanged(text, language, self.model_id)
        return self.cache.get(text, language, self.model_id)

    def translate(self, text: str, language: str, source: str | None = None) -> Translation:
        """`text` in `language` (ISO 639-1), from the cache or made now by the model.

        `source` is the original's language when known (a card's article); else detected.
        Raises TranslationError for an empty or too long text or an unknown language."""
        found = self.cached(text, language, source)
        if found is not None:
            return found
        text, language = self.prepare(text, language)
        source = _source(text, source)
        generator = self.generator()
        messages = build_messages(text, language)
        max_tokens = 2 * generator.count_tokens(text) + MAX_TOKENS_FLOOR
        stats = GenerationStats()
        started = time.perf_counter()
        raw = "".join(generator.stream(messages, max_tokens, stats))
        seconds = time.perf_counter() - started
        translated = clean_output(raw, text)
        warned = (
            check(text, translated, source, self.checker())
            if translated
            else (prompts.TRANSLATION_EMPTY,)
        )
        result = Translation(
            original=text,
            text=translated,
            source_language=source,
            language=language,
            warnings=warned,
            cached=False,
            label=prompts.TRANSLATION_LABEL,
            model=self.model_id,
            prompt_tokens=stats.prompt_tokens,
            completion_tokens=stats.completion_tokens,
            seconds=round(seconds, 3),
        )
        if translated:  # an empty one is not kept: the next request tries again
            self.cache.put(result)
        return result


def _source(text: str, given: str | None) -> str:
    """The original's language: as given if the product knows it, else detected ("" if
    unsure)."""
    return given if given in lang.LANGUAGE_NAMES else lang.detect(text, default="")


def _unchanged(text: str, language: str, model: str) -> Translation:
    """A text already in the target language, given back as it is (no model runs)."""
    label = prompts.NOT_TRANSLATED.format(language=lang.name(language))
    return Translation(text, text, language, language, label=label, model=model)


def build_messages(text: str, language: str) -> list[dict[str, str]]:
    """The translation prompt: the fixed instruction, then the text alone."""
    system = prompts.TRANSLATE_PROMPT.format(language=lang.name(language))
    return [{"role": "system", "content": system}, {"role": "user", "content": text}]


def clean_output(raw: str, original: str) -> str:
    """The translation out of what the model wrote: its first paragraph, without a
    "Translation:" label or quotation marks the original does not have."""
    text = raw.strip()
    if "\n\n" in text and "\n\n" not in original:
        text = text.split("\n\n", 1)[0].strip()
    text = _LEAD_LABEL.sub("", text, count=1).strip()
    if len(text) >= 2 and _QUOTES.get(text[0]) == text[-1] and original[:1] != text[0]:
        text = text[1:-1].strip()
    return text


# ---------------------------------------------------------------- the warnings


def check(
    original: str, translation: str, language: str, checker: CitationChecker | None = None
) -> tuple[str, ...]:
    """What of the original's names, numbers and months the translation lost or changed,
    in words (empty: all kept).

    The original's facts are found as the citation check finds an answer sentence's
    (`facts_of`); a name must be in the translation word by word, accent-folded, or, with a
    `checker`, as a translation of it ("Germany" / "Alemania"); numbers compare by value
    with their magnitude, months by number, in both directions: a number or month only the
    translation has is a change too.
    """
    facts = facts_of(original, "", language)
    names = terms.missing_names(facts.names, translation)
    if names and checker is not None:
        only_names = Facts(tuple(names), frozenset(), frozenset())
        names = checker.missing(only_names, [translation])
    said = terms.numbers_in(translation)
    lost = sorted(facts.numbers - said, key=float)
    added = sorted(said - terms.numbers_in(original), key=float)
    warnings = [prompts.TRANSLATION_LOST_NAME.format(name=_surface(n, original)) for n in names]
    if len(lost) == 1 and len(added) == 1:
        warnings.append(
            prompts.TRANSLATION_CHANGED_NUMBER.format(
                number=say_number(lost[0]), other=say_number(added[0])
            )
        )
    else:
        warnings += [prompts.TRANSLATION_LOST_NUMBER.format(number=say_number(n)) for n in lost]
        warnings += [prompts.TRANSLATION_ADDED_NUMBER.format(number=say_number(n)) for n in added]
    months = terms.dates_in(translation)
    warnings += [
        prompts.TRANSLATION_LOST_MONTH.format(month=calendar.month_name[m])
        for m in sorted(facts.months - months)
    ]
    warnings += [
        prompts.TRANSLATION_ADDED_MONTH.format(month=calendar.month_name[m])
        for m in sorted(months - facts.months)
    ]
    return tuple(warnings)


def say_number(canonical: str) -> str:
    """A number as `terms.numbers_in` gives it, for a reader: "10000000000" -> "10 billion",
    "2500000" -> "2.5 million", "2023" -> "2023", "12000" -> "12,000"."""
    value = float(canonical)
    for size, word in ((1e12, "trillion"), (1e9, "billion"), (1e6, "million")):
        if abs(value) >= size:
            return f"{value / size:g} {word}"
    if abs(value) >= 10_000 and value == int(value):
        return f"{int(value):,}"
    return f"{value:g}"


def _surface(name: str, text: str) -> str:
    """A folded name as the original writes it ("pedro sanchez" -> "Pedro Sánchez")."""
    folded = terms.fold(text)
    pattern = r"\W+".join(re.escape(w) for w in name.split())
    found = re.search(pattern, folded)
    if found and len(folded) == len(text):  # folding kept every offset
        return text[found.start() : found.end()]
    return name.title()
