"""Psychotherapy notes, the client export and client deletion through the pages."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable

from appliance.jobs.export_stages import claim_next, process
from appliance.runtime import Appliance
from tests.appliance.notes.conftest import draft_note
from tests.conftest import PASSWORD, Browser, People


def _client_of(appliance: Appliance, note_id: str) -> str:
    from appliance.models import Note

    with appliance.unit_of_work() as db:
        note = db.get(Note, note_id)
        assert note is not None
        return note.client_id


def test_psychotherapy_notes_are_private_until_released_to_the_supervisor(
    appliance: Appliance, people: People, signed_in: Callable[[str], Browser]
) -> None:
    note_id = draft_note(appliance, people)
    alice, carol = signed_in("alice"), signed_in("carol")
    private = "Countertransference: I felt protective today."
    saved = alice.submit(
        f"/notes/{note_id}/process-note", {"process_note": private}, f"/notes/{note_id}"
    )
    assert saved.status_code == 303
    assert private in alice.get(f"/notes/{note_id}").text
    assert private not in carol.get(f"/notes/{note_id}").text
    alice.submit(f"/notes/{note_id}/process-note/release", {"released": "yes"}, f"/notes/{note_id}")
    assert private in carol.get(f"/notes/{note_id}").text
    alice.submit(f"/notes/{note_id}/process-note/release", {"released": "no"}, f"/notes/{note_id}")
    assert private not in carol.get(f"/notes/{note_id}").text
    assert carol.post(f"/notes/{note_id}/process-note", data={}).status_code == 403


def test_an_export_is_prepared_by_a_worker_and_downloads_once(
    appliance: Appliance, people: People, signed_in: Callable[[str], Browser]
) -> None:
    client_id = _client_of(appliance, draft_note(appliance, people))
    alice = signed_in("alice")
    requested = alice.submit(f"/clients/{client_id}/export", {}, f"/clients/{client_id}")
    assert requested.status_code == 303
    page = requested.headers["location"]
    export_id = page.rsplit("/", 1)[1]
    assert "Queued" in alice.get(page).text
    assert alice.get(f"{page}/status").json()["state"] == "queued"
    assert claim_next(appliance) == export_id
    process(appliance, export_id)
    ready = alice.get(page).text
    assert "Download client-export-" in ready
    token = re.search(r'name="csrf_token" value="([^"]+)"', ready)
    assert token
    download = alice.post(f"{page}/download", data={"csrf_token": token.group(1)})
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(download.content)).namelist()
    assert "index.csv" in names and "fhir-bundle.json" in names
    again = alice.post(f"{page}/download", data={"csrf_token": token.group(1)})
    assert again.status_code == 409 and "already downloaded" in again.text
    assert signed_in("bob").get(page).status_code == 404


def test_a_client_is_deleted_only_with_the_typed_name_and_the_password(
    appliance: Appliance, people: People, signed_in: Callable[[str], Browser]
) -> None:
    client_id = _client_of(appliance, draft_note(appliance, people))
    alice = signed_in("alice")
    confirm = alice.get(f"/clients/{client_id}/delete").text
    assert "cannot be undone" in confirm and "kept for years" in confirm
    path, page = f"/clients/{client_id}/delete", f"/clients/{client_id}/delete"
    wrong_name = alice.submit(path, {"typed_name": "Someone", "password": PASSWORD}, page)
    assert wrong_name.status_code == 400
    wrong_password = alice.submit(path, {"typed_name": "Ann A", "password": "nope-nope"}, page)
    assert wrong_password.status_code == 400
    assert alice.get(f"/clients/{client_id}").status_code == 200
    deleted = alice.submit(path, {"typed_name": "  ann a ", "password": PASSWORD}, page)
    assert (
        deleted.status_code == 303 and deleted.headers["location"] == "/clients?done=client_deleted"
    )
    assert alice.get(f"/clients/{client_id}").status_code == 404
    assert "Ann A" not in alice.get("/clients").text
    assert signed_in("carol").get(f"/clients/{client_id}/delete").status_code == 403
