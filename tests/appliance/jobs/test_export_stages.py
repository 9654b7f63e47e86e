"""The export job: what the zip holds, how it is stored, progress, retries and a client deleted
while its export is being built."""

from __future__ import annotations

import base64
import csv
import io
import json
import os
import zipfile
from collections.abc import Callable
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from pypdf import PdfReader
from sqlmodel import select

from appliance.audit.chain import EventData
from appliance.crypto.envelope import KeyShredded, open_record_key
from appliance.identity.accounts import actor_for
from appliance.jobs import export_stages
from appliance.jobs.export_stages import MAX_ATTEMPTS, claim_next, process
from appliance.jobs.job_types import JOB_TYPES
from appliance.jobs.queue import Workers
from appliance.models import Export
from appliance.notes import export_files
from appliance.notes.export_archive import NOT_SIGNED
from appliance.notes.exports import download_export, request_export
from appliance.notes.pdf import PROCESS_NOTE_HEADING, FontsMissing, render_pdf
from appliance.notes.process_notes import save_process_note
from appliance.records import whole_files
from appliance.records.client_deletion import delete_client
from appliance.roles import Actor
from appliance.runtime import Appliance
from tests.appliance.client_history import (
    ADDENDUM,
    CLIENT_NAME,
    DRAFT_TEXT,
    SIGNED_TEXT,
    TwoSessions,
    two_sessions,
)
from tests.box_faults import disk_full
from tests.conftest import PASSWORD, Clock, People

PRIVATE = "She reminds me of my sister; watch for over-identification next time."


@pytest.fixture
def alice(people: People) -> Actor:
    return actor_for(people.alice)


@pytest.fixture
def history(appliance: Appliance, alice: Actor) -> TwoSessions:
    return two_sessions(appliance, alice)


def _request(appliance: Appliance, actor: Actor, client_id: str, **kw: bool) -> str:
    with appliance.unit_of_work() as db:
        return request_export(db, appliance.keys, actor, client_id, **kw)


def _run(appliance: Appliance, export_id: str) -> None:
    assert claim_next(appliance) == export_id
    process(appliance, export_id)


def _row(appliance: Appliance, export_id: str) -> Export:
    with appliance.unit_of_work() as db:
        row = db.get(Export, export_id)
        assert row is not None
        db.expunge(row)
        return row


def _download(appliance: Appliance, actor: Actor, export_id: str) -> bytes:
    with appliance.unit_of_work() as db:
        return download_export(db, appliance.settings, appliance.keys, actor, export_id)


@pytest.fixture
def exported(
    appliance: Appliance, alice: Actor, history: TwoSessions
) -> Callable[..., zipfile.ZipFile]:
    """Request, build and download an export of the history's client: the zip."""

    def make(**kw: bool) -> zipfile.ZipFile:
        export_id = _request(appliance, alice, history.client_id, **kw)
        _run(appliance, export_id)
        assert _row(appliance, export_id).state == "ready"
        return zipfile.ZipFile(io.BytesIO(_download(appliance, alice, export_id)))

    return make


def _words(text: str) -> str:
    return " ".join(text.split())


def _pdf_text(data: bytes) -> str:
    return _words(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages))


def test_the_index_lists_both_sessions_and_only_the_signed_one_is_exported(
    exported: Callable[..., zipfile.ZipFile], history: TwoSessions
) -> None:
    archive = exported()
    signed_pdf = f"note-{history.signed_date.isoformat()}.pdf"
    assert archive.namelist() == ["index.csv", signed_pdf, "fhir-bundle.json"]
    rows = list(csv.DictReader(io.StringIO(archive.read("index.csv").decode())))
    assert rows == [
        {
            "session_date": history.signed_date.isoformat(),
            "state": "signed",
            "format": "SOAP",
            "file": signed_pdf,
        },
        {
            "session_date": history.draft_date.isoformat(),
            "state": "draft",
            "format": "SOAP",
            "file": NOT_SIGNED,
        },
    ]


def test_the_pdf_holds_the_signed_statements_and_the_addendum_but_not_the_draft(
    exported: Callable[..., zipfile.ZipFile],
) -> None:
    archive = exported()
    pdfs = [name for name in archive.namelist() if name.endswith(".pdf")]
    assert len(pdfs) == 1
    text = _pdf_text(archive.read(pdfs[0]))
    for sentence in SIGNED_TEXT.split(". "):
        assert _words(sentence.rstrip(".")) in text
    assert _words(ADDENDUM) in text and CLIENT_NAME in text
    assert "landlord" not in text and DRAFT_TEXT[:30] not in text
    assert PROCESS_NOTE_HEADING not in text


