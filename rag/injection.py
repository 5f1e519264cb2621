"""Prompt injection defences: what makes article text safe to quote, and answers safe to show.

An article is untrusted input: anyone who can get a page into the index can write "ignore
previous instructions" into it. Three layers, each measured by `eval/bench_injection.py`:

* `neutralise` (used by prompts.py): chat-template control tokens, fake `<passage>` tags and
  role headers ("SYSTEM:") are removed from passage text, and every sentence that addresses
  an AI or gives it orders is replaced by a placeholder, so the model never reads it;
* `instruction_spans` (used by cite.py): such a sentence can never count as support;
* `LeakDetector` (used by cite.py): an answer sentence repeating the system prompt is dropped.

The instruction patterns are a narrow list in the four corpus languages: sentences that speak
to an assistant or model, tell it how to answer, ask for its prompt, or dictate a source or a
link. None matches a sentence of the bundled corpus (tests/test_injection.py checks).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

_WORD = re.compile(r"\w+")

CONTROL_TOKEN = re.compile(
    r"<\|[^|<>\n]{1,40}\|>|\[/?INST\]|<</?SYS>>|</?s>|<!--|-->|</?\s*passage\b[^>\n]*>?",
    re.IGNORECASE,
)
"""Chat-template tokens (`<|im_start|>`, `[INST]`, `<<SYS>>`, `</s>`), HTML comment marks and
passage tags: nothing an article needs, everything a forged prompt does."""

ROLE_HEADER = re.compile(
    r"(?im)^[\s#>*_\"']*(?:system|sistema|système|assistant|user|operator|developer|question|"
    r"answer|pregunta|respuesta|réponse|pergunta|resposta)(?:\s+(?:message|prompt))?\s*[:：]|"
    r"^\s*#{2,}\s*(?:message\s+)?(?:system|système|sistema)\b.*$"
)
"""A line that opens like a chat role or a forged prompt ("SYSTEM:", "### Message système",
"Answer:")."""

CONTROL_BLOCK = re.compile(
    r"<\|im_start\|>(?:(?!<\|im_start\|>).)*?<\|im_end\|>|\[INST\](?:(?!\[INST\]).)*?\[/INST\]|"
    r"<<SYS>>.*?<</SYS>>|<!--.*?-->",
    re.IGNORECASE | re.DOTALL,
)
"""Everything between a chat-template opener and its closer is a forged message."""

_ADDRESSEE = (
    r"(?:ai|ia|ki|llm|gpt|chatbot|chat\s*bot|assistant|asistente|assistente|bot|modelo?s? de ia|"
    r"language models?|ai (?:models?|systems?|assistants?|summari[sz]ers?)|"
    r"(?:résumeurs?|summari[sz]ers?) automatiques?)s?"
)
INSTRUCTION = re.compile(
    "|".join(
        [
            # "ignore all previous instructions", in four languages
            r"\b(?:ignore|disregard|forget|ignora|ignorez|ignorar|olvida|oublie[zr]?|esque[çc]a)"
            r"\w*\b.{0,40}\b(?:instruc|instrução|instruções|consignes?|r[eè]gl|rules?|question|"
            r"pregunta|passag|pasaj)",
            # speaking to the machine: "note to AI systems", "Asistente:", "aux assistants IA"
            rf"\b(?:note|nota|message|mensaje|mensagem|instruction|instrucción|instrução|consigne)s?"
            rf"\s+(?:(?:to|for|para|pour|à|a)\s+(?:the\s+|l[ae']\s*|os\s+|los\s+|as\s+)?)"
            rf"{_ADDRESSEE}\b",
            rf"\b(?:aux|to|for|para)\s+(?:los\s+|os\s+|the\s+)?(?:assistants?|asistentes|"
            rf"assistentes)\b|^\W*{_ADDRESSEE}\W{{0,3}}:",
            rf"\b(?:si eres|if you are|se você é|si vous êtes|si tu es)\s+(?:un|a|an|um)\s+"
            rf"{_ADDRESSEE}",
            rf"\b{_ADDRESSEE}\b[^.!?]{{0,40}}\b(?:reading this|must|should|deben|doivent|devem|"
            rf"debe|doit|deve)\b",
            rf"\b(?:you are now|you are an?|tu es (?:maintenant )?une?|eres (?:ahora )?una?|"
            rf"você (?:agora )?é uma?)\s+(?:\w+\s+)?{_ADDRESSEE}\b",
            r"\b(?:new|nuevas?|nouvelles?|novas?)\s+(?:instructions?|instrucciones|consignes|"
            r"instruções|rules|reglas|règles|regras|task|tarea|tâche|tarefa)\b|"
            r"\b(?:nueva política|new policy|policy update)\b",
            r"\b(?:end (?:every|each) sentence with|termina con la frase|termine com a frase|"
            r"terminez par|termine ta réponse par|and nothing else|y nada más|et rien d'autre|"
            r"e nada mais)\b",
            # how to answer: "answer only X", "responde siempre en italiano", "from now on"
            r"\b(?:answer|reply|respond|output|responde|contesta|réponds|répondez|responda|"
            r"repond|termine|begin|start)\w*\b.{0,30}\b(?:only|solo|sólo|únicamente|uniquement|"
            r"seulement|apenas|somente|exclusivement|siempre|always|toujours|sempre|with the|"
            r"par\s*:|with\s*:|à tout|to everything|a todo|a tudo|exactly|exactement|"
            r"exactamente|exatamente)",
            r"\b(?:from now on|a partir de ahora|de ahora en adelante|à partir de maintenant|"
            r"désormais|a partir de agora|daqui em diante)\b",
            r"\b(?:every|each|any)\s+(?:ai\s+)?(?:answer|reply|response)\b.{0,30}\bmust\b",
            # the prompt itself
            r"\b(?:system prompt|prompt (?:de )?sistema|prompt système|instruc\w+ de sistema|"
            r"instruções de sistema|hidden (?:rules|instructions)|debug mode|maintenance mode)\b",
            # dictated sources, links and claims
            r"\b(?:cite|cita|citez|citar|atribua|attribu\w+)\b.{0,60}\b(?:as|como|comme|à|source|"
            r"fuente|fonte|passage|pasaje|referencia|reference)\b",
            r"\b(?:source attribution|indiquez comme source|name the source)\b",
            r"\b(?:append|add|añade|inclua|include|ajoutez|recomienda al lector)\b.{0,60}"
            r"(?:https?://|www\.|\]\(|\b(?:link|enlace|lien|image|imagem)\b)",
            r"\b(?:decode|decodifica|décode|decodifique|read this backwards)\b.{0,30}"
            r"(?:obey|obedece|ex[ée]cut|obede[çc]a|:)",
            r"\b(?:tell|inform)\s+(?:the\s+)?(?:users?|readers?)\s+that\b|"
            r"\b(?:afirma|affirmez|dites|diga|digam|state)\s+que\b|\bmust state that\b|"
            r"\bdevem dizer\b",
        ]
    ),
    re.IGNORECASE,
)
"""A sentence that gives orders to an AI rather than reporting news."""

PLACEHOLDER = "[instruction removed]"
_SENTENCE = re.compile(r"(?:[^.!?\n]|[.!?]+(?=[^\s.!?]))*(?:[.!?]+[\"'”»)]*|\n|$)")
"""A sentence: up to a stop followed by a space (not the dot of 4.2 or a domain) or a line end."""


def instruction_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of `text` that instruct an AI: sentences matching INSTRUCTION or
    ROLE_HEADER or holding a control token, and whole forged chat messages."""
    spans = [m.span() for m in CONTROL_BLOCK.finditer(text)]
    for m in _SENTENCE.finditer(text):
        sentence = m.group()
        if sentence.strip() and (
            INSTRUCTION.search(sentence)
            or ROLE_HEADER.search(sentence)
            or CONTROL_TOKEN.search(sentence)
        ):
            spans.append(m.span())
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def looks_like_instruction(sentence: str) -> bool:
    """True if the sentence gives orders to an AI (see INSTRUCTION)."""
    return bool(instruction_spans(sentence))


