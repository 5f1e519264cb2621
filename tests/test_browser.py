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


def test_a_spanish_question_is_answered_in_spanish(page: Any) -> None:
    clear(page)
    answer = ask(page, "¿Por qué Meta liberó el código de Llama?")
    text = answer.inner_text()
    assert lang.detect(text) == "es", text
    page.screenshot(path=str(ARTIFACTS / "chat-es.png"))


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
