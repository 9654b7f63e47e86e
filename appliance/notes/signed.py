"""A note's signed records, opened: what every copy (page, PDF, text, FHIR, export) is made of."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class SignedRecord:
    kind: str  # note | addendum | cosign | return
    # The canonical document (appliance.notes.canonical) exactly as signed and hashed.
    document: dict[str, Any]
    text: str
    sha256: str
    signature_line: str
    signed_at: datetime


@dataclass(frozen=True)
class NoteRecords:
    note_id: str
    state: str  # awaiting_cosign | final
    note: SignedRecord
    addenda: tuple[SignedRecord, ...] = ()
    cosignature: SignedRecord | None = None
    # Supervisor returns, oldest first: shown on the note's page, never in an exported copy.
    returns: tuple[SignedRecord, ...] = ()

    @property
    def final(self) -> bool:
        return self.state == "final"
