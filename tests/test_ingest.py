"""Ingestion: decoding, HTML, boilerplate cleaning on the bundled corpus, titles, bad files."""

from __future__ import annotations

import hashlib
import unicodedata
from pathlib import Path

import pytest

from rag import ingest
from rag.ingest import (
    IngestError,
    Rejected,
    decode,
    derive_title,
    discover,
    html_to_text,
    load_article,
    load_articles,
)
from rag.schema import Article

CORPUS = Path(__file__).resolve().parent.parent / "corpus"

LANGUAGES = {"000": "es", "001": "fr", "002": "pt", "003": "es", "004": "es"}

BOILERPLATE: dict[str, set[str]] = {
    "000": {
        "Las mentes más brillantes del mundo de las criptomonedas ya leen nuestro boletín. "
        "¿Te apuntas? ¡ Únete !"
    },
    "001": {
        "Les plus brillants experts en cryptomonnaies lisent déjà notre newsletter. "
        "Envie de participer ? Rejoignez-les ."
    },
    "002": {
        "Início Tecnologia Meta construiu sua reputação de IA na abertura – que pode mudar",
        "21",
        "0",
        "The Meta AI app is displayed on a mobile phone with the Meta AI logo visible on a "
        "tablet in this photo illustration",
        "Fuente",
    },
    "003": set(),
    "004": set(),
}
"""Per corpus file (by number): the exact lines that cleaning must remove."""

SPANISH = (
    "Meta anunció hoy un nuevo modelo de inteligencia artificial de código abierto.\n"
    "La empresa afirma que el sistema es más rápido y más barato que sus competidores, "
    "y que estará disponible para investigadores de todo el mundo.\n"
)
ENGLISH = (
    "The European Union agreed on new rules for artificial intelligence on Friday.\n"
    "Lawmakers said the law would protect citizens while still allowing companies to build "
    "new products and services across the continent.\n"
)


def _lines(text: str) -> list[str]:
    """Non-empty lines, NFC-normalised and whitespace-collapsed, as `clean` writes them."""
    text = unicodedata.normalize("NFC", text)
    return [" ".join(line.split()) for line in text.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def corpus() -> dict[str, tuple[Path, Article]]:
    files = sorted(CORPUS.glob("*.txt"))
    assert len(files) == 5
    return {f.name[:3]: (f, load_article(f)) for f in files}


# ---------------------------------------------------------------- the bundled corpus


@pytest.mark.parametrize("number", sorted(LANGUAGES))
def test_corpus_language(corpus: dict[str, tuple[Path, Article]], number: str) -> None:
    assert corpus[number][1].language == LANGUAGES[number]


@pytest.mark.parametrize("number", sorted(BOILERPLATE))
def test_corpus_cleaning_removes_exactly_the_boilerplate(
    corpus: dict[str, tuple[Path, Article]], number: str
) -> None:
    path, article = corpus[number]
    original = _lines(path.read_text(encoding="utf-8"))
    cleaned = article.text.split("\n")
    boilerplate = BOILERPLATE[number]
    assert boilerplate <= set(original), "expected boilerplate not found in the file itself"

    assert not boilerplate & set(cleaned)
    assert cleaned == [line for line in original if line not in boilerplate]


def test_corpus_article_fields(corpus: dict[str, tuple[Path, Article]]) -> None:
    for path, article in corpus.values():
        assert article.source == path.name
        assert article.path == str(path)
        assert article.content_hash == hashlib.sha256(article.text.encode()).hexdigest()
        assert article.title
        assert article.text.startswith(article.title.rstrip("…"))


def test_corpus_title_of_002_is_the_headline(corpus: dict[str, tuple[Path, Article]]) -> None:
    assert (
        corpus["002"][1].title == "Meta construiu sua reputação de IA na abertura – que pode mudar"
    )


def test_corpus_long_first_paragraph_gives_shortened_title(
    corpus: dict[str, tuple[Path, Article]],
) -> None:
    title = corpus["000"][1].title
    assert title.endswith("…")
    assert len(title) <= 121


# ---------------------------------------------------------------- decode


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("Información útil".encode(), "Información útil"),
        ("Información útil".encode("utf-8-sig"), "Información útil"),
        ("Ação e reação".encode("utf-16"), "Ação e reação"),
        (b"\xff\xfe" + "Ação e reação".encode("utf-16-le"), "Ação e reação"),
        (b"\xfe\xff" + "Ação e reação".encode("utf-16-be"), "Ação e reação"),
        ("café".encode("latin-1"), "café"),
        ("“Hola” cuesta 5 € – ¿sí?".encode("cp1252"), "“Hola” cuesta 5 € – ¿sí?"),
    ],
    ids=["utf8", "utf8-bom", "utf16", "utf16le-bom", "utf16be-bom", "latin1", "cp1252"],
)
def test_decode(data: bytes, expected: str) -> None:
    assert decode(data) == expected


