"""Language detection for articles, lines and questions.

Lingua is used because it stays accurate on short text (a one-line question), which the
n-gram detectors are not. The candidate set is limited to the languages the product speaks
well, which also makes short inputs far less ambiguous.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

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
    language = _detector().detect_language_of(text)
    if language is None:
        return default
    return str(language.iso_code_639_1.name).lower()


def confidence(text: str, code: str) -> float:
    """How sure the detector is that `text` is in language `code` (0..1)."""
    from lingua import IsoCode639_1, Language

    language = Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper()))
    return float(_detector().compute_language_confidence(text, language))


def name(code: str) -> str:
    """English name of a language code (the code itself if unknown)."""
    return LANGUAGE_NAMES.get(code, code)
