from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from tests.conftest import Browser

AUDIO = Path(__file__).resolve().parents[1] / "fixtures" / "audio"
DETAILS = {
    "session_date": "2026-11-20",
    "start_time": "14:00",
    "duration_minutes": "50",
    "service_code": "90837",
    "modality": "dbt",
    "note_format": "birp",
}


def _client(alice: Browser) -> str:
    created = alice.submit(
        "/clients",
        {"display_name": "Ann A", "external_id": "", "date_of_birth": ""},
        "/clients/new",
    )
    return str(created.headers["location"]).split("/")[2].split("?")[0]


def _post(
    alice: Browser, client_id: str, file: tuple[str, bytes, str] | None, **fields: str
) -> object:
    token = alice.form_token(f"/clients/{client_id}/dictations/new")
    files = {"file": file} if file else {"file": ("", b"", "application/octet-stream")}
    return alice.post(
        f"/clients/{client_id}/dictations",
        data={"csrf_token": token, **DETAILS, **fields},
        files=files,
        follow_redirects=False,
    )


def test_typed_notes_go_straight_to_drafting(signed_in: Callable[[str], Browser]) -> None:
    alice = signed_in("alice")
    client_id = _client(alice)
    response = _post(alice, client_id, None, typed_text="Chain analysis of Tuesday's urge.")
    assert response.status_code == 303  # type: ignore[attr-defined]
    page = alice.get(response.headers["location"]).text  # type: ignore[attr-defined]
    assert "Chain analysis of Tuesday" in page and "Drafting" in page
    listing = alice.get(f"/clients/{client_id}").text
    assert "DBT" in listing and "BIRP" in listing


def test_an_upload_is_queued_and_its_progress_can_be_polled(
    signed_in: Callable[[str], Browser],
) -> None:
    alice = signed_in("alice")
    client_id = _client(alice)
    wav = (AUDIO / "hello.wav").read_bytes()
    response = _post(alice, client_id, ("hello.wav", wav, "audio/wav"))
    location = response.headers["location"]  # type: ignore[attr-defined]
    status = alice.get(f"{location}/status").json()
    assert status["state"] == "queued" and status["queue_position"] == 1
    assert signed_in("bob").get(f"{location}/status").status_code == 404


def test_a_wrong_file_type_is_explained_and_the_form_is_kept(
    signed_in: Callable[[str], Browser],
) -> None:
    alice = signed_in("alice")
    client_id = _client(alice)
    png = (AUDIO / "not-audio.png").read_bytes()
    response = _post(alice, client_id, ("scan.png", png, "image/png"))
    assert response.status_code == 400  # type: ignore[attr-defined]
    text = response.text  # type: ignore[attr-defined]
    assert "not a recording the appliance reads" in text
    assert re.search(r'<option value="dbt" selected>', text)
    assert "No dictations yet." in alice.get(f"/clients/{client_id}").text


def test_the_form_remembers_the_clinicians_last_modality_and_format(
    signed_in: Callable[[str], Browser],
) -> None:
    alice = signed_in("alice")
    client_id = _client(alice)
    _post(alice, client_id, None, typed_text="notes")
    form = alice.get(f"/clients/{client_id}/dictations/new").text
    assert '<option value="dbt" selected>' in form and '<option value="birp" selected>' in form


def test_a_supervisor_reads_but_cannot_submit(signed_in: Callable[[str], Browser]) -> None:
    alice = signed_in("alice")
    client_id = _client(alice)
    location = _post(alice, client_id, None, typed_text="Diary card reviewed.").headers["location"]  # type: ignore[attr-defined]
    carol = signed_in("carol")
    assert "Diary card reviewed." in carol.get(location).text
    assert carol.get(f"/clients/{client_id}/dictations/new").status_code == 403
