"""The chat as a person uses it: real headless Chromium against the real app and model.

Asks in English and in Spanish, clicks a citation and checks the quoted sentence is
highlighted on screen, uploads an article and asks about it. Screenshots go to
tests/artifacts/. Chromium comes from Debian (`./run.sh test` installs it).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rag import lang
from ragkit.pace import patience

ARTIFACTS = Path(__file__).parent / "artifacts"
ANSWER_TIMEOUT_MS = patience(240) * 1000
"""A CPU answer takes ~10 s alone; the limit is generous for a loaded CI machine."""

CHROMIUM_FLAGS = [
    "--no-sandbox",  # the tests run as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",  # no network: these calls would only fail
    "--disable-component-update",
    "--disable-sync",
]

NEW_ARTICLE = """Lyon start-up teaches robots to sort recycling

Lumen Robotics, a start-up based in Lyon, has built a robot arm that sorts plastic bottles
from metal cans on a conveyor belt. The robot sorts 40 items a minute, twice as fast as the
company's first prototype, its founder Claire Martin said on Tuesday.

The company plans to install ten of the machines in French recycling centres next year.
"""

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def page(chat_server: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).exists():
        pytest.fail("Chromium is not installed; `./run.sh test` installs it (Debian: chromium)")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        tab = browser.new_page(viewport={"width": 1400, "height": 1000})
        tab.goto(chat_server)
        tab.wait_for_function("window.ragCitationLinks === true", timeout=patience(60) * 1000)
        yield tab
        browser.close()


def clear(page: Any) -> None:
    """Start a new conversation and wait until the old one is gone from the screen."""
    page.get_by_role("button", name="Clear the conversation").click()
    page.wait_for_function(
        "document.querySelectorAll('[data-testid=\"bot\"]').length === 0",
        timeout=patience(30) * 1000,
    )


def ask(page: Any, question: str) -> Any:
    """Type a question, send it, and return the locator of the finished answer."""
    before = page.locator('[data-testid="bot"]').count()
    page.fill("#question textarea", question)
    page.click("#ask")
    page.wait_for_selector("#sources .source", timeout=ANSWER_TIMEOUT_MS)
    answer = page.locator('[data-testid="bot"]').nth(before)
    # Done when the verified answer replaced the stream: citation links, or a refusal.
    page.wait_for_function(
        """([n]) => {
            const m = document.querySelectorAll('[data-testid="bot"]')[n];
            return m && (m.querySelector('a.cite') || /articles|artículos/.test(m.innerText));
        }""",
        arg=[before],
        timeout=ANSWER_TIMEOUT_MS,
    )
    return answer


def test_sources_come_first_then_a_cited_answer_whose_quote_is_one_click_away(page: Any) -> None:
    page.fill("#question textarea", "Why did Meta open-source Llama?")
    page.click("#ask")
    page.wait_for_selector("#sources .source", timeout=ANSWER_TIMEOUT_MS)
    assert page.locator("a.cite").count() == 0, "sources are shown while the model still reads"
    page.wait_for_selector('[data-testid="bot"] a.cite', timeout=ANSWER_TIMEOUT_MS)

    link = page.locator('[data-testid="bot"] a.cite').first
    target = link.get_attribute("href")
    assert target is not None
    link.click()
    card = page.locator(target)
    quote = card.locator("mark").first
    quote.wait_for(state="visible", timeout=patience(10) * 1000)
    assert "focused" in (card.get_attribute("class") or "")
    assert len(quote.inner_text().strip()) > 20, "the quoted sentence is highlighted"
    assert quote.is_visible()
    page.screenshot(path=str(ARTIFACTS / "chat.png"))

    card.locator("summary", has_text="Full article").click()
    assert card.locator(".article mark").first.is_visible(), "the quote, inside the article"


def test_a_card_in_another_language_shows_its_quote_in_english_on_demand(page: Any) -> None:
    """After the English answer above: a Spanish or French card's "Show in English"."""
    assert page.locator("#sources .translation").count() == 0, "nothing translated unasked"
    button = page.locator("#sources details[open] button.translate").first
    assert button.inner_text() == "Show in English"
    card = page.locator(f"#{button.get_attribute('data-card')}")
    original = card.locator("blockquote").first.inner_text()
    button.click()
    shown = card.locator(".translation")
    shown.wait_for(state="visible", timeout=ANSWER_TIMEOUT_MS)
    assert "Machine translation" in shown.locator(".label").inner_text()
    assert len(shown.locator("blockquote").inner_text().strip()) > 10
    assert lang.detect(shown.locator("blockquote").inner_text()) == "en"
    assert card.locator("blockquote").first.inner_text() == original, "the original stays"
    assert card.locator("button.translate").count() == 0
    card.scroll_into_view_if_needed()
    shown.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "chat-translated.png"))  # the README's second picture


def test_a_spanish_question_is_answered_in_spanish(page: Any) -> None:
    clear(page)
    answer = ask(page, "¿Por qué Meta liberó el código de Llama?")
    text = answer.inner_text()
    assert lang.detect(text) == "es", text
    page.screenshot(path=str(ARTIFACTS / "chat-es.png"))


def test_a_card_of_a_story_told_twice_says_where_else_it_was_reported(page: Any) -> None:
    """000 (Spanish) and 001 (French) are one story: a card of either names the other."""
    clear(page)
    ask(page, "Who did Mark Zuckerberg hire to co-lead Meta Superintelligence Labs?")
    cards = page.locator("#sources .source", has_text="000_58cfdf2857a910d3.txt").or_(
        page.locator("#sources .source", has_text="001_fb4bc891a711a523.txt")
    )
    assert cards.count() > 0, page.inner_text("#sources")
    line = cards.first.locator(".also-reported").first
    text = line.inner_text()
    assert "Also reported in" in text, text
    assert "French" in text or "Spanish" in text, text
    line.locator("summary").click()
    assert len(line.inner_text()) > len(text) + 200, "the other article opens"


def test_a_broad_question_gets_citations_to_several_articles(page: Any) -> None:
    clear(page)
    answer = ask(page, "Which articles mention Microsoft, and in what context?")
    targets = {a.get_attribute("href") for a in answer.locator("a.cite").all()}
    sources = set()
    for target in targets:
        card = page.locator(f"#sources {target}")
        sources.add(card.locator("small").first.inner_text().split(" · ")[0])
    assert len(sources) > 1, (answer.inner_text(), sources)
    page.screenshot(path=str(ARTIFACTS / "chat-broad.png"))


def test_an_uploaded_article_is_searchable_at_once(page: Any, tmp_path: Path) -> None:
    article = tmp_path / "lumen-robotics.txt"
    article.write_text(NEW_ARTICLE, encoding="utf-8")
    page.get_by_role("tab", name="Articles").click()
    page.set_input_files("#upload input[type=file]", str(article))
    page.wait_for_selector("#ingest-report :text('1 added')", timeout=ANSWER_TIMEOUT_MS)
    page.wait_for_selector("#articles :text('lumen-robotics.txt')", timeout=patience(30) * 1000)
    page.screenshot(path=str(ARTIFACTS / "articles.png"))

    page.get_by_role("tab", name="Chat").click()
    clear(page)
    answer = ask(page, "How many items a minute does the Lumen Robotics robot sort?")
    assert "40" in answer.inner_text()
    assert "lumen-robotics.txt" in page.inner_text("#sources")
