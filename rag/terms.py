"""Names, numbers, dates and key words of a text, accent- and case-folded.

Embeddings blur exactly what a reader checks first: who, how much, when. This module
pulls those out so that two stages can compare them literally:

* the evidence ranking (rag/evidence.py) rewards a sentence that shares the question's
  names, numbers and key words;
* the citation check (rag/cite.py) requires every name, number and date of an answer
  sentence to occur in the evidence it cites.

Numbers carry their magnitude in the four languages of the corpus and in German: "$10
billion", "10 mil millones de dólares", "10 milliards" and "10.000 millones" are all 1e10;
"una docena" is 12. Month names are dates, so "July" matches "julio". Everything is
deterministic and needs no model.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

STOPWORDS = frozenset(
    " ".join(
        (
            # English
            "a an and are as at be but by did do does for from had has have how i if in into is"
            " it its of on or so than that the their them then there these they this to was were"
            " what when where which who whom whose why will with would about after also can could"
            " more most not only other some such he she his her him we our you your one been"
            " being over under between during before while should might must shall",
            # Spanish
            "al algo como con cual cuales cuando de del donde el ella ellos en entre era es esa ese"
            " esta este fue ha han hay la las le les lo los mas muy no nos o para pero por porque"
            " que quien quienes se ser si sin sobre su sus tambien un una uno unos y ya son"
            " puede pueden debe deben fueron estar tiene tienen",
            # French
            "au aux avec ce ces cette dans des du elle en est et il ils je la le les leur lui mais"
            " me meme ne nous on ou par pas plus pour qu quel quelle quels qui quoi sa sans se ses"
            " son sont sur un une vous a ete peut peuvent doit doivent etre avoir",
            # Portuguese
            "ao aos as com da das do dos ela ele eles em essa esse esta este foi mais mas na nas"
            " nao no nos num numa o os ou pela pelas pelo pelos por qual quais quando que quem se"
            " sem ser seu sua suas seus tambem um uma sao pode podem deve devem foram tem",
            # German
            "der die das den dem des ein eine einer einem einen und oder aber ist sind war waren"
            " wer wie was wo wann warum welche welcher welches im in am an auf aus bei mit nach"
            " von vor zu zum zur fur uber unter nicht auch es er sie hat haben wurde wurden"
            " dass als werden worden darf durfen kann konnen konnte muss mussen soll sollen"
            " will wollen wollte lassen hatte sein gibt",
            # question words that are not in the lists above ("Combien Meta..." is no name)
            "cuanto cuanta cuantos cuantas combien comment pourquoi quand quanto quanta"
            " quantos quantas nele nela neles nelas wieso weshalb wieviel wieviele woher"
            " wohin worauf woruber womit wofur wozu",
        )
    ).split()
)
"""Function words of English, Spanish, French, Portuguese and German (accents folded):
articles, pronouns, prepositions, conjunctions, auxiliary and modal verbs."""

GENERIC_WORDS = frozenset(
    " ".join(
        (
            "article articles passage passages text source sources information company companies"
            " mention mentions mentioned say says said state states stated according report"
            " reports reported answer question yes context",
            "articulo articulos pasaje pasajes texto fuente informacion empresa empresas"
            " compania companias menciona mencionado dice dicen dijo dijeron segun contexto",
            "article articles passage texte source information entreprise entreprises societe"
            " mentionne dit disent selon contexte",
            "artigo artigos passagem texto fonte informacao empresa empresas menciona diz dizem"
            " disse disseram segundo",
            "artikel text quelle information informationen unternehmen firma erwahnt sagt sagte"
            " laut kontext zusammenhang",
        )
    ).split()
)
"""Words that carry no fact of their own: a sentence made of the question's words plus
these ("the company's apps could gain from the partner's models") restates the question.
Their inflections count too (`is_generic`: "mentionnent", "mencionam")."""

NUMBER_WORDS: dict[str, float] = {
    word: float(value)
    for value, words in {
        2: "two deux dois duas zwei",  # not "dos": Portuguese for "of the"
        3: "three tres trois drei",
        4: "four cuatro quatre quatro vier",
        5: "five cinco cinq funf",
        6: "six seis sechs",
        7: "seven siete sept sete sieben",
        8: "eight ocho huit oito acht",
        9: "nine nueve nove neun",  # not "neuf": French for "new" too
        10: "ten diez dix dez zehn",
        12: "twelve doce douze doze zwolf dozen docena douzaine duzia",
        20: "twenty veinte vingt vinte zwanzig",
        100: "hundred cien cent cem hundert",
    }.items()
    for word in words.split()
}
"""Numbers written as words (accents folded), so "12" matches "una docena"."""

MAGNITUDES: dict[str, float] = {
    **dict.fromkeys(str.split("thousand mil mille tausend"), 1e3),
    **dict.fromkeys(
        str.split("million millions millon millones milhao milhoes millionen mio"), 1e6
    ),
    **dict.fromkeys(
        str.split("billion billions milliard milliards bilhao bilhoes milliarde milliarden mrd"),
        1e9,
    ),
    **dict.fromkeys(str.split("trillion trillions billon billones"), 1e12),
}
"""Words that multiply the number before them ("mil millones" = 1e3 * 1e6 = a billion).
Spanish "billón" is 1e12, as in Spanish usage; German "Billion" is not listed (1e12 there,
1e9 in English)."""

MONTHS: dict[str, int] = {
    word: month
    for month, words in enumerate(
        [
            "january enero janvier janeiro januar",
            "february febrero fevrier fevereiro februar",
            "march marzo mars marco marz",
            "april abril avril",
            "may mayo mai maio",
            "june junio juin junho juni",
            "july julio juillet julho juli",
            "august agosto aout",
            "september septiembre setiembre septembre setembro",
            "october octubre octobre outubro oktober",
            "november noviembre novembre novembro",
            "december diciembre decembre dezembro dezember",
        ],
        1,
    )
    for word in words.split()
}
"""Month names (accents folded) -> month number: a date is the same in every language."""

_TOKEN = re.compile(
    r"\d{1,3}(?:[ \u00a0\u202f]\d{3})+(?![\d.,])|\d+(?:[.,]\d+)*|[^\W\d_]+(?:-[^\W\d_]+)*"
)
"""Numbers ("1.000", "3,5", and "1 345 596" with spaces between thousands), then words."""
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_CAPITALISED = re.compile(r"[^\W\d_][\w'’.-]*\w|[^\W\d_]")
_BETWEEN_NAMES = re.compile(r"[,;:()\[\]\"«»“”„!?/–—]")
"""Punctuation that ends a name: a list ("Scale AI, GitHub"), an aside, a quote. A full
stop does not ("St. Louis", "J. R. R. Tolkien"): within a sentence it ends an abbreviation."""
_UPPER, _LOWER = "A-ZÀ-ÖØ-Þ", "a-zß-öø-ÿ"
_GLUED = re.compile(
    rf"(?<![{_UPPER}{_LOWER}])([{_LOWER}]{{3,}}|[{_UPPER}]{{2,}})([{_UPPER}][{_LOWER}]{{2,}})"
)
"""Two words run together: a lower-case word or a run of capitals, then a capitalised word
("llamadaNueva", "LLAMAMeta"), never a brand's own capitals ("DeepSeek", "OpenAI", "iPhone")."""
NAME_JOINERS = frozenset(str.split("de del da do dos das von van der le la al bin"))
"""Lower-case words that may stand inside a name ("Banco de España", "Ursula von der Leyen")."""


