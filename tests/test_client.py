"""The running chat driven through `gradio_client`, as a script or another tool would.

Streams a turn (sources arrive before the answer), asks a follow-up (rewritten and shown),
uploads an article, lists and removes it. Real app and model (see `chat_server`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ragkit.load import message_text

pytestmark = pytest.mark.slow

QUESTION = "Why did Meta open-source Llama?"


@pytest.fixture(scope="module")
def client(chat_server: str) -> Any:
    from gradio_client import Client

    return Client(chat_server, verbose=False)


def test_a_turn_streams_sources_before_the_cited_answer(client: Any) -> None:
    job = client.submit(QUESTION, [], api_name="/turn")
    updates = list(job)
    assert len(updates) >= 3, "the answer streams: several updates per turn"
    first_history, _, first_sources = updates[0]
    assert 'class="source"' in first_sources
    assert "cite" not in message_text(first_history[-1]), "sources come before the answer"
    history, box, sources = updates[-1]
    assert box == ""
    answer = message_text(history[-1])
    assert '<a class="cite" href="#s1-' in answer
    assert "<mark>" in sources


def test_a_follow_up_is_rewritten_and_the_rewrite_is_shown(client: Any) -> None:
    history, _, _ = client.predict(QUESTION, [], api_name="/turn")
    history, _, sources = client.predict("and why did critics object?", history, api_name="/turn")
    answer = message_text(history[-1])
    assert "Searching for:" in answer
    searched = answer.split("Searching for:")[1].split("\n")[0]
    assert "Meta" in searched or "Llama" in searched, "the rewrite names what was meant"
    assert 'id="s2-1"' in sources


def test_uploads_are_listed_and_removable(client: Any, tmp_path: Path) -> None:
    from gradio_client import handle_file

    article = tmp_path / "harbour-wind.txt"
    article.write_text(
        "Harbour wind farm opens in Porto\n\nA wind farm with twelve turbines opened in the "
        "harbour of Porto on Monday. It will power 30,000 homes, the city said.",
        encoding="utf-8",
    )
    report, table, _ = client.predict([handle_file(str(article))], api_name="/add")
    assert "1 added" in report
    assert "harbour-wind.txt" in str(table)
    again, _, _ = client.predict([handle_file(str(article))], api_name="/add")
    assert "1 unchanged" in again, "the same file twice is not indexed twice"

    said, table, _ = client.predict("harbour-wind.txt", api_name="/remove")
    assert "Removed harbour-wind.txt" in said
    assert "harbour-wind.txt" not in str(table)
