"""A client's records as one zip, for the clinician: requested here, built by a worker
(appliance.jobs.export_stages), downloaded once, destroyed after 24 hours at the latest.

The archive on disk is sealed under the export's own data key. Downloading it shreds that key
and removes the file, so the one copy that leaves the box is the one the clinician took; an
export nobody downloads is shredded the same way when it expires. Only the clinician who asked
for it sees it at all: to anyone else an export does not exist.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from functools import partial
from typing import NoReturn

from sqlmodel import Session, col, select

from appliance import clock
from appliance.access import NotFound
from appliance.audit.record import Outcome, record_by
from appliance.crypto.envelope import DecryptionError, crypto_shred, new_record_key, open_record_key
from appliance.crypto.keyfiles import Keys
from appliance.models import Client, Export
from appliance.notes import export_files
from appliance.records.after_commit import after_commit
from appliance.records.client_owner import owned_client
from appliance.roles import Actor
from appliance.runtime import Appliance
from appliance.settings import Settings

REQUEST = "client.export"
DOWNLOAD = "client.export_download"
EXPIRE = "client.export_expire"
KEPT_FOR = timedelta(hours=24)
# Longer ids cannot be an export's: they are not looked up, nor written to the audit trail.
MAX_ID = 32


class ExportState(StrEnum):
    QUEUED = "queued"
    WORKING = "working"
    READY = "ready"
    DOWNLOADED = "downloaded"
    EXPIRED = "expired"
    FAILED = "failed"


# States whose archive exists, or is about to.
LIVE_STATES = (ExportState.QUEUED.value, ExportState.WORKING.value, ExportState.READY.value)

REFUSALS = {
    ExportState.QUEUED: "This export is still being prepared; try again when it is ready.",
    ExportState.WORKING: "This export is still being prepared; try again when it is ready.",
    ExportState.DOWNLOADED: (
        "This export was already downloaded. Each export downloads once and is then destroyed; "
        "request a new one for another copy."
    ),
    ExportState.EXPIRED: (
        "This export has expired: exports are destroyed 24 hours after they are ready. "
        "Request a new one."
    ),
    ExportState.FAILED: "This export could not be made. Request a new one.",
}


class ExportUnavailable(Exception):
    """The download is refused; str(exc) says why, for the clinician (fixed wording)."""


@dataclass(frozen=True)
class ExportView:
    id: str
    client_id: str
    state: str
    # A fixed message (never PHI): why it failed, or what it is doing.
    status_message: str | None
    progress: int
    total: int
    include_process_notes: bool
    created_at: datetime
    ready_at: datetime | None
    expires_at: datetime | None
    file_bytes: int | None

    @property
    def file_name(self) -> str:
        """What the download is saved as: no name or other PHI, since file names end up in
        download lists and sync logs."""
        return f"client-export-{self.created_at:%Y-%m-%d}-{self.id[:8]}.zip"


def _view(row: Export) -> ExportView:
    return ExportView(
        id=row.id,
        client_id=row.client_id,
        state=row.state,
        status_message=row.status_message,
        progress=row.progress,
        total=row.total,
        include_process_notes=row.include_process_notes,
        created_at=row.created_at,
        ready_at=row.ready_at,
        expires_at=row.expires_at,
        file_bytes=row.file_bytes,
    )


def request_export(
    db: Session, keys: Keys, actor: Actor, client_id: str, *, include_process_notes: bool = False
) -> str:
    """Queue an export of the client's records (the client's clinician only); its id. Asking
    again while an identical one is still queued or being built returns that one."""
    owned_client(db, keys, actor, client_id, REQUEST)
    pending = db.exec(
        select(Export.id).where(
            Export.client_id == client_id,
            Export.requested_by == actor.user_id,
            Export.include_process_notes == include_process_notes,
            col(Export.state).in_([ExportState.QUEUED.value, ExportState.WORKING.value]),
        )
    ).first()
    if pending is not None:
        return pending
    key = new_record_key(db, keys.keks, "export")
    now = clock.utcnow()
    row = Export(
        id=secrets.token_hex(16),
        client_id=client_id,
        requested_by=actor.user_id,
        data_key_id=key.id,
        include_process_notes=include_process_notes,
        state=ExportState.QUEUED.value,
        status_message="Waiting for a worker.",
        next_attempt_at=now,
        created_at=now,
    )
    db.add(row)
    db.flush()
    record_by(
        actor,
        REQUEST,
        object_type="client",
        object_id=client_id,
        reason="with_process_notes" if include_process_notes else None,
    )
    return row.id


def _requested(
    db: Session, actor: Actor, export_id: str, action: str | None, *, lock: bool = False
) -> Export:
    """The export, if this actor asked for it and its client still exists; NotFound otherwise
    (audited under `action`)."""
    row = None
    if len(export_id) <= MAX_ID:
        query = select(Export).where(Export.id == export_id)
        row = db.exec(query.with_for_update() if lock else query).first()
    client = db.get(Client, row.client_id) if row is not None else None
    gone = client is None or client.deleted_at is not None
    if row is None or row.requested_by != actor.user_id or gone:
        if action is not None:
            record_by(
                actor,
                action,
                Outcome.DENIED,
                object_type="export",
                object_id=export_id if row is not None else None,
            )
        raise NotFound("export")
    return row


def export_status(db: Session, keys: Keys, actor: Actor, export_id: str) -> ExportView:
    """For the progress view, polled: not audited unless refused (nothing decrypted)."""
    return _view(_requested(db, actor, export_id, "client.export_view"))


def list_exports(db: Session, keys: Keys, actor: Actor, client_id: str) -> list[ExportView]:
    """The actor's own exports of this client, newest first (the client's clinician only)."""
    owned_client(db, keys, actor, client_id, "client.export_view")
    rows = db.exec(
        select(Export)
        .where(Export.client_id == client_id, Export.requested_by == actor.user_id)
        .order_by(col(Export.created_at).desc())
    ).all()
    return [_view(row) for row in rows]


def download_export(
    db: Session, settings: Settings, keys: Keys, actor: Actor, export_id: str
) -> bytes:
    """The zip, once: its key is shredded in this transaction and its file removed after the
    commit. Anything but a ready, unexpired export raises ExportUnavailable (audited)."""
    row = _requested(db, actor, export_id, DOWNLOAD, lock=True)
    state = ExportState(row.state)
    expired = row.expires_at is not None and row.expires_at <= clock.utcnow()
    if state is ExportState.READY and expired:
        state = ExportState.EXPIRED  # the periodic task has not come round to it yet
    if state is not ExportState.READY:
        _refuse_download(actor, export_id, state.value, REFUSALS[state])
    try:
        key = open_record_key(db, keys.keks, row.data_key_id)
        archive = export_files.read_sealed(settings.data_dir, export_id, key)
    except (FileNotFoundError, DecryptionError):
        _refuse_download(actor, export_id, "unreadable", REFUSALS[ExportState.FAILED])
    crypto_shred(db, row.data_key_id)
    row.state, row.finished_at = ExportState.DOWNLOADED.value, clock.utcnow()
    db.add(row)
    record_by(actor, DOWNLOAD, object_type="export", object_id=export_id)
    after_commit(db, [partial(export_files.remove, settings.data_dir, export_id)])
    return archive


def _refuse_download(actor: Actor, export_id: str, reason: str, message: str) -> NoReturn:
    record_by(
        actor, DOWNLOAD, Outcome.FAILED, object_type="export", object_id=export_id, reason=reason
    )
    raise ExportUnavailable(message)


def expire_exports(appliance: Appliance) -> int:
    """Shred every ready export past its 24 hours (the periodic task); how many.

    Also removes any file whose export is finished (downloaded, expired, failed, its client
    deleted) yet still on disk because the process stopped between a commit and the removal:
    undecryptable already, but not worth keeping."""
    data_dir = appliance.settings.data_dir
    with appliance.unit_of_work() as db:
        now = clock.utcnow()
        due = db.exec(
            select(Export).where(
                Export.state == ExportState.READY.value, col(Export.expires_at) <= now
            )
        ).all()
        for row in due:
            crypto_shred(db, row.data_key_id)
            row.state, row.finished_at = ExportState.EXPIRED.value, now
            db.add(row)
            record_by(None, EXPIRE, object_type="export", object_id=row.id)
        stored = export_files.stored_ids(data_dir)
        live = db.exec(
            select(Export.id).where(col(Export.id).in_(stored), col(Export.state).in_(LIVE_STATES))
        ).all()
        finished = set(stored) - set(live)  # the rows expired above included (autoflush)
        after_commit(db, [partial(export_files.remove, data_dir, i) for i in sorted(finished)])
    return len(due)