def test_the_fhir_bundle_holds_the_signed_note_and_its_addendum(
    exported: Callable[..., zipfile.ZipFile], history: TwoSessions
) -> None:
    document = json.loads(exported().read("fhir-bundle.json"))
    Bundle.model_validate(document)
    resources = [entry["resource"] for entry in document["entry"]]
    assert [r["id"] for r in resources] == [
        f"note-{history.signed_note}",
        f"note-{history.signed_note}-addendum-1",
    ]
    assert resources[1]["relatesTo"][0]["code"] == "appends"
    assert resources[0]["subject"]["display"] == CLIENT_NAME


def test_process_notes_are_printed_only_when_the_clinician_opted_in(
    appliance: Appliance,
    alice: Actor,
    history: TwoSessions,
    exported: Callable[..., zipfile.ZipFile],
    audit_events: list[EventData],
) -> None:
    with appliance.unit_of_work() as db:
        save_process_note(db, appliance.keys, alice, history.signed_note, PRIVATE)
    plain = exported()
    assert not [e for e in audit_events if e.action == "process_note.export"]
    opted_in = exported(include_process_notes=True)
    pdf_name = plain.namelist()[1]
    assert _words(PRIVATE) not in _pdf_text(plain.read(pdf_name))
    text = _pdf_text(opted_in.read(pdf_name))
    assert PROCESS_NOTE_HEADING in text and _words(PRIVATE) in text
    exports = [e for e in audit_events if e.action == "process_note.export"]
    assert [(e.actor_id, e.object_id) for e in exports] == [(alice.user_id, history.signed_note)]
    # The FHIR copy goes into another provider's record: never with psychotherapy notes.
    bundle = json.loads(opted_in.read("fhir-bundle.json"))
    attachment = bundle["entry"][0]["resource"]["content"][0]["attachment"]
    assert attachment["contentType"] == "application/pdf"
    assert _words(PRIVATE) not in _pdf_text(base64.b64decode(attachment["data"]))
    assert "over-identification" not in json.dumps(bundle)


def test_the_file_on_disk_is_sealed_under_the_exports_key(
    appliance: Appliance, alice: Actor, history: TwoSessions
) -> None:
    export_id = _request(appliance, alice, history.client_id)
    _run(appliance, export_id)
    row = _row(appliance, export_id)
    raw = export_files.path(appliance.settings.data_dir, export_id).read_bytes()
    assert not zipfile.is_zipfile(io.BytesIO(raw)) and b"PK\x03\x04" not in raw
    assert b"index.csv" not in raw and b"%PDF" not in raw
    with appliance.unit_of_work() as db:
        key = open_record_key(db, appliance.keys.keks, row.data_key_id)
    archive = export_files.read_sealed(appliance.settings.data_dir, export_id, key)
    assert zipfile.is_zipfile(io.BytesIO(archive)) and row.file_bytes == len(archive)


def test_progress_counts_each_pdf_then_the_zip(
    appliance: Appliance,
    alice: Actor,
    history: TwoSessions,
    monkeypatch: pytest.MonkeyPatch,
    frozen_clock: Clock,
) -> None:
    export_id = _request(appliance, alice, history.client_id)
    seen: list[tuple[str, int, int]] = []

    def observed(*args: Any, **kwargs: Any) -> bytes:
        row = _row(appliance, export_id)
        seen.append((row.state, row.progress, row.total))
        return render_pdf(*args, **kwargs)

    monkeypatch.setattr(export_stages, "render_pdf", observed)
    _run(appliance, export_id)
    row = _row(appliance, export_id)
    assert seen == [("working", 0, 2)]
    assert (row.state, row.progress, row.total) == ("ready", 2, 2)
    assert row.ready_at == frozen_clock.now
    assert row.expires_at is not None and (row.expires_at - frozen_clock.now).total_seconds() == (
        24 * 3600
    )


