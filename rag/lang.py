"""Language detection for articles, lines and questions.

Lingua is used because it stays accurate on short text (a one-line question), which the
n-gram detectors are not. The candidate set is limited to the languages the product speaks
well, which also makes short inputs far less ambiguous.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from rag.terms import letter_runs

if TYPE_CHECKING:
    from lingua import LanguageDetector

LANGUAGE_NAMES: dict[str, str] = {
    "en": "English",
    "es": "Spanish",
    "fr": "French",
    "pt": "Portuguese",
    "de": "German",
    "it": "Italian",
    "nl": "Dutch",
}
"""ISO 639-1 code -> English name, for the languages detection chooses from.

Catalan is left out on purpose: short Spanish questions were taken for Catalan
("¿Cuándo presentó OpenAI el chatbot ChatGPT?") and answered in Catalan."""

DEFAULT_LANGUAGE = "en"

FUNCTION_WORDS: dict[str, frozenset[str]] = {
    code: frozenset(words.split())
    for code, words in {
        "en": "the an is are was were who whom what why how did does do which when where of and"
        " to for with about has have will would can could this that its they he she",
        "es": "el los las es son fue quién quien qué cuál cuáles cómo cuándo dónde del y un una"
        " con para según sobre su sus lo le",
        "fr": "le les est sont était qui quoi quel quelle quels quelles pourquoi comment quand"
        " où du des et un une avec pour selon sur il elle ce cette",
        "pt": "o os e é são foi quem qual quais porque quê porquê como quando onde do da dos das em"
        " um uma com para segundo sobre ele ela",
        "de": "der die das ist sind war wer was warum wie wann wo welche welcher welches und ein"
        " eine mit für über von zu den dem des hat haben",
    }.items()
}
"""Words that mark a language in a short question, where the detector is unsure: the
names in "Who is Yann LeCun?" or "Quem é Yann LeCun?" outweigh the rest (both were taken
for French), but "who is" and "quem é" are plain."""

SHORT_TEXT_WORDS = 8
"""Up to this many words, a clear majority of `FUNCTION_WORDS` decides the language."""


@lru_cache(maxsize=1)
def _detector() -> LanguageDetector:
    from lingua import IsoCode639_1, LanguageDetectorBuilder

    codes = [getattr(IsoCode639_1, code.upper()) for code in LANGUAGE_NAMES]
    return LanguageDetectorBuilder.from_iso_codes_639_1(*codes).build()


def detect(text: str, default: str = DEFAULT_LANGUAGE) -> str:
    """ISO 639-1 code of the language `text` is written in, or `default` if unsure."""
    text = text.strip()
    if not any(ch.isalpha() for ch in text):
        return default
    marked = _marked_language(text)
    if marked:
        return marked
    language = _detector().detect_language_of(text)
    if language is None:
        return default
    return str(language.iso_code_639_1.name).lower()


def _marked_language(text: str) -> str | None:
    """The language whose function words a short text holds more of than any other's."""
    words = letter_runs(text.lower())
    if not words or len(words) > SHORT_TEXT_WORDS:
        return None
    votes = sorted(
        ((sum(w in marks for w in words), code) for code, marks in FUNCTION_WORDS.items()),
        reverse=True,
    )
    (best, code), (second, _) = votes[0], votes[1]
    return code if best > second else None


def confidence(text: str, code: str) -> float:
    """How sure the detector is that `text` is in language `code` (0..1)."""
    from lingua import IsoCode639_1, Language

    language = Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper()))
    return float(_detector().compute_language_confidence(text, language))


def name(code: str) -> str:
    """English name of a language code (the code itself if unknown)."""
    return LANGUAGE_NAMES.get(code, code)
