"""The client export job, on the generic queue (appliance.jobs.queue), beside the dictations.

One stage (queued -> working -> ready) in three steps, so that no transaction is held open
while PDFs render (on SQLite every unit of work holds the write lock):
  1. gather: in one transaction, open the signed records of every note (and, when the clinician
     opted in, their psychotherapy notes, as the clinician: appliance.notes.process_notes);
  2. build: render the PDFs and the FHIR bundle in memory, recording progress as it goes;
  3. store: seal the zip under the export's key, write it fsynced, mark the export ready for
     24 hours, all under a lock on the export's row. An export whose client was deleted in the
     meantime is no longer "working" by then, and nothing is kept.
A failed build is tried again with backoff, and fails for good after MAX_ATTEMPTS; missing
PDF fonts (the box's configuration) and a full disk fail it at once, with a message that sends
the clinician to the administrator.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, or_, select

from appliance import clock
from appliance.audit.record import Outcome, record_by
from appliance.crypto.envelope import crypto_shred, open_record_key
from appliance.crypto.keyfiles import Keys
from appliance.faults import report_storage_full, storage_full
from appliance.identity.accounts import actor_for, get_user
from appliance.jobs.queue import (
    JobType,
    backoff_seconds,
    claim_first,
    stale_before,
    work_while_claimed,
)
from appliance.models import Client, Dictation, Export, Note
from appliance.notes import export_files
from appliance.notes.export_archive import (
    BUNDLE,
    INDEX,
    IndexRow,
    index_csv,
    pdf_names,
    zip_archive,
)
from appliance.notes.exports import KEPT_FOR, ExportState
from appliance.notes.fhir import addendum_document_references, bundle, note_document_reference
from appliance.notes.pdf import FontsMissing, render_pdf
from appliance.notes.process_notes import process_note_for_export
from appliance.notes.signed import NoteRecords
from appliance.notes.store import NoteState, open_records
from appliance.records.after_commit import after_commit
from appliance.records.dictations import format_title
from appliance.records.session_details import sessions_of
from appliance.runtime import Appliance

logger = logging.getLogger("appliance.jobs")
MAX_ATTEMPTS = 3
CLIENT_GONE = "The client was deleted, or is no longer yours; nothing was exported."
FONTS_MISSING = (
    "The appliance cannot make PDFs: its fonts (package fonts-dejavu-core) are missing. "
    "Ask your administrator, then request a new export."
)
STORAGE_FULL = (
    "The appliance's storage is full, so the export could not be saved; nothing was kept. "
    "Tell your administrator, and request a new export once space is freed."
)
BUILD_FAILED = (
    "The export could not be made. Request a new one; if it fails again, ask your "
    "administrator to check the appliance's log."
)


@dataclass(frozen=True)
class SessionEntry:
    """One dictation of the client, with its signed records when its note is signed."""

    session_date: date
    state: str
    format_title: str
    has_note: bool
    records: NoteRecords | None
    # Released by the clinician into this export only; None unless they opted in.
    process_note: str | None


@dataclass(frozen=True)
class Contents:
    export_id: str
    made_at: datetime
    sessions: tuple[SessionEntry, ...]

    @property
    def signed(self) -> list[SessionEntry]:
        return [s for s in self.sessions if s.records is not None]


def claim_next(appliance: Appliance) -> str | None:
    now = clock.utcnow()
    with appliance.unit_of_work() as db:
        row = claim_first(
            db,
            select(Export)
            .where(
                or_(
                    (col(Export.state) == ExportState.QUEUED.value)
                    & (col(Export.next_attempt_at) <= now),
                    (col(Export.state) == ExportState.WORKING.value)
                    & (col(Export.claimed_at) < stale_before(appliance)),
                )
            )
            .order_by(col(Export.created_at)),
        )
        if row is None:
            return None
        row.state, row.claimed_at = ExportState.WORKING.value, now
        row.status_message = "Preparing the export."
        db.add(row)
        return row.id


def renew_claim(appliance: Appliance, export_id: str) -> None:
    with appliance.unit_of_work() as db:
        row = db.get(Export, export_id)
        if row is not None and row.state == ExportState.WORKING.value:
            row.claimed_at = clock.utcnow()
            db.add(row)


def work(appliance: Appliance, export_id: str) -> None:
    """Build and store the claimed export; a failure is retried or ends the export."""
    try:
        contents = _gather(appliance, export_id)
        if contents is None:
            return
        archive = _build(appliance, contents)
        _store(appliance, export_id, archive)
    except Exception as exc:
        logger.error("export %s: %s", export_id, type(exc).__name__)
        _retry_or_fail(appliance, export_id, exc)


EXPORT_JOBS = JobType("export", claim=claim_next, work=work, renew=renew_claim)


def process(appliance: Appliance, export_id: str) -> None:
    """Work one claimed export as a worker does (heartbeat included)."""
    work_while_claimed(appliance, EXPORT_JOBS, export_id)


def _gather(appliance: Appliance, export_id: str) -> Contents | None:
    keys = appliance.keys
    with appliance.unit_of_work() as db:
        row = db.get(Export, export_id)
        if row is None or row.state != ExportState.WORKING.value:
            return None
        client = db.get(Client, row.client_id)
        if client is None or client.deleted_at is not None or client.owner_id != row.requested_by:
            _end(db, appliance.settings.data_dir, row, CLIENT_GONE, "client_gone")
            return None
        sessions = _sessions(db, keys, row)
        row.total = sum(1 for s in sessions if s.records is not None) + 1  # + packing the zip
        row.progress = 0
        db.add(row)
        return Contents(export_id, row.created_at, sessions)


def _sessions(db: Session, keys: Keys, row: Export) -> tuple[SessionEntry, ...]:
    dictations = db.exec(select(Dictation).where(Dictation.client_id == row.client_id)).all()
    notes = {
        note.dictation_id: note
        for note in db.exec(select(Note).where(Note.client_id == row.client_id)).all()
    }
    # The clinician, for their psychotherapy notes: the same check and audit line as any
    # other copy they opt into.
    requester = actor_for(get_user(db, row.requested_by))
    entries = []
    # Sorted here: the session details are sealed (appliance.records.session_details).
    details = sessions_of(db, keys, dictations)
    for dictation in sorted(
        dictations,
        key=lambda d: (
            details[d.id].session_date,
            details[d.id].start_time or "",
            d.created_at,
        ),
    ):
        note = notes.get(dictation.id)
        signed = note is not None and note.state != NoteState.DRAFT.value
        records = open_records(db, keys, note) if note is not None and signed else None
        process_note = (
            process_note_for_export(db, keys, requester, note.id)
            if note is not None and records is not None and row.include_process_notes
            else None
        )
        entries.append(
            SessionEntry(
                session_date=details[dictation.id].session_date,
                state=note.state if note is not None else dictation.state,
                format_title=format_title(dictation),
                has_note=note is not None,
                records=records,
                process_note=process_note,
            )
        )
    return tuple(entries)


def _build(appliance: Appliance, contents: Contents) -> bytes:
    signed = contents.signed
    names = pdf_names([s.session_date for s in signed])
    files: list[tuple[str, bytes]] = []
    resources: list[dict[str, Any]] = []
    for done, (entry, name) in enumerate(zip(signed, names, strict=True), start=1):
        assert entry.records is not None
        pdf = render_pdf(entry.records)
        # The FHIR copy is for another provider's record, which psychotherapy notes are kept
        # out of (HIPAA 164.501): it always carries the PDF without them.
        resources.append(note_document_reference(entry.records, pdf))
        resources.extend(addendum_document_references(entry.records))
        if entry.process_note is not None:
            pdf = render_pdf(entry.records, process_note=entry.process_note)
        files.append((name, pdf))
        _progress(appliance, contents.export_id, done)
    rows = _index_rows(contents, names)
    document = bundle(resources, f"export-{contents.export_id}")
    fhir = json.dumps(document, indent=2, ensure_ascii=False).encode("utf-8")
    return zip_archive([(INDEX, index_csv(rows)), *files, (BUNDLE, fhir)], contents.made_at)


def _index_rows(contents: Contents, names: list[str]) -> list[IndexRow]:
    remaining = iter(names)
    return [
        IndexRow(
            session_date=entry.session_date,
            state=entry.state,
            format_title=entry.format_title,
            file_name=next(remaining) if entry.records is not None else None,
            has_note=entry.has_note,
        )
        for entry in contents.sessions
    ]


def _progress(appliance: Appliance, export_id: str, done: int) -> None:
    with appliance.unit_of_work() as db:
        row = db.get(Export, export_id)
        if row is not None and row.state == ExportState.WORKING.value:
            row.progress = done
            db.add(row)


def _store(appliance: Appliance, export_id: str, archive: bytes) -> None:
    data_dir = appliance.settings.data_dir
    with appliance.unit_of_work() as db:
        # Locked: a deletion of the client waits for this commit, or has already ended it.
        row = db.exec(select(Export).where(Export.id == export_id).with_for_update()).first()
        if row is None or row.state != ExportState.WORKING.value:
            return
        key = open_record_key(db, appliance.keys.keks, row.data_key_id)
        export_files.write_sealed(data_dir, export_id, key, archive)
        now = clock.utcnow()
        row.state, row.status_message, row.claimed_at = ExportState.READY.value, None, None
        row.progress, row.file_bytes = row.total, len(archive)
        row.ready_at, row.expires_at = now, now + KEPT_FOR
        db.add(row)


def _retry_or_fail(appliance: Appliance, export_id: str, exc: Exception) -> None:
    with appliance.unit_of_work() as db:
        row = db.get(Export, export_id)
        if row is None or row.state != ExportState.WORKING.value:
            return
        row.attempts += 1
        if isinstance(exc, FontsMissing):
            _end(db, appliance.settings.data_dir, row, FONTS_MISSING, "fonts_missing")
        elif storage_full(exc):
            # Retrying would only fill the disk again: the administrator frees space first.
            report_storage_full("export")
            _end(db, appliance.settings.data_dir, row, STORAGE_FULL, "storage_full")
        elif row.attempts >= MAX_ATTEMPTS:
            _end(db, appliance.settings.data_dir, row, BUILD_FAILED, "build_failed")
        else:
            delay = backoff_seconds(row.attempts)
            row.state, row.claimed_at = ExportState.QUEUED.value, None
            row.next_attempt_at = clock.utcnow() + timedelta(seconds=delay)
            row.status_message = f"Trying again in {delay:.0f} s (attempt {row.attempts})."
            db.add(row)


def _end(db: Session, data_dir: Path, row: Export, message: str, reason: str) -> None:
    """The export fails for good: its key is shredded and any partial file removed."""
    crypto_shred(db, row.data_key_id)
    row.state, row.status_message = ExportState.FAILED.value, message
    row.claimed_at, row.finished_at = None, clock.utcnow()
    db.add(row)
    record_by(
        None, "client.export", Outcome.FAILED, object_type="export", object_id=row.id, reason=reason
    )
    after_commit(db, [partial(export_files.remove, data_dir, row.id)])
