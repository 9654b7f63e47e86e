"""The signed record's canonical form: a JSON document, its SHA-256, and its plain text.

What a signature covers is exactly the canonical JSON: keys sorted, no insignificant
whitespace, UTF-8. Its SHA-256 is stored beside the sealed record and printed on every copy
(PDF, text, FHIR identifier), so anyone holding a copy can tell whether it is the signed one.
The plain text is derived from the document; the PDF and FHIR renderings
(appliance.notes.pdf, appliance.notes.fhir) read the document too, never the working copy.

Documents, by `kind` (each with `schema`, `note_id`, `signer`, `signed_at`):
- note: `client` {id, name, record_number, date_of_birth}, `session` {date, start_time,
  duration_minutes, service_code, service_label, modality, modality_label, format,
  format_title}, `sections` [{key, title, statements [{id, text, origin, edited, detached}],
  placeholder}], `fields` [{name, label, values [{value, origin, edited, detached}]}],
  `acknowledged_flags` [{id, code, message, section, statement, acknowledged_at}],
  `late_entry`, `requires_cosign`, `produced_by`;
- addendum: `client`, `session`, `sequence` (1, 2, ...), `appends` (the note's SHA-256), `text`;
- cosign: `cosigns` (the SHA-256 of the note and of each addendum co-signed);
- return: `returns` (the same), `comment` (the supervisor's words to the clinician).
`signer` is {id, username, signature_line}; `signed_at` is UTC, ISO 8601 with "Z".
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from appliance.drafting.draft import RISK
from appliance.drafting.modalities import field_label
from appliance.notes.body import NoteBody
from appliance.notes.checks import risk_placeholder

NOTE_SCHEMA = "therapy-notes/note/1"
ADDENDUM_SCHEMA = "therapy-notes/addendum/1"
COSIGN_SCHEMA = "therapy-notes/cosign/1"
RETURN_SCHEMA = "therapy-notes/return/1"


def canonical_json(document: Mapping[str, Any]) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def sha256_hex(canonical: bytes) -> str:
    return hashlib.sha256(canonical).hexdigest()


def utc_iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Signer:
    id: int
    username: str
    signature_line: str

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "username": self.username, "signature_line": self.signature_line}


@dataclass(frozen=True)
class ClientFacts:
    id: str
    name: str
    record_number: str | None
    date_of_birth: date | None

    def as_json(self) -> dict[str, Any]:
        birth = self.date_of_birth.isoformat() if self.date_of_birth else None
        return {
            "id": self.id,
            "name": self.name,
            "record_number": self.record_number,
            "date_of_birth": birth,
        }


@dataclass(frozen=True)
class SessionFacts:
    date: date
    start_time: str | None
    duration_minutes: int
    service_code: str
    service_label: str | None
    modality: str
    modality_label: str
    note_format: str
    format_title: str

    def as_json(self) -> dict[str, Any]:
        return {
            "date": self.date.isoformat(),
            "start_time": self.start_time,
            "duration_minutes": self.duration_minutes,
            "service_code": self.service_code,
            "service_label": self.service_label,
            "modality": self.modality,
            "modality_label": self.modality_label,
            "format": self.note_format,
            "format_title": self.format_title,
        }


def note_document(
    *,
    note_id: str,
    body: NoteBody,
    client: ClientFacts,
    session: SessionFacts,
    signer: Signer,
    signed_at: datetime,
    late_entry: bool,
    requires_cosign: bool,
    produced_by: Mapping[str, Any] | None,
) -> dict[str, Any]:
    sections = []
    for key, statements in body.sections.items():
        sections.append(
            {
                "key": key,
                "title": body.title_of(key),
                "statements": [
                    {
                        "id": s.id,
                        "text": s.text,
                        "origin": s.origin,
                        "edited": s.edited,
                        "detached": s.detached,
                    }
                    for s in statements
                ],
                "placeholder": None if statements else _placeholder(body, key),
            }
        )
    fields = [
        {
            "name": name,
            "label": field_label(name),
            "values": [
                {"value": v.value, "origin": v.origin, "edited": v.edited, "detached": v.detached}
                for v in values
            ],
        }
        for name, values in body.fields.items()
        if values
    ]
    acknowledged = [
        {
            "id": f.id,
            "code": f.code,
            "message": f.message,
            "section": f.section,
            "statement": f.statement,
            "acknowledged_at": f.acknowledged_at,
        }
        for f in body.flags
        if not f.open
    ]
    return {
        "schema": NOTE_SCHEMA,
        "kind": "note",
        "note_id": note_id,
        "client": client.as_json(),
        "session": session.as_json(),
        "sections": sections,
        "fields": fields,
        "acknowledged_flags": acknowledged,
        "signer": signer.as_json(),
        "signed_at": utc_iso(signed_at),
        "late_entry": late_entry,
        "requires_cosign": requires_cosign,
        "produced_by": dict(produced_by) if produced_by else None,
    }


def _placeholder(body: NoteBody, key: str) -> str | None:
    return risk_placeholder(body) if key == RISK else None


def addendum_document(
    *,
    note_id: str,
    appends: str,
    sequence: int,
    text: str,
    client: Mapping[str, Any],
    session: Mapping[str, Any],
    signer: Signer,
    signed_at: datetime,
) -> dict[str, Any]:
    return {
        "schema": ADDENDUM_SCHEMA,
        "kind": "addendum",
        "note_id": note_id,
        "appends": appends,
        "sequence": sequence,
        "text": text,
        "client": dict(client),
        "session": dict(session),
        "signer": signer.as_json(),
        "signed_at": utc_iso(signed_at),
    }


def cosign_document(
    *, note_id: str, cosigns: Sequence[str], signer: Signer, signed_at: datetime
) -> dict[str, Any]:
    return {
        "schema": COSIGN_SCHEMA,
        "kind": "cosign",
        "note_id": note_id,
        "cosigns": list(cosigns),
        "signer": signer.as_json(),
        "signed_at": utc_iso(signed_at),
    }


def return_document(
    *, note_id: str, returns: Sequence[str], comment: str, signer: Signer, signed_at: datetime
) -> dict[str, Any]:
    return {
        "schema": RETURN_SCHEMA,
        "kind": "return",
        "note_id": note_id,
        "returns": list(returns),
        "comment": comment,
        "signer": signer.as_json(),
        "signed_at": utc_iso(signed_at),
    }


def readable_utc(iso: str) -> str:
    return iso.replace("T", " ").replace("Z", " UTC")


def signed_line(verb: str, document: Mapping[str, Any]) -> str:
    signer = document["signer"]
    return (
        f"{verb} by {signer['signature_line']} ({signer['username']}) "
        f"on {readable_utc(document['signed_at'])}."
    )


def session_line(session: Mapping[str, Any]) -> str:
    when = session["date"] + (f" {session['start_time']}" if session.get("start_time") else "")
    service = session["service_code"] + (
        f" ({session['service_label']})" if session.get("service_label") else ""
    )
    return (
        f"Session: {when}, {session['duration_minutes']} min, {service}, "
        f"{session['modality_label']}"
    )


def client_line(client: Mapping[str, Any]) -> str:
    parts = [f"Client: {client['name']}"]
    if client.get("record_number"):
        parts.append(f"Record number: {client['record_number']}")
    if client.get("date_of_birth"):
        parts.append(f"Date of birth: {client['date_of_birth']}")
    return " · ".join(parts)


def note_text(document: Mapping[str, Any]) -> str:
    """The signed note as plain text, section by section (what "Copy note" and .txt give)."""
    session = document["session"]
    lines = [
        f"PROGRESS NOTE ({session['format_title']})",
        client_line(document["client"]),
        session_line(session),
        "",
    ]
    for section in document["sections"]:
        lines.append(section["title"].upper())
        if section["statements"]:
            lines.extend(f"- {s['text']}" for s in section["statements"])
        else:
            lines.append(section["placeholder"] or "Nothing recorded.")
        lines.append("")
    if document["fields"]:
        lines.append(f"{session['modality_label'].upper()} DETAILS")
        for item in document["fields"]:
            values = "; ".join(v["value"] for v in item["values"])
            lines.append(f"{item['label']}: {values}")
        lines.append("")
    if document["acknowledged_flags"]:
        lines.append("ACKNOWLEDGED AT SIGNING")
        lines.extend(f"- {f['message']}" for f in document["acknowledged_flags"])
        lines.append("")
    if document["late_entry"]:
        lines.append(
            f"LATE ENTRY: signed {readable_utc(document['signed_at'])}, after the session."
        )
    lines.append(signed_line("Electronically signed", document))
    return "\n".join(lines) + "\n"


def addendum_text(document: Mapping[str, Any]) -> str:
    return (
        f"ADDENDUM {document['sequence']} to the note of {document['session']['date']}\n"
        f"{document['text']}\n"
        f"{signed_line('Electronically signed', document)}\n"
    )


def cosign_text(document: Mapping[str, Any]) -> str:
    return signed_line("Co-signed", document) + "\n"


def return_text(document: Mapping[str, Any]) -> str:
    return f"Returned for correction: {document['comment']}\n{signed_line('Returned', document)}\n"