def test_decode_rejects_binary() -> None:
    with pytest.raises(IngestError, match="binary"):
        decode(b"PK\x03\x04\x00\x00some zip bytes")


def test_decode_truncated_utf16_is_an_ingest_error() -> None:
    with pytest.raises(IngestError):
        decode(b"\xff\xfe" + "abc".encode("utf-16-le")[:-1])


# ---------------------------------------------------------------- HTML


def test_html_to_text_drops_page_chrome_and_keeps_paragraphs() -> None:
    html = """<!doctype html><html><head><title>Page title</title>
    <style>body { color: red }</style><script>var tracking = "x";</script></head>
    <body><nav><a href="/">Home</a> | <a href="/tech">Tech</a></nav>
    <h1>Headline here</h1>
    <p>First   paragraph &amp; more.</p>
    <p>Second <b>bold</b> paragraph.<br>Same paragraph, new line.</p>
    <footer>Copyright 2024 <script>alert(1)</script></footer>
    </body></html>"""
    text = html_to_text(html)
    assert text.split("\n") == [
        "Headline here",
        "First paragraph & more.",
        "Second bold paragraph.",
        "Same paragraph, new line.",
    ]
    for chrome in ("color", "tracking", "Home", "Tech", "Copyright", "alert", "Page title"):
        assert chrome not in text


def test_load_html_article(tmp_path: Path) -> None:
    page = tmp_path / "story.html"
    page.write_text(
        "<html><head><title>Sitio</title><script>x()</script></head><body>"
        "<nav>Inicio Tecnología</nav>"
        "<h1>Meta lanza un modelo abierto</h1>"
        + "".join(f"<p>{line}</p>" for line in SPANISH.splitlines())
        + "<footer>Todos los derechos reservados</footer></body></html>",
        encoding="utf-8",
    )
    article = load_article(page)
    assert article.language == "es"
    assert article.title == "Meta lanza un modelo abierto"
    assert article.text == "Meta lanza un modelo abierto\n" + SPANISH.strip()


# ---------------------------------------------------------------- bad files


@pytest.mark.parametrize("content", [b"", b"  \n\t\r\n   \n"], ids=["empty", "whitespace"])
def test_load_empty_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "empty.txt"
    path.write_bytes(content)
    with pytest.raises(IngestError, match="no article text"):
        load_article(path)


def test_load_too_large_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ingest, "MAX_FILE_BYTES", 100)
    path = tmp_path / "big.txt"
    path.write_text(SPANISH * 3, encoding="utf-8")
    with pytest.raises(IngestError, match="too large"):
        load_article(path)


def test_load_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "secret.txt"
    path.write_text(SPANISH, encoding="utf-8")

    def denied(self: Path, *args: object, **kwargs: object) -> bytes:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "open", denied)
    with pytest.raises(IngestError, match="cannot read file: Permission denied"):
        load_article(path)


def test_load_missing_file(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="cannot read file"):
        load_article(tmp_path / "gone.txt")


def test_load_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "image.txt"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 20)
    with pytest.raises(IngestError, match="binary"):
        load_article(path)


def test_load_only_boilerplate(tmp_path: Path) -> None:
    """A page whose every line is chrome leaves no article."""
    path = tmp_path / "stub.txt"
    path.write_text(
        "Suscríbete a nuestro boletín para no perderte nada de lo que pasa\n"
        "123\n4,5k\nFuente\n"
        "Únete a nuestra comunidad de lectores y recibe las noticias cada mañana\n",
        encoding="utf-8",
    )
    with pytest.raises(IngestError, match="boilerplate"):
        load_article(path)


# ---------------------------------------------------------------- discovering, batches


