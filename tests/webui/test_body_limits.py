"""How much a request may send: forms are capped before they are read; only the routes that
carry a note or a recording accept more, and only after sign-in."""

from __future__ import annotations

import re
from collections.abc import Callable

from appliance.runtime import Appliance
from tests.appliance.notes.conftest import draft_note
from tests.conftest import Browser, People
from webui.posted import FORM_LIMIT


def test_a_form_over_the_limit_is_refused_before_sign_in(
    browser: Callable[[], Browser],
) -> None:
    visitor = browser()
    token = visitor.form_token("/login")
    response = visitor.post(
        "/login",
        data={"csrf_token": token, "username": "alice", "password": "x" * (FORM_LIMIT + 1)},
    )
    assert response.status_code == 413
    assert "larger than this page accepts" in response.text


def test_a_body_longer_than_it_declares_is_cut_off(browser: Callable[[], Browser]) -> None:
    visitor = browser()
    token = visitor.form_token("/login")

    def chunks() -> object:
        yield f"csrf_token={token}&username=alice&password=".encode()
        for _ in range(20):
            yield b"x" * 8192  # 160 KB, streamed without a Content-Length

    response = visitor.post(
        "/login",
        content=chunks(),  # type: ignore[arg-type]
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 413


def test_a_signed_in_form_is_capped_too_but_a_long_note_fits(
    appliance: Appliance, people: People, signed_in: Callable[[str], Browser]
) -> None:
    alice = signed_in("alice")
    too_big = alice.submit("/account/signature-line", {"signature_line": "x" * 70_000}, "/account")
    assert too_big.status_code == 413
    note_id = draft_note(appliance, people)
    page = alice.get(f"/notes/{note_id}").text
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))
    version = re.search(r'name="version" id="note-version" value="(\d+)"', page)
    assert version
    positions = sorted({int(m) for m in re.findall(r'name="st-(\d+)-id"', page)})
    sections = dict(
        re.findall(
            r'<select name="(st-\d+-section)"[^>]*>.*?<option value="([^"]+)" selected', page, re.S
        )
    )
    form = {"csrf_token": fields["csrf_token"], "version": version.group(1), **sections}
    for n in positions:
        form[f"st-{n}-id"] = fields[f"st-{n}-id"]
        form[f"st-{n}-text"] = "Ça va, dit-elle. " * 200  # non-ASCII: 3 KB a statement, encoded 6x
    saved = alice.post(f"/notes/{note_id}", data=form, headers={"accept": "application/json"})
    assert saved.status_code == 200, saved.text[:200]
    assert saved.json()["version"] == int(version.group(1)) + 1


def test_only_the_dictation_form_takes_a_multipart_upload(
    signed_in: Callable[[str], Browser],
) -> None:
    alice = signed_in("alice")
    token = alice.form_token("/account")
    response = alice.post(
        "/account/signature-line",
        data={"csrf_token": token, "signature_line": "Alice Smith, LMFT"},
        files={"file": ("a.wav", b"RIFF" + b"\0" * 100, "audio/wav")},
        follow_redirects=False,
    )
    # Not read as a form at all: no token found, nothing changed.
    assert response.status_code in (400, 403)
    assert 'value="Alice Smith, LMFT"' not in alice.get("/account").text
