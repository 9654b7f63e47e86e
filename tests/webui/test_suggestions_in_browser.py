"""A suggested correction accepted in a real browser (Debian's Chromium via Playwright) against
`appliance serve`: one click replaces the misheard words, and the statement still lights up the
dictated words it came from, under the Content-Security-Policy. A screenshot of the page after
the click goes to $SCREENSHOT_DIR (a temporary folder otherwise)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.appliance.notes.misheard_note import CORRECTED, MISHEARD, TYPED
from tests.fake_llm import FakeLLM, fake_llm
from tests.served_app import Served, serve_appliance
from tests.tools import require_tool
from tests.webui.test_in_browser import CHROMIUM_FLAGS

PASSWORD = "quiet-harbour-lantern-47"


@pytest.fixture(scope="module", autouse=True)
def chromium_path() -> str:
    return require_tool("chromium", "the test drives it", also=("chromium-browser",))


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Served, FakeLLM]]:
    with (
        fake_llm() as llm,
        serve_appliance(tmp_path, llm_url=llm.base_url, workers="1") as running,
    ):
        running.add_user("alice", "clinician", PASSWORD)
        yield running, llm


def _review_page(page: Any, base: str) -> None:
    """alice signs in, dictates the typed EMDR notes for a new client and opens the review."""
    page.goto(base + "/login")
    page.fill("#username", "alice")
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.goto(base + "/clients/new")
    page.fill("#display_name", "Ann A")
    page.click("main button[type=submit]")
    client = re.search(r"/clients/([0-9a-f]{32})", page.url)
    assert client
    page.goto(f"{base}/clients/{client.group(1)}/dictations/new")
    page.select_option("select[name=modality]", "emdr")
    page.fill("textarea[name=typed_text]", TYPED)
    page.click("#dictation-submit")
    page.wait_for_selector("#review", timeout=60_000)
    page.click("#review a.button")
    page.wait_for_url(re.compile(r".*/notes/[0-9a-f]{32}$"))


def test_a_clinician_accepts_a_suggestion_and_the_statement_keeps_its_provenance(
    served: tuple[Served, FakeLLM], chromium_path: str, tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    running, _llm = served
    screenshots = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path / "screenshots")
    screenshots.mkdir(parents=True, exist_ok=True)
    console: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1200, "height": 1400})
        page.on("console", lambda message: console.append(message.text))
        _review_page(page, running.base)

        statement = page.locator("li.statement", has_text="sets of").first
        statement_id = statement.get_attribute("data-ref")
        assert statement.locator("textarea.st-text").input_value() == (
            "We completed 18 sets of bilateral I movements."
        )
        button = statement.get_by_role(
            "button", name="Replace “bilateral I movements” with “bilateral eye movements”"
        )
        with page.expect_navigation():
            button.click()

        statement = page.locator(f"#st-{statement_id}")
        assert statement.locator("textarea.st-text").input_value() == CORRECTED
        assert "Corrected from “bilateral I movements”" in statement.inner_text()
        assert statement.get_by_role("button", name=re.compile(MISHEARD)).count() == 0
        # Its provenance: selecting the statement lights up the words as dictated.
        statement.hover()
        source = page.locator(f"#source-{statement_id}")
        assert source.inner_text() == "We completed 18 sets of bilateral I movements."
        assert "cited" in (source.get_attribute("class") or "")
        page.screenshot(path=str(screenshots / "suggestion-accepted.png"), full_page=True)

        # With words typed and not yet saved, a click asks for a save instead of losing them.
        other = page.locator("li.statement", has_text="certraline").first
        other.locator("textarea.st-text").fill("The client takes certraline 100 mg daily.")
        other.get_by_role("button", name=re.compile("certraline")).click()
        assert "Save your changes first" in other.locator(".suggestion-status").inner_text()
        assert re.search(r"/notes/[0-9a-f]{32}(\?.*)?(#.*)?$", page.url)
        browser.close()

    violations = [m for m in console if "Content Security Policy" in m]
    assert violations == []
