"""The data folder full (ENOSPC injected at the sealed write, or the database's own "disk full"):
the person is told clearly (507), nothing typed is lost, nothing half-written stays on disk, no
row points at a missing file, the audit chain verifies, and the administrator learns of it
(a metric and a log line, without PHI)."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from markupsafe import escape
from prometheus_client import REGISTRY
from sqlmodel import select

from appliance.audit.chain import verify_chain
from appliance.models import Dictation
from appliance.records import whole_files
from appliance.runtime import Appliance
from tests.box_faults import database_full, disk_full
from tests.conftest import Browser
from tests.served_app import DICTATION_FORM
from webui.fault_pages import DICTATION_NOT_SAVED, STORAGE_FULL
from webui.views import dictations

AUDIO = Path(__file__).resolve().parents[1] / "fixtures" / "audio"
TYPED = "Worked on sleep hygiene; she will keep a sleep diary this week."


def _shown(message: str) -> str:
    return str(escape(message))  # as the template prints it ("appliance&#39;s")


def _refused_count(what: str) -> float:
    return REGISTRY.get_sample_value("appliance_storage_full_total", {"what": what}) or 0.0


def _nothing_kept(appliance: Appliance) -> None:
    audio = appliance.settings.data_dir / "audio"
    assert not audio.exists() or list(audio.iterdir()) == [], "a file was left behind"
    with appliance.unit_of_work() as db:
        assert db.exec(select(Dictation)).all() == [], "a row was kept"
    assert verify_chain(appliance.engine, appliance.keys.audit).ok


@pytest.fixture
def alice(signed_in: Callable[[str], Browser]) -> Browser:
    return signed_in("alice")


@pytest.fixture
def disk_fills_at_the_write(monkeypatch: pytest.MonkeyPatch) -> None:
    def half_then_full(fd: int, data: bytes) -> None:
        os.write(fd, data[: len(data) // 2])
        raise disk_full()

    monkeypatch.setattr(whole_files, "_write_all", half_then_full)


def test_a_recording_that_finds_the_disk_full_is_refused_clearly_and_leaves_nothing(
    appliance: Appliance,
    alice: Browser,
    disk_fills_at_the_write: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    client_id = alice.add_client("Ophelia Marchbanks")
    before = _refused_count("dictation")
    wav = (AUDIO / "hello.wav").read_bytes()
    with caplog.at_level(logging.INFO):
        response = alice.send_dictation(client_id, ("hello.wav", wav, "audio/wav"))
    assert response.status_code == 507
    assert _shown(DICTATION_NOT_SAVED) in response.text and 'id="dictation-form"' in response.text
    _nothing_kept(appliance)
    assert _refused_count("dictation") == before + 1
    assert "storage full: dictation write refused" in caplog.text
    assert "Ophelia" not in caplog.text and "Traceback" not in caplog.text


def test_the_recorder_is_told_in_json_and_keeps_its_recording(
    appliance: Appliance, alice: Browser, disk_fills_at_the_write: None
) -> None:
    client_id = alice.add_client()
    token = alice.form_token(f"/clients/{client_id}/dictations/new")
    response = alice.post(
        f"/clients/{client_id}/dictations",
        data={"csrf_token": token, **_details()},
        files={"file": ("recording.wav", (AUDIO / "hello.wav").read_bytes(), "audio/wav")},
        headers={"accept": "application/json"},
    )
    assert response.status_code == 507 and response.json() == {"error": DICTATION_NOT_SAVED}
    _nothing_kept(appliance)


def test_a_commit_refused_after_the_audio_was_written_removes_the_file(
    appliance: Appliance, alice: Browser, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_create = dictations.create_dictation

    def then_the_database_is_full(*args: Any, **kwargs: Any) -> str:
        real_create(*args, **kwargs)
        assert list((appliance.settings.data_dir / "audio").iterdir())  # written...
        raise database_full(appliance.engine)  # ...and then the commit is refused

    monkeypatch.setattr(dictations, "create_dictation", then_the_database_is_full)
    client_id = alice.add_client()
    wav = (AUDIO / "hello.wav").read_bytes()
    response = alice.send_dictation(client_id, ("hello.wav", wav, "audio/wav"))
    assert response.status_code == 507
    _nothing_kept(appliance)


def test_typed_notes_that_find_the_database_full_stay_in_the_form(
    appliance: Appliance, alice: Browser, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(*_args: Any) -> None:
        raise database_full(appliance.engine)

    monkeypatch.setattr("appliance.records.dictations.store_transcript", full)
    client_id = alice.add_client()
    response = alice.send_dictation(client_id, typed_text=TYPED)
    assert response.status_code == 507
    assert _shown(DICTATION_NOT_SAVED) in response.text
    assert f">{TYPED}</textarea>" in response.text
    _nothing_kept(appliance)


def test_when_not_even_the_form_can_be_shown_the_typed_text_is_on_the_page(
    appliance: Appliance, alice: Browser, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(*_args: Any) -> None:
        raise database_full(appliance.engine)

    client_id = alice.add_client()
    token = alice.form_token(f"/clients/{client_id}/dictations/new")
    monkeypatch.setattr("appliance.records.dictations.store_transcript", full)
    monkeypatch.setattr("webui.views.dictations._choices", full)
    response = alice.post(
        f"/clients/{client_id}/dictations",
        data={"csrf_token": token, **_details(), "typed_text": TYPED},
        files={"file": ("", b"", "application/octet-stream")},
    )
    assert response.status_code == 507
    assert _shown(DICTATION_NOT_SAVED) in response.text and TYPED in response.text
    assert "<textarea readonly" in response.text


def test_any_other_page_that_finds_the_database_full_says_so(
    appliance: Appliance, alice: Browser, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(*_args: Any) -> None:
        raise database_full(appliance.engine)

    monkeypatch.setattr("webui.views.clients.list_clients", full)
    before = _refused_count("request")
    response = alice.get("/clients")
    assert response.status_code == 507 and _shown(STORAGE_FULL) in response.text
    assert _refused_count("request") == before + 1


def _details() -> dict[str, str]:
    return dict(DICTATION_FORM)
