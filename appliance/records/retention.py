"""Transcript retention: once the admin's period has passed, the transcript is crypto-shredded.

The default keeps a transcript until its note is signed (signing arrives with the review
workflow); with N days configured, a periodic task in `appliance serve` destroys each
transcript's key N days after it was transcribed. The draft, built from it, stays.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import col, select

from appliance import clock
from appliance.audit.record import record_by
from appliance.crypto.envelope import crypto_shred
from appliance.models import Dictation
from appliance.practice.preferences import transcript_retention_days
from appliance.runtime import Appliance


def deletion_due(transcribed_at: datetime | None, days: int | None) -> datetime | None:
    if transcribed_at is None or days is None:
        return None
    return transcribed_at + timedelta(days=days)


def enforce_transcript_retention(appliance: Appliance) -> int:
    """Shred every transcript past its retention; returns how many."""
    with appliance.unit_of_work() as db:
        days = transcript_retention_days(db)
        if days is None:
            return 0
        cutoff = clock.utcnow() - timedelta(days=days)
        due = db.exec(
            select(Dictation).where(
                col(Dictation.transcript_sealed).is_not(None),
                col(Dictation.transcribed_at) < cutoff,
            )
        ).all()
        for row in due:
            if row.transcript_key_id is not None:
                crypto_shred(db, row.transcript_key_id)
            row.transcript_sealed = None
            row.transcript_deleted_at = clock.utcnow()
            db.add(row)
            record_by(
                None,
                "transcript.delete",
                object_type="dictation",
                object_id=row.id,
                reason="retention",
            )
        return len(due)
