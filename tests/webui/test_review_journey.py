"""The review workflow in a real browser (Debian's Chromium via Playwright) against
`appliance serve`, drafting with the stand-in LLM (tests/fake_llm.py).

alice turns on two-factor sign-in, dictates typed notes with an out-of-scale score and nothing
about risk, edits by keyboard, meets a conflict from a second tab, fixes one flag and
acknowledges another, is refused with a wrong password, signs with the next TOTP step, sees
the transcript deleted, adds an addendum, and downloads the PDF and the FHIR copy; erin finds
every step in the audit log. Screenshots go to $SCREENSHOT_DIR (a temporary folder otherwise).
"""

from __future__ import annotations

import base64
import csv
import io
import os
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest

from tests.fake_llm import FakeLLM, fake_llm
from tests.served_app import Served, serve_appliance
from tests.tools import require_tool
from tests.webui.test_in_browser import CHROMIUM_FLAGS

PASSWORD = "quiet-harbour-lantern-47"
TYPED = (
    "Client reports low mood most days this week. "
    "PHQ-9 score was 31 today. "
    "We practiced cognitive restructuring of the thought that she always fails. "
    "Plan to continue weekly CBT sessions."
)
SECOND = "Client reports steady sleep. We reviewed the thought record. Plan weekly sessions."


@pytest.fixture(scope="module", autouse=True)
def tools() -> dict[str, str]:
    return {
        "chromium": require_tool("chromium", "the journey drives it", also=("chromium-browser",)),
        "pdftoppm": require_tool("pdftoppm", "the PDF's first page becomes a screenshot"),
    }


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Served, FakeLLM]]:
    with (
        fake_llm() as llm,
        serve_appliance(tmp_path, llm_url=llm.base_url, workers="1") as running,
    ):
        running.add_user("alice", "clinician", PASSWORD)
        running.add_user("erin", "auditor", PASSWORD)
        yield running, llm


def _not_blank(path: Path) -> None:
    from PIL import Image

    with Image.open(path) as image:
        colours = image.convert("L").getextrema()
    assert colours[1] - colours[0] > 64, f"{path.name} looks blank"


class Authenticator:
    """The phone. Each code is made when it is typed, from the 30-second step current then, so
    none expires while a slow machine runs the journey. The server accepts a code of the step
    either side of its own and refuses one of a step at or before the last it accepted
    (appliance.identity.mfa), so each code meant to work is of a later step than that one."""

    def __init__(self, secret: str) -> None:
        self.totp = pyotp.TOTP(secret)
        self.spent_step: int | None = None  # the last step the server accepted

    def code(self) -> str:
        """A code the server would accept now; not counted as spent."""
        return self.totp.at(self._usable_step() * 30)

    def spend(self) -> str:
        """A code the server will accept now, counted as spent: later codes are of later steps."""
        self.spent_step = self._usable_step()
        return self.totp.at(self.spent_step * 30)

    def spent(self) -> str:
        """The code of the last step spent: refused as a replay."""
        assert self.spent_step is not None
        return self.totp.at(self.spent_step * 30)

    def _usable_step(self) -> int:
        """The current step, or a later one than the last spent: the next step at most (the
        server's window), so when the next one is spent too, wait for the step after."""
        while True:
            now = int(time.time()) // 30
            step = now if self.spent_step is None else max(now, self.spent_step + 1)
            if step <= now + 1:
                return step
            time.sleep(30 - time.time() % 30 + 0.05)


