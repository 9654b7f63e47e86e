"""The signed note as FHIR R4 DocumentReference resources: what another provider's EHR imports.

Plain dicts, ready for json.dumps; nothing here needs a FHIR library (the tests validate the
output against fhir.resources' R4B models). Made from the signed records only:

- the note: LOINC 11506-3 "Progress note", docStatus "preliminary" until the note is final
  (co-signed, where a co-signature is required), two attachments: the PDF
  (appliance.notes.pdf) and the record's plain text, each with its size and SHA-1 (FHIR's
  Attachment.hash); the SHA-256 of the signed record as masterIdentifier and identifier;
- each addendum: a DocumentReference of its own that "appends" the note, with its own SHA-256
  and its text.

Deterministic: resource ids come from the note id (or `base_id`), fullUrls are name-based UUIDs
(uuid5) of those ids, and every date is a signature's; nothing reads the clock.
"""

from __future__ import annotations

import base64
import hashlib
import re
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta, tzinfo
from typing import Any

from appliance.notes.canonical import utc_iso
from appliance.notes.signed import NoteRecords, SignedRecord

LOINC = "http://loinc.org"
PROGRESS_NOTE = {"system": LOINC, "code": "11506-3", "display": "Progress note"}
CLINICAL_NOTE = {
    "system": "http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category",
    "code": "clinical-note",
    "display": "Clinical Note",
}
SHA256_SYSTEM = "urn:therapy-notes:sha256"
NOTE_SYSTEM = "urn:therapy-notes:note"
CLIENT_SYSTEM = "urn:therapy-notes:client"
USER_SYSTEM = "urn:therapy-notes:user"
TEXT_PLAIN = "text/plain; charset=utf-8"
# A FHIR id, short enough to take an addendum's suffix ("-addendum-" and up to 5 digits).
_ID = re.compile(r"[A-Za-z0-9\-.]{1,48}")
# The namespace of every fullUrl this appliance writes (uuid5 of a resource's type and id).
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:therapy-notes")


def resource_id(records: NoteRecords, base_id: str | None = None) -> str:
    """The note's DocumentReference id: `base_id`, else "note-<note id>". FHIR ids are
    [A-Za-z0-9-.], 64 characters at most, and an addendum's adds "-addendum-N" to this one."""
    identifier = base_id or f"note-{records.note_id}"
    if not _ID.fullmatch(identifier):
        raise ValueError(f"not a usable FHIR resource id: {identifier!r}")
    return identifier


def full_url(resource: Mapping[str, Any]) -> str:
    """The resource's fullUrl in a Bundle: urn:uuid, the same for the same type and id."""
    name = f"{resource['resourceType']}/{resource['id']}"
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, name)}"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _attachment(data: bytes, content_type: str, title: str, created: datetime) -> dict[str, Any]:
    return {
        "contentType": content_type,
        "language": "en",
        "data": _b64(data),
        "size": len(data),
        # FHIR R4's Attachment.hash is the SHA-1 of the data, base64 (not a security measure:
        # the SHA-256 identifiers are what a reader checks the signed record against).
        "hash": _b64(hashlib.sha1(data, usedforsecurity=False).digest()),
        "title": title,
        "creation": utc_iso(created),
    }


def _person(signer: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "identifier": {"system": USER_SYSTEM, "value": signer["username"]},
        "display": signer["signature_line"],
    }


def _subject(client: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "type": "Patient",
        "identifier": {"system": CLIENT_SYSTEM, "value": client["id"]},
        "display": client["name"],
    }


def _sha256(record: SignedRecord) -> dict[str, Any]:
    return {"system": SHA256_SYSTEM, "value": record.sha256}


def _period(session: Mapping[str, Any], zone: tzinfo | None) -> dict[str, str]:
    """The session's period. FHIR needs an offset on a time, and a session's start time is the
    practice's local time: without `zone` the period is the session's date alone."""
    start_time = session.get("start_time")
    if zone is None or not start_time:
        return {"start": session["date"], "end": session["date"]}
    start = datetime.fromisoformat(f"{session['date']}T{start_time}").replace(tzinfo=zone)
    end = start + timedelta(minutes=int(session["duration_minutes"]))
    return {"start": start.isoformat(), "end": end.isoformat()}


def _context(document: Mapping[str, Any], zone: tzinfo | None) -> dict[str, Any]:
    return {"period": _period(document["session"], zone)}


def _authenticator(records: NoteRecords, record: SignedRecord) -> dict[str, Any]:
    """Who attests the record: the co-signer where their co-signature covers it, else its
    signer."""
    cosignature = records.cosignature
    if cosignature is not None and record.sha256 in cosignature.document["cosigns"]:
        return _person(cosignature.document["signer"])
    return _person(record.document["signer"])