def fold(text: str) -> str:
    """Lower-case, accent-free text (for tolerant matching)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


_LETTERS = re.compile(r"[^\W\d_]+")


def letter_runs(text: str) -> list[str]:
    """The runs of letters of `text`, as written: its words without numbers or signs."""
    return _LETTERS.findall(text)


def words(text: str) -> list[str]:
    """Folded word and number tokens, in order."""
    return _TOKEN.findall(fold(text))


def vocabulary(text: str) -> set[str]:
    """The folded words of `text`, and the parts of words run together ("LLAMAMeta",
    "llamadaNueva": text copied from a web page loses the space between two elements), so
    a key term or a name is found in either."""
    found = set(words(text))
    for parts in _GLUED.findall(text):
        found.update(fold(part) for part in parts)
    return found


def content_words(text: str) -> set[str]:
    """Folded words that carry meaning: no function words, no one-letter words."""
    return {w for w in words(text) if w not in STOPWORDS and len(w) > 1 and not w.isdigit()}


def same_word(a: str, b: str) -> bool:
    """True for the same folded word or an inflection of it ("open-sourced", "open-source";
    "acelerar", "acelera"): equal, or a common prefix of at least five letters that covers
    all but three letters of each."""
    if a == b:
        return True
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n >= 5 and n >= max(len(a), len(b)) - 3


def is_generic(word: str) -> bool:
    """True for a folded word of `GENERIC_WORDS` or an inflection of one."""
    return word in GENERIC_WORDS or any(same_word(word, g) for g in GENERIC_WORDS)


def _value(token: str, spelled: dict[str, float] = NUMBER_WORDS) -> float | None:
    """The value of one number token: "1.000" and "1,000" are a thousand, "2,5" is 2.5."""
    if token in spelled:
        return spelled[token]
    if not token[0].isdigit():
        return None
    plain = re.sub(r"[.,\s](?=\d{3}(?:\D|$))", "", token)
    try:
        return float(plain.replace(",", "."))
    except ValueError:
        return None


SPANISH_NUMBER_WORDS = {**NUMBER_WORDS, "dos": 2.0}
"""In a text known to be Spanish, "dos" is two (elsewhere it may be Portuguese "of the")."""


def numbers_in(text: str, language: str = "") -> set[str]:
    """The numbers a text states, with their magnitude, as canonical strings.

    "$10 billion", "10 mil millones", "10.000 millones" and "10 milliards" all give
    "10000000000";
    "una docena" gives "12"; "2023" gives "2023".
    """
    found: set[str] = set()
    tokens = words(text)
    spelled = SPANISH_NUMBER_WORDS if language == "es" else NUMBER_WORDS
    i = 0
    while i < len(tokens):
        value = _value(tokens[i], spelled)
        i += 1
        if value is None:
            continue
        while i < len(tokens) and tokens[i] in MAGNITUDES:
            value *= MAGNITUDES[tokens[i]]
            i += 1
        found.add(f"{value:.12g}")
    return found


def dates_in(text: str) -> set[int]:
    """Month numbers named in a text ("July", "julio", "juillet" -> 7)."""
    return {MONTHS[w] for w in words(text) if w in MONTHS}


NOUNS_CAPITALISED = frozenset({"de"})
"""Languages that capitalise every noun: there only words written like names wherever they
stand ("DeepSeek", "GPT-4") count as names."""


def names_in(sentence: str, language: str = "") -> list[str]:
    """The proper names of a sentence: runs of capitalised words, folded.

    A capitalised first word counts only when a second capitalised word follows it (the
    sentence's first word is capitalised anyway); function words, month names and
    one- or two-letter acronyms ("AI", "EU", which translate) do not count. Number tokens
    are left to `numbers_in`. In German (`language` "de"), where every noun is capitalised,
    only words marked as names wherever they stand count.
    """
    if language in NOUNS_CAPITALISED:
        return [fold(t) for t in _CAPITALISED.findall(sentence) if _marked(t)]
    found = list(_CAPITALISED.finditer(sentence))
    tokens = [m.group() for m in found]
    names: list[str] = []
    run: list[str] = []
    run_starts_sentence = False

    def close() -> None:
        while run and fold(run[-1]) in NAME_JOINERS:
            run.pop()
        if run and not (run_starts_sentence and len(run) == 1 and not _marked(run[0])):
            names.append(fold(" ".join(run)))
        run.clear()

    for k, token in enumerate(tokens):
        if k and _BETWEEN_NAMES.search(sentence[found[k - 1].end() : found[k].start()]):
            close()  # "Alexandr Wang, Nat Friedman" are two names
        folded = fold(token.strip(".'’-"))
        capital = token[0].isupper() or _marked(token)
        if (
            capital
            and folded not in STOPWORDS
            and folded not in MONTHS
            and not (len(folded) <= 2 and token.isupper())
        ):
            if not run:
                run_starts_sentence = k == 0
            run.append(token.strip(".'’-"))
        elif run and folded in NAME_JOINERS and not token[0].isupper():
            run.append(token)
        else:
            close()
    close()
    return names


def _marked(token: str) -> bool:
    """A word written like a name wherever it stands: "DeepSeek", "iPhone", "GPT-4"."""
    return any(ch.isupper() for ch in token[1:]) or any(ch.isdigit() for ch in token)


def name_words(name: str) -> list[str]:
    """The words of a (folded) name that must occur for the name to be there: all but the
    joiners ("de", "von") and one-letter initials."""
    return [w for w in words(name) if w not in NAME_JOINERS and len(w) > 1]


def missing_names(names: Iterable[str], *texts: str) -> list[str]:
    """The names none of `texts` holds, word by word (each word of a name must occur, as
    the same word or an inflection of it)."""
    known = {w for t in texts for w in vocabulary(t)}
    missing: list[str] = []
    for name in names:
        parts = name_words(name)
        if any(not any(same_word(p, v) for v in known) for p in parts if p not in known):
            missing.append(name)
    return missing