def test_a_failing_build_is_retried_with_backoff_then_fails_and_is_shredded(
    appliance: Appliance,
    alice: Actor,
    history: TwoSessions,
    monkeypatch: pytest.MonkeyPatch,
    frozen_clock: Clock,
    audit_events: list[EventData],
) -> None:
    def broken(*_args: Any, **_kwargs: Any) -> bytes:
        raise RuntimeError("renderer crashed")

    monkeypatch.setattr(export_stages, "render_pdf", broken)
    export_id = _request(appliance, alice, history.client_id)
    _run(appliance, export_id)
    row = _row(appliance, export_id)
    assert (row.state, row.attempts) == ("queued", 1)
    assert row.next_attempt_at > frozen_clock.now
    assert claim_next(appliance) is None  # not before its backoff
    for _ in range(MAX_ATTEMPTS - 1):
        frozen_clock.advance(minutes=2)
        _run(appliance, export_id)
    row = _row(appliance, export_id)
    assert row.state == "failed" and "could not be made" in (row.status_message or "")
    with appliance.unit_of_work() as db, pytest.raises(KeyShredded):
        open_record_key(db, appliance.keys.keks, row.data_key_id)
    assert not export_files.path(appliance.settings.data_dir, export_id).exists()
    failures = [(e.action, e.reason) for e in audit_events if e.outcome == "failed"]
    assert failures == [("client.export", "build_failed")]


def test_missing_pdf_fonts_fail_the_export_at_once_with_a_message_for_the_administrator(
    appliance: Appliance, alice: Actor, history: TwoSessions, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_fonts(*_args: Any, **_kwargs: Any) -> bytes:
        raise FontsMissing("fonts-dejavu-core is not installed")

    monkeypatch.setattr(export_stages, "render_pdf", no_fonts)
    export_id = _request(appliance, alice, history.client_id)
    _run(appliance, export_id)
    row = _row(appliance, export_id)
    assert row.state == "failed" and "fonts-dejavu-core" in (row.status_message or "")


def test_a_client_deleted_while_its_export_builds_leaves_no_file(
    appliance: Appliance,
    alice: Actor,
    history: TwoSessions,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    export_id = _request(appliance, alice, history.client_id)

    def deleted_meanwhile(*args: Any, **kwargs: Any) -> bytes:
        with appliance.unit_of_work() as db:
            outcome = delete_client(
                db,
                appliance.settings,
                appliance.keys,
                alice,
                history.client_id,
                typed_name=CLIENT_NAME,
                password=PASSWORD,
            )
        assert outcome.deleted
        return render_pdf(*args, **kwargs)

    monkeypatch.setattr(export_stages, "render_pdf", deleted_meanwhile)
    _run(appliance, export_id)
    assert _row(appliance, export_id).state == "expired"
    assert export_files.stored_ids(appliance.settings.data_dir) == []


def test_a_claim_not_renewed_for_a_whole_lease_is_taken_over(
    appliance: Appliance, alice: Actor, history: TwoSessions, frozen_clock: Clock
) -> None:
    export_id = _request(appliance, alice, history.client_id)
    assert claim_next(appliance) == export_id
    assert claim_next(appliance) is None  # claimed and fresh
    frozen_clock.advance(seconds=appliance.settings.job_lease_seconds + 1)
    assert claim_next(appliance) == export_id
    process(appliance, export_id)
    assert _row(appliance, export_id).state == "ready"


def test_the_workers_of_appliance_serve_run_export_jobs(
    appliance: Appliance, alice: Actor, history: TwoSessions
) -> None:
    export_id = _request(appliance, alice, history.client_id)
    workers = Workers(appliance, JOB_TYPES, count=1)
    assert workers.run_once()
    with appliance.unit_of_work() as db:
        states = db.exec(select(Export.state).where(Export.id == export_id)).all()
    assert states == ["ready"]


def test_an_archive_that_finds_the_disk_full_fails_at_once_and_leaves_no_file(
    appliance: Appliance,
    alice: Actor,
    history: TwoSessions,
    monkeypatch: pytest.MonkeyPatch,
    audit_events: list[EventData],
) -> None:
    def half_then_full(fd: int, data: bytes) -> None:
        os.write(fd, data[: len(data) // 2])
        raise disk_full()

    monkeypatch.setattr(whole_files, "_write_all", half_then_full)
    export_id = _request(appliance, alice, history.client_id)
    _run(appliance, export_id)
    row = _row(appliance, export_id)
    assert row.state == "failed" and row.attempts == 1
    assert "storage is full" in (row.status_message or "")
    assert list(export_files.exports_dir(appliance.settings.data_dir).iterdir()) == []
    with appliance.unit_of_work() as db, pytest.raises(KeyShredded):
        open_record_key(db, appliance.keys.keks, row.data_key_id)
    failures = [(e.action, e.reason) for e in audit_events if e.outcome == "failed"]
    assert failures == [("client.export", "storage_full")]