def _doc_status(records: NoteRecords) -> str:
    return "final" if records.final else "preliminary"


def _latest(records: NoteRecords) -> datetime:
    """When the PDF was made, as far as its content goes: its latest signature (as pdf.py)."""
    printed = [records.note, *records.addenda]
    if records.cosignature is not None:
        printed.append(records.cosignature)
    return max(record.signed_at for record in printed)


def _signed_at(record: SignedRecord) -> str:
    return str(record.document["signed_at"])


def note_document_reference(
    records: NoteRecords,
    pdf: bytes,
    *,
    base_id: str | None = None,
    zone: tzinfo | None = None,
) -> dict[str, Any]:
    """The note as a DocumentReference. `pdf`: render_pdf(records) (passed in, so the caller
    sends the very copy it rendered, with or without released psychotherapy notes). `zone`: the
    practice's time zone, for the session's period (see _period)."""
    note = records.note
    document = note.document
    session = document["session"]
    kind = f"Progress note ({session['format_title']})"
    title = f"{kind}, session of {session['date']}"
    return {
        "resourceType": "DocumentReference",
        "id": resource_id(records, base_id),
        "masterIdentifier": _sha256(note),
        "identifier": [_sha256(note), {"system": NOTE_SYSTEM, "value": records.note_id}],
        "status": "current",
        "docStatus": _doc_status(records),
        "type": {"coding": [dict(PROGRESS_NOTE)], "text": kind},
        "category": [{"coding": [dict(CLINICAL_NOTE)]}],
        "subject": _subject(document["client"]),
        "date": _signed_at(note),
        "author": [_person(document["signer"])],
        "authenticator": _authenticator(records, note),
        "description": title,
        "content": [
            {"attachment": _attachment(pdf, "application/pdf", title, _latest(records))},
            {
                "attachment": _attachment(
                    note.text.encode("utf-8"), TEXT_PLAIN, f"{title} (text)", note.signed_at
                )
            },
        ],
        "context": _context(document, zone),
    }


def addendum_document_references(
    records: NoteRecords, *, base_id: str | None = None, zone: tzinfo | None = None
) -> list[dict[str, Any]]:
    """One DocumentReference per addendum, oldest first, each appending the note's (whose id
    `base_id` names as in note_document_reference)."""
    note_id = resource_id(records, base_id)
    note_url = full_url({"resourceType": "DocumentReference", "id": note_id})
    resources = []
    for addendum in records.addenda:
        document = addendum.document
        sequence = document["sequence"]
        title = f"Addendum {sequence} to the progress note of {document['session']['date']}"
        resources.append(
            {
                "resourceType": "DocumentReference",
                "id": f"{note_id}-addendum-{sequence}",
                "masterIdentifier": _sha256(addendum),
                "identifier": [
                    _sha256(addendum),
                    {"system": NOTE_SYSTEM, "value": f"{records.note_id}/addendum/{sequence}"},
                ],
                "status": "current",
                "docStatus": _doc_status(records),
                "type": {"coding": [dict(PROGRESS_NOTE)], "text": "Progress note addendum"},
                "category": [{"coding": [dict(CLINICAL_NOTE)]}],
                "subject": _subject(document["client"]),
                "date": _signed_at(addendum),
                "author": [_person(document["signer"])],
                "authenticator": _authenticator(records, addendum),
                "description": title,
                "relatesTo": [
                    {
                        "code": "appends",
                        "target": {
                            "reference": note_url,
                            "type": "DocumentReference",
                            "identifier": {"system": SHA256_SYSTEM, "value": document["appends"]},
                        },
                    }
                ],
                "content": [
                    {
                        "attachment": _attachment(
                            addendum.text.encode("utf-8"), TEXT_PLAIN, title, addendum.signed_at
                        )
                    }
                ],
                "context": _context(document, zone),
            }
        )
    return resources


def note_resources(
    records: NoteRecords, pdf: bytes, *, base_id: str | None = None, zone: tzinfo | None = None
) -> list[dict[str, Any]]:
    """The note's DocumentReference, then its addenda's."""
    return [
        note_document_reference(records, pdf, base_id=base_id, zone=zone),
        *addendum_document_references(records, base_id=base_id, zone=zone),
    ]


def bundle(resources: list[dict[str, Any]], bundle_id: str) -> dict[str, Any]:
    """A "collection" Bundle of the resources, each under its full_url."""
    return {
        "resourceType": "Bundle",
        "id": bundle_id,
        "type": "collection",
        "entry": [{"fullUrl": full_url(resource), "resource": resource} for resource in resources],
    }
