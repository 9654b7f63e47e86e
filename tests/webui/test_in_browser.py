"""The web UI in a real browser (Debian's Chromium driven by Playwright) against `appliance serve`.

What only a browser can prove: the `__Host-` Secure session cookie is accepted on
http://127.0.0.1 (the `make run` address), the idle countdown script runs under the
Content-Security-Policy, and no page triggers a CSP violation.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.served_app import Running, Served, run_model_server, serve_appliance
from tests.tools import require_tool

PASSWORD = "quiet-harbour-lantern-47"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@contextmanager
def chromium_hearing(chromium_path: str, speech: Path) -> Iterator[Any]:
    """Chromium whose microphone plays `speech` once (then silence), allowed without asking."""
    from playwright.sync_api import sync_playwright

    flags = [
        *CHROMIUM_FLAGS,
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={speech}%noloop",
    ]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=flags)
        yield browser
        browser.close()


@pytest.fixture(scope="module", autouse=True)
def chromium_path() -> str:
    """Debian's Chromium (never a browser build Playwright downloads); asked for first, so a
    missing one is reported before any server starts."""
    return require_tool("chromium", "these tests drive it", also=("chromium-browser",))


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    # Two minutes of idle time: the countdown warning (last two minutes) shows at once.
    with serve_appliance(tmp_path, idle_timeout_minutes="2") as running:
        yield running


@pytest.fixture
def chromium(chromium_path: str) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


def test_a_clinician_signs_in_and_adds_a_client_in_chromium(
    served: Served, chromium: object
) -> None:
    from playwright.sync_api import Browser

    assert isinstance(chromium, Browser)
    console: list[str] = []
    page = chromium.new_page()
    page.on("console", lambda message: console.append(message.text))

    page.goto(served.base + served.setup_path)
    page.fill("#username", "root")
    page.fill("#password", PASSWORD)
    page.fill("#password_again", PASSWORD)
    page.click("main button[type=submit]")
    page.fill("#username", "root")
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    assert page.url.endswith("/admin/users")
    assert {c["name"] for c in page.context.cookies()} >= {"__Host-session"}

    page.goto(served.base + "/admin/users/new")
    page.fill("#username", "alice")
    page.select_option("#role", "clinician")
    page.click("main button[type=submit]")
    link = re.search(r"/setup/[\w-]+", page.inner_text("code.link-box"))
    assert link

    alice = chromium.new_page()
    alice.on("console", lambda message: console.append(message.text))
    alice.goto(served.base + link.group(0))
    alice.fill("#password", PASSWORD)
    alice.fill("#password_again", PASSWORD)
    alice.click("main button[type=submit]")
    alice.fill("#username", "alice")
    alice.fill("#password", PASSWORD)
    alice.click("main button[type=submit]")
    alice.click("text=Add client")
    alice.fill("#display_name", "J. D.")
    alice.fill("#date_of_birth", "1980-04-05")
    alice.click("main button[type=submit]")
    assert "Client added." in alice.inner_text("main")

    alice.wait_for_selector("#idle-warning", state="visible")
    assert re.fullmatch(r"1:[0-5]\d|2:00", alice.inner_text("#idle-countdown"))
    alice.click("#idle-stay")
    alice.wait_for_timeout(500)
    assert alice.is_visible("#idle-warning")

    violations = [m for m in console if "Content Security Policy" in m]
    assert violations == []


@pytest.fixture(scope="module")
def models() -> Iterator[Running]:
    with run_model_server() as running:
        yield running


def _open_new_dictation(page: Any, base: str) -> None:
    """alice signs in, adds a client and opens its new-dictation page."""
    page.goto(base + "/login")
    page.fill("#username", "alice")
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.click("text=Add client")
    page.fill("#display_name", "Ann A")
    page.click("main button[type=submit]")
    page.click("text=New dictation")


def test_a_dictation_recorded_in_the_browser_becomes_a_draft(
    tmp_path: Path, models: Running, chromium_path: str
) -> None:
    speech = Path(__file__).resolve().parents[1] / "fixtures" / "audio" / "hello.wav"
    with serve_appliance(
        tmp_path, speech_url=models.speech_url, llm_url=models.llm_url, workers="1"
    ) as served:
        served.add_user("alice", "clinician", PASSWORD)
        # The fake microphone plays this file: real speech into MediaRecorder.
        with chromium_hearing(chromium_path, speech) as browser:
            page = browser.new_page()
            _open_new_dictation(page, served.base)
            # The appliance refuses to start a streamed recording: the page falls back to
            # MediaRecorder and sends the whole file with the form (streaming is proven in
            # test_streamed_recording_in_browser.py).
            page.route(
                "**/clients/*/recordings",
                lambda route: route.fulfill(status=503, content_type="application/json", body="{}"),
            )
            page.click("#rec-start")
            page.wait_for_selector("#rec-state:has-text('Recording')")
            page.wait_for_timeout(6500)
            assert page.inner_text("#rec-timer") in ("0:06", "0:07")
            page.click("#rec-stop")
            page.wait_for_selector("text=Submit to send it")
            page.click("#dictation-submit")
            page.wait_for_url(re.compile(r".*/dictations/[0-9a-f]{32}$"))
            page.wait_for_selector("#review", timeout=90_000)
            transcript = page.inner_text(".transcript").lower()
            assert "suicidal" in transcript and "14" in transcript
            assert "Audio deleted at" in page.inner_text("main")
            page.click("#review a.button")
            page.wait_for_url(re.compile(r".*/notes/[0-9a-f]{32}$"))
            assert "SOAP note, session of" in page.inner_text("h1")
            risk = page.locator("section.note-section[data-section=risk] textarea.st-text")
            assert any(
                "suicidal ideation" in risk.nth(i).input_value().lower()
                for i in range(risk.count())
            )
            # Provenance: selecting a statement lights up the words it was drafted from.
            assert page.locator(".source.cited").count() == 0
            statement = page.locator("li.statement").first
            statement.click()
            cited = page.locator(".source.cited")
            assert cited.count() == 1
            ref = statement.get_attribute("data-ref")
            assert cited.get_attribute("id") == f"source-{ref}"
            words = statement.locator("textarea.st-text").input_value()
            assert cited.inner_text().strip() in words


def test_a_waiting_dictation_offers_a_notification_asked_for_by_a_click(
    tmp_path: Path, chromium: object
) -> None:
    from playwright.sync_api import Browser

    assert isinstance(chromium, Browser)
    # No workers: the dictation stays queued and the page keeps polling.
    with serve_appliance(tmp_path, workers="0") as served:
        served.add_user("alice", "clinician", PASSWORD)
        context = chromium.new_context()
        page = context.new_page()
        _open_new_dictation(page, served.base)
        page.click("text=Type")
        page.fill("textarea[name=typed_text]", "Client reported better sleep.")
        page.click("#dictation-submit")
        page.wait_for_selector("#progress")
        assert page.evaluate("Notification.permission") == "default"
        # The page's script shows the button; "#progress" is in the document before it has run
        # (is_visible right away failed once in CI), so wait for the button, as a person would.
        page.wait_for_selector("#notify-me", state="visible")
        context.grant_permissions(["notifications"])  # what the person's "Allow" does
        page.click("#notify-me")
        page.wait_for_selector("#notify-me", state="hidden")
        assert page.evaluate("Notification.permission") == "granted"
        context.close()
