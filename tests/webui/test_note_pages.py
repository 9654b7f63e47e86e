"""The note's pages over HTTP: autosave with versions, conflicts, acknowledging, signing with
the password, the signed record's page and copies, and the to-sign list."""

from __future__ import annotations

import re
from collections.abc import Callable

from appliance.runtime import Appliance
from tests.appliance.notes.conftest import blocking_flag, draft_note, set_signature_line
from tests.conftest import PASSWORD, Browser, People


def _form(page: str) -> dict[str, str]:
    """The review form's fields as the browser would post them (no box ticked)."""
    form = page.split('id="note-form"', 1)[1].split("</form>", 1)[0]
    fields = {}
    for tag in re.findall(r'<input type="hidden"[^>]*>', form):
        name, value = re.search(r'name="([^"]+)"', tag), re.search(r'value="([^"]*)"', tag)
        if name and value:
            fields[name.group(1)] = value.group(1)
    fields.update(
        (name, text.strip())
        for name, text in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>([^<]*)</textarea>', form)
    )
    for name, selected in re.findall(
        r'<select name="([^"]+)"[^>]*>.*?<option value="([^"]+)" selected', form, re.S
    ):
        fields[name] = selected
    return fields


def _text_field(fields: dict[str, str], words: str) -> str:
    return next(name for name, value in fields.items() if value == words)


def test_autosave_bumps_the_version_and_a_stale_tab_gets_409_with_both_texts(
    appliance: Appliance, people: People, signed_in: Callable[[str], Browser]
) -> None:
    note_id = draft_note(appliance, people)
    alice = signed_in("alice")
    first = _form(alice.get(f"/notes/{note_id}").text)
    second = dict(first)
    name = _text_field(first, "Client reports sleeping better since last session.")
    first[name] = "Sleep is better (tab one)."
    second[name] = "Sleep is better (tab two)."
    json = {"Accept": "application/json"}
    saved = alice.post(f"/notes/{note_id}", data=first, headers=json)
    assert saved.status_code == 200 and saved.json()["version"] == 2
    assert saved.json()["seconds_left"] > 0
    stale = alice.post(f"/notes/{note_id}", data=second, headers=json)
    assert stale.status_code == 409
    assert "Sleep is better (tab one)." in [s["text"] for s in stale.json()["theirs"]]
    page = alice.get(f"/notes/{note_id}").text
    assert "Sleep is better (tab one)." in page and "tab two" not in page
    without_script = alice.post(f"/notes/{note_id}", data=second)
    assert without_script.status_code == 409
    assert "tab one" in without_script.text and "tab two" in without_script.text


def test_a_note_is_signed_only_with_flags_handled_and_the_right_password(
    appliance: Appliance, people: People, signed_in: Callable[[str], Browser]
) -> None:
    set_signature_line(appliance, people.alice.id or 0, "Alice Smith, LMFT")
    note_id = draft_note(appliance, people)
    alice = signed_in("alice")
    page = alice.get(f"/notes/{note_id}").text
    assert "blocks signing" in page and "Sign note" in page
    token = _form(page)["csrf_token"]

    def sign(password: str) -> object:
        version = _form(alice.get(f"/notes/{note_id}").text)["version"]
        return alice.post(
            f"/notes/{note_id}/sign",
            data={"csrf_token": token, "version": version, "password": password},
            follow_redirects=False,
        )

    blocked = sign(PASSWORD)
    assert blocked.status_code == 400 and "must be fixed or acknowledged" in blocked.text  # type: ignore[attr-defined]
    acked = alice.post(
        f"/notes/{note_id}/flags/{blocking_flag(appliance, note_id)}/ack",
        data={"csrf_token": token},
        follow_redirects=False,
    )
    assert acked.status_code == 303
    wrong = sign("not-the-password")
    assert wrong.status_code == 400 and "password is not right" in wrong.text  # type: ignore[attr-defined]
    assert sign(PASSWORD).status_code == 303  # type: ignore[attr-defined]
    signed = alice.get(f"/notes/{note_id}").text
    assert "signed record" in signed and "Electronically signed by Alice Smith, LMFT" in signed
    assert re.search(r"SHA-256 of the signed record: <code>[0-9a-f]{64}</code>", signed)
    assert 'id="note-form"' not in signed  # nothing left to edit


def test_a_signed_notes_copies_download_and_a_drafts_do_not(
    appliance: Appliance, people: People, signed_in: Callable[[str], Browser]
) -> None:
    set_signature_line(appliance, people.alice.id or 0, "Alice Smith, LMFT")
    note_id = draft_note(appliance, people)
    alice = signed_in("alice")
    assert alice.get(f"/notes/{note_id}.pdf").status_code == 404
    token = _form(alice.get(f"/notes/{note_id}").text)["csrf_token"]
    alice.post(
        f"/notes/{note_id}/flags/{blocking_flag(appliance, note_id)}/ack",
        data={"csrf_token": token},
    )
    version = _form(alice.get(f"/notes/{note_id}").text)["version"]
    alice.post(
        f"/notes/{note_id}/sign",
        data={"csrf_token": token, "version": version, "password": PASSWORD},
    )
    pdf = alice.get(f"/notes/{note_id}.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert pdf.headers["content-disposition"].startswith("attachment")
    text = alice.get(f"/notes/{note_id}.txt").text
    assert "She denied suicidal ideation." in text and "SHA-256: " in text
    fhir = alice.get(f"/notes/{note_id}/fhir.json").json()
    assert fhir["resourceType"] == "Bundle"
    assert fhir["entry"][0]["resource"]["type"]["coding"][0]["code"] == "11506-3"
    assert signed_in("carol").get(f"/notes/{note_id}.txt").status_code == 200
    assert signed_in("bob").get(f"/notes/{note_id}.txt").status_code == 404


def test_the_to_sign_list_and_the_nav_count_show_unsigned_notes(
    appliance: Appliance, people: People, signed_in: Callable[[str], Browser]
) -> None:
    note_id = draft_note(appliance, people, session_date="2026-11-01")
    alice = signed_in("alice")
    page = alice.get("/notes/to-sign").text
    assert f'href="/notes/{note_id}"' in page and "overdue" in page
    assert re.search(r'To sign <span class="count">1</span>', page)
    assert 'class="count"' not in signed_in("bob").get("/clients").text


def test_the_signature_line_is_set_on_the_account_page(
    people: People, signed_in: Callable[[str], Browser]
) -> None:
    alice = signed_in("alice")
    saved = alice.submit(
        "/account/signature-line", {"signature_line": "Alice Smith, LMFT"}, "/account"
    )
    assert saved.status_code == 303
    assert 'value="Alice Smith, LMFT"' in alice.get("/account").text
    empty = alice.submit("/account/signature-line", {"signature_line": "  "}, "/account")
    assert empty.status_code == 400
    assert "signature-line" not in signed_in("dave").get("/account").text