def test_discover_expands_folders(tmp_path: Path) -> None:
    folder = tmp_path / "news"
    (folder / "sub").mkdir(parents=True)
    for name in ("b.txt", "a.md", "sub/c.HTML", "d.htm", ".hidden.txt", "scan.pdf", "noext"):
        (folder / name).write_text("x", encoding="utf-8")
    single = tmp_path / "single.markdown"
    single.write_text("x", encoding="utf-8")

    found, rejected = discover([folder, single])
    assert found == [
        folder / "a.md",
        folder / "b.txt",
        folder / "d.htm",
        folder / "sub/c.HTML",
        single,
    ]
    assert rejected == [
        Rejected(str(folder / "noext"), "unsupported file type (none)"),
        Rejected(str(folder / "scan.pdf"), "unsupported file type .pdf"),
    ]


def test_discover_reports_unsupported_and_missing(tmp_path: Path) -> None:
    pdf = tmp_path / "scan.pdf"
    pdf.write_bytes(b"%PDF-1.4")
    bare = tmp_path / "README"
    bare.write_text("x", encoding="utf-8")
    missing = tmp_path / "nowhere"
    found, rejected = discover([pdf, bare, missing])
    assert found == []
    assert rejected == [
        Rejected(str(pdf), "unsupported file type .pdf"),
        Rejected(str(bare), "unsupported file type (none)"),
        Rejected(str(missing), "no such file or folder"),
    ]


def test_load_articles_mixed_inputs_never_raise(tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "es.txt").write_text(SPANISH, encoding="utf-8")
    (folder / "en.txt").write_bytes(ENGLISH.encode("utf-16"))
    (folder / "binary.txt").write_bytes(b"\x00\x01\x02" * 50)
    (folder / "empty.md").write_text("", encoding="utf-8")
    (folder / "report.pdf").write_bytes(b"%PDF-1.4 ...")
    missing = tmp_path / "missing.txt"

    results = list(load_articles([folder, missing]))

    articles = {r.source: r for r in results if isinstance(r, Article)}
    rejected = {Path(r.path).name: r.reason for r in results if isinstance(r, Rejected)}
    assert len(results) == len(articles) + len(rejected)
    assert {name: a.language for name, a in articles.items()} == {"es.txt": "es", "en.txt": "en"}
    assert articles["en.txt"].text == ENGLISH.strip()
    assert rejected.keys() == {"binary.txt", "empty.md", "report.pdf", "missing.txt"}
    assert "binary" in rejected["binary.txt"]
    assert "no article text" in rejected["empty.md"]
    assert "unsupported" in rejected["report.pdf"]
    assert "no such file" in rejected["missing.txt"]


# ---------------------------------------------------------------- titles


def test_title_short_headline_first_line() -> None:
    assert derive_title("Meta lanza Llama 4\nEl texto del artículo sigue aquí.") == (
        "Meta lanza Llama 4"
    )


def test_title_headline_of_exactly_max_chars_is_kept() -> None:
    headline = "h" * 120
    assert derive_title(headline + "\nBody.") == headline
    assert derive_title("h" * 121 + "\nBody.").endswith("…")


def test_title_from_first_sentence_of_paragraph() -> None:
    text = (
        "Meta anunció un nuevo modelo el martes. La empresa dijo que estará disponible pronto, "
        "y que competirá con los sistemas de OpenAI y Google en varias pruebas.\nOtro párrafo."
    )
    assert derive_title(text) == "Meta anunció un nuevo modelo el martes"


def test_title_one_sentence_line_drops_final_period() -> None:
    assert derive_title("Meta anunció un nuevo modelo.") == "Meta anunció un nuevo modelo"


def test_title_long_first_sentence_is_shortened_at_a_word() -> None:
    sentence = " ".join(["palabra"] * 30) + ", y algo más"
    title = derive_title(sentence + ". Segunda frase.")
    assert title.endswith("…")
    assert len(title) <= 121
    stem = title[:-1]
    assert sentence.startswith(stem)
    assert sentence[len(stem)] == " "
    assert not stem.endswith((",", ";", ":", " "))


def test_cleaning_keeps_news_that_mentions_subscribers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ingest, "_foreign", lambda line, language: False)
    text = (
        "A first line of the article that is long enough to be kept as it is.\n"
        "The company added 9 million subscribers in the quarter, it said\n"
        "Subscribe to our newsletter"
    )
    assert ingest.clean(text, "en").splitlines() == text.splitlines()[:2]


def test_folder_walk_skips_readme(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("# About this folder\n" + "x " * 100)
    (tmp_path / "story.txt").write_text("A story. " * 30)
    found, rejected = discover([tmp_path])
    assert [f.name for f in found] == ["story.txt"]
    assert rejected == []
    assert discover([tmp_path / "README.md"])[0] == [tmp_path / "README.md"]