def neutralise(text: str) -> str:
    """Passage text safe to put in a prompt: instructions replaced, control tokens removed."""
    out: list[str] = []
    last = 0
    for start, end in instruction_spans(text):
        out.append(text[last:start])
        trailing = "\n" if text[start:end].endswith("\n") else " "
        out.append(PLACEHOLDER + trailing)
        last = end
    out.append(text[last:])
    cleaned = CONTROL_TOKEN.sub(" ", "".join(out))
    return re.sub(r"(?:\[instruction removed\]\s*){2,}", PLACEHOLDER + " ", cleaned).strip()


_URL = re.compile(r"(?:https?://|www\.)\S+|\b[\w-]+(?:\.[\w-]+)*\.(?:com|org|net|example|io|ly)\b")
_DISTINCT = re.compile(r"\b(?=\w*\d)[\w-]*[A-Za-z][\w-]*\b|\b[A-ZÀ-Ý][\w-]{2,}\b")
"""Words that identify something: a name, a code such as HIJACKED-77, all capitals."""


def urls_in(text: str) -> set[str]:
    """Web addresses and domain names in a text, lower-cased, without trailing punctuation."""
    return {u.rstrip(".,;:)»”'\"").casefold() for u in _URL.findall(text)}


def _starts(text: str, at: int) -> bool:
    """True if position `at` of `text` begins a sentence."""
    before = text[:at].rstrip(" \"'«“(¿¡*‹<|")
    return not before or before[-1] in ".!?:\n>"


def echoed_words(sentence: str, injected: str, trusted: str) -> set[str]:
    """Distinctive words of `sentence` that occur in `injected` text but not in `trusted`.

    An answer can only have such a word from an injected instruction (a canary, an invented
    name, a dictated source), never from the article's own reporting.
    """
    # A capital that starts a sentence ("The", "Los") marks a name only if the injected
    # text writes the word with its capital inside a sentence too ("... by Zorblax Capital").
    names = {m.group() for m in _DISTINCT.finditer(injected) if not _starts(injected, m.start())}
    words = {
        m.group().casefold()
        for m in _DISTINCT.finditer(sentence)
        if not _starts(sentence, m.start()) or not m.group()[1:].islower() or m.group() in names
    }
    inj = {w.casefold() for w in _WORD.findall(injected)} | {
        w.casefold() for w in _DISTINCT.findall(injected)
    }
    ok = {w.casefold() for w in _WORD.findall(trusted)} | {
        w.casefold() for w in _DISTINCT.findall(trusted)
    }
    return {w for w in words & inj if w not in ok}


LEAK_NGRAM = 6
"""Words in a row shared with the system prompt that count as leaking it."""


def _ngrams(words: Sequence[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


class LeakDetector:
    """Finds the system prompt (LEAK_NGRAM words in a row of it) in a text."""

    def __init__(self, secrets: Iterable[str], n: int = LEAK_NGRAM) -> None:
        self.n = n
        self._ngrams = frozenset().union(
            *(_ngrams(_WORD.findall(s.casefold()), n) for s in secrets)
        )

    def __call__(self, text: str) -> bool:
        return bool(_ngrams(_WORD.findall(text.casefold()), self.n) & self._ngrams)