def _sign_in(page: Any, base: str, username: str, code: str = "") -> None:
    page.goto(base + "/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    if code:
        page.fill("#code", code)
        page.click("main button[type=submit]")


def _dictate(page: Any, base: str, client_id: str, text: str) -> None:
    page.goto(f"{base}/clients/{client_id}/dictations/new")
    page.fill("textarea[name=typed_text]", text)  # the session date defaults to today
    page.click("#dictation-submit")
    page.wait_for_selector("#review", timeout=60_000)


def _statement_with(page: Any, words: str) -> Any:
    items = page.locator("li.statement")
    for i in range(items.count()):
        if words in items.nth(i).locator("textarea.st-text").input_value():
            return items.nth(i)
    raise AssertionError(f"no statement with {words!r}")


def test_a_clinician_reviews_signs_and_amends_a_note_in_chromium(
    served: tuple[Served, FakeLLM], tools: dict[str, str], screenshots: Path, tmp_path: Path
) -> None:
    from fhir.resources.R4B.bundle import Bundle
    from playwright.sync_api import sync_playwright
    from pypdf import PdfReader

    running, _llm = served
    base = running.base
    console: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=tools["chromium"], args=CHROMIUM_FLAGS)
        context = browser.new_context(viewport={"width": 1200, "height": 1400})
        page = context.new_page()
        page.on("console", lambda message: console.append(message.text))

        # 1. Two-factor sign-in on, a signature line, a client, two typed dictations.
        _sign_in(page, base, "alice")
        page.goto(base + "/account/mfa")
        page.click("main button[type=submit]")
        phone = Authenticator(page.inner_text("code.secret").replace(" ", ""))
        page.fill("#code", phone.spend())
        page.click("main button[type=submit]")
        assert "recovery" in page.inner_text("main").lower()
        page.goto(base + "/account")
        page.fill("#signature_line", "Alice Smith, LMFT")
        page.click("#signature button[type=submit]")
        page.goto(base + "/clients/new")
        page.fill("#display_name", "Ann A")
        page.click("main button[type=submit]")
        client_id = re.search(r"/clients/([0-9a-f]{32})", page.url)
        assert client_id
        _dictate(page, base, client_id.group(1), SECOND)  # stays unsigned: the to-sign list
        _dictate(page, base, client_id.group(1), TYPED)
        page.click("#review a.button")
        page.wait_for_url(re.compile(r".*/notes/[0-9a-f]{32}$"))
        note_url = page.url
        note_id = note_url.rsplit("/", 1)[1]
        assert "blocks signing" in page.inner_text("#flags")
        page.screenshot(path=str(screenshots / "review.png"), full_page=True)

        # Alt+N: the open flags in turn (the statement a flag is about, or the flag itself).
        visited = []
        for _ in range(3):
            page.keyboard.press("Alt+n")
            visited.append(page.evaluate("document.activeElement.id"))
        assert visited[0] != visited[1] and visited[2] == visited[0], visited
        assert any(v.startswith("st-") for v in visited), visited

        # 2. Keyboard: Enter edits, typing, Esc leaves, Ctrl+S saves.
        first = _statement_with(page, "low mood")
        first.focus()
        page.keyboard.press("Enter")
        area = first.locator("textarea.st-text")
        assert area.evaluate("element => element === document.activeElement")
        area.fill("Client reports low mood on most days this week.")
        page.keyboard.press("Escape")
        assert first.evaluate("element => element === document.activeElement")
        page.keyboard.press("Control+s")
        page.wait_for_selector("#save-state.saved")
        assert "edited" in first.inner_text()

        # A second tab saves first; this tab's next save is a conflict that overwrites nothing.
        other = context.new_page()
        other.goto(note_url)
        _statement_with(other, "weekly CBT").locator("textarea.st-text").fill(
            "Plan to continue weekly CBT sessions, next on Monday."
        )
        other.keyboard.press("Control+s")
        other.wait_for_selector("#save-state.saved")
        _statement_with(page, "cognitive restructuring").locator("textarea.st-text").fill(
            "We practised cognitive restructuring of the thought that she always fails."
        )
        page.wait_for_selector("#conflict:not([hidden])", timeout=10_000)
        assert "next on Monday" in page.inner_text("#conflict-theirs")
        assert "practised" in page.inner_text("#conflict-yours")
        other.close()
        with page.expect_navigation():
            page.click("#conflict-load")
        assert (
            "next on Monday"
            in _statement_with(page, "weekly CBT").locator("textarea.st-text").input_value()
        )

        # 3. Fix one flag (risk: add the assessment), acknowledge the other (the score).
        page.fill("#new-risk", "Client denied suicidal and homicidal ideation.")
        with page.expect_navigation():  # a statement added: the page reloads with its id
            page.keyboard.press("Control+s")
        assert (
            "denied suicidal"
            in _statement_with(page, "denied suicidal").locator("textarea.st-text").input_value()
        )
        assert "says nothing about suicidal" not in page.inner_text("#flags")
        page.click("#flag-list li.flag.open form.ack button")
        page.wait_for_url(re.compile(r".*done=flag_acknowledged.*"))
        assert page.locator("#sign-blocked").count() == 0

        # 4. A wrong password is refused; the next TOTP step signs (the enrolment's is spent).
        page.fill("#sign-password", "not-my-password-at-all")
        page.fill("#sign-code", phone.code())
        page.click("#sign-form button[type=submit]")
        assert "password is not right" in page.inner_text("main")
        page.fill("#sign-password", PASSWORD)
        page.fill("#sign-code", phone.spent())  # the enrolment's code: spent
        page.click("#sign-form button[type=submit]")
        assert "code is not right" in page.inner_text("main")
        # A last edit, not yet saved when "Sign note" is pressed: saved first, then signed.
        _statement_with(page, "next on Monday").locator("textarea.st-text").fill(
            "Plan to continue weekly CBT sessions, next on Monday morning."
        )
        page.fill("#sign-password", PASSWORD)
        page.fill("#sign-code", phone.spend())
        page.click("#sign-form button[type=submit]")
        page.wait_for_url(re.compile(r".*done=note_signed.*"))
        assert "next on Monday morning." in page.inner_text("#signed-note")
        signed_text = page.inner_text("#signed-note")
        assert "Electronically signed by Alice Smith, LMFT" in signed_text
        digest = re.search(r"[0-9a-f]{64}", signed_text)
        assert digest
        page.screenshot(path=str(screenshots / "signed.png"), full_page=True)

        # "Copy note": the signed text on the clipboard, section by section, and audited.
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
        page.click("#copy-note")
        page.wait_for_selector("#copy-state:has-text('Copied')")
        copied = page.evaluate("navigator.clipboard.readText()")
        assert copied.startswith("PROGRESS NOTE (SOAP)") and "RISK\n- Client denied" in copied

        # 5. The transcript is gone; an addendum is signed with the next code.
        page.goto(base + f"/clients/{client_id.group(1)}")
        dictation_links = page.locator("a[href^='/dictations/']")
        hrefs = [
            dictation_links.nth(i).get_attribute("href") for i in range(dictation_links.count())
        ]
        assert hrefs
        for href in hrefs:
            page.goto(base + str(href))
            if "when the note was signed" in page.inner_text("main"):
                break
        else:
            raise AssertionError("no dictation says its transcript was deleted at signing")
        page.goto(note_url)
        page.fill("#addendum-text", "PHQ-9 was 13, not 31: misheard.")
        page.fill("#addendum-password", PASSWORD)
        page.fill("#addendum-code", phone.spend())
        page.click("#addendum button[type=submit]")
        page.wait_for_url(re.compile(r".*done=addendum_signed.*"))
        addendum_digest = re.search(r"[0-9a-f]{64}", page.inner_text("#addendum-1"))
        assert addendum_digest

        # 6. The PDF holds every signed statement, the addendum and both hashes.
        pdf = page.request.get(f"{base}/notes/{note_id}.pdf").body()
        text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
        flat = " ".join(text.split())
        for words in (
            "Client reports low mood on most days this week.",
            "Plan to continue weekly CBT sessions, next on Monday morning.",
            "Client denied suicidal and homicidal ideation.",
            "PHQ-9 was 13, not 31: misheard.",
            digest.group(0),
            addendum_digest.group(0),
        ):
            assert words in flat, words
        (tmp_path / "note.pdf").write_bytes(pdf)
        subprocess.run(
            [
                tools["pdftoppm"],
                "-png",
                "-r",
                "60",
                "-f",
                "1",
                "-l",
                "1",
                "-singlefile",
                str(tmp_path / "note.pdf"),
                str(screenshots / "pdf-page-1"),
            ],
            check=True,
        )

        # 7. The FHIR copy validates (R4B) and carries exactly that PDF.
        fhir = page.request.get(f"{base}/notes/{note_id}/fhir.json").json()
        Bundle.model_validate(fhir)
        note_reference = fhir["entry"][0]["resource"]
        coding = note_reference["type"]["coding"][0]
        assert (coding["system"], coding["code"]) == ("http://loinc.org", "11506-3")
        attachments = {
            c["attachment"]["contentType"]: c["attachment"] for c in note_reference["content"]
        }
        assert base64.b64decode(attachments["application/pdf"]["data"]) == pdf
        assert any(
            r.get("code") == "appends"
            for e in fhir["entry"][1:]
            for r in e["resource"]["relatesTo"]
        )

        # The other dictation waits in To sign.
        page.goto(base + "/notes/to-sign")
        assert "Review and sign" in page.inner_text("main")
        page.screenshot(path=str(screenshots / "to-sign.png"), full_page=True)

        # 8. erin finds every step in the audit log.
        auditor = browser.new_context().new_page()
        auditor.on("console", lambda message: console.append(message.text))
        _sign_in(auditor, base, "erin")
        exported = auditor.request.get(f"{base}/audit/export.csv").text()
        rows = list(csv.DictReader(io.StringIO(exported)))
        seen = {(r["action"], r["outcome"], r.get("reason") or "") for r in rows}
        for expected in (
            ("note.edit", "allowed", ""),
            ("note.edit", "failed", "version_conflict"),
            ("note.flag_ack", "allowed", "implausible_score"),
            ("note.sign", "failed", "bad_password"),
            ("note.sign", "failed", "bad_code"),
            ("note.sign", "allowed", ""),
            ("transcript.delete", "allowed", "signed"),
            ("note.addendum", "allowed", ""),
            ("note.download", "allowed", "pdf"),
            ("note.download", "allowed", "fhir"),
            ("note.copy", "allowed", "clipboard"),
        ):
            assert expected in seen, expected
        browser.close()

    for name in ("review.png", "signed.png", "to-sign.png", "pdf-page-1.png"):
        _not_blank(screenshots / name)
    assert [m for m in console if "Content Security Policy" in m] == []
