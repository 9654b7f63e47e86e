from __future__ import annotations

import base64
import hashlib
import json
import uuid
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.documentreference import DocumentReference

from appliance.notes import fhir
from appliance.notes.canonical import canonical_json, sha256_hex
from appliance.notes.pdf import render_pdf
from appliance.notes.signed import NoteRecords
from tests.appliance.notes import signed_samples as samples

PDF = b"%PDF-1.4 stand-in bytes \x00\xff\x10 for the attachment"


def _note(records: NoteRecords, pdf: bytes = PDF, **kwargs: Any) -> dict[str, Any]:
    return fhir.note_document_reference(records, pdf, **kwargs)


def _attachment(resource: dict[str, Any], content_type: str) -> dict[str, Any]:
    found = [
        c["attachment"]
        for c in resource["content"]
        if c["attachment"]["contentType"] == content_type
    ]
    assert len(found) == 1
    return dict(found[0])


def _sha256_identifiers(resource: dict[str, Any]) -> list[str]:
    return [i["value"] for i in resource["identifier"] if i["system"] == fhir.SHA256_SYSTEM]


def test_the_note_and_its_addenda_validate_as_r4b_document_references() -> None:
    records = samples.cosigned_note()
    resources = fhir.note_resources(records, render_pdf(records), zone=ZoneInfo("UTC"))
    assert len(resources) == 3
    for resource in resources:
        model = DocumentReference.model_validate(resource)
        assert model.status == "current"


def test_the_bundle_validates_with_a_deterministic_urn_uuid_per_entry() -> None:
    records = samples.cosigned_note()
    built = fhir.bundle(fhir.note_resources(records, PDF), "export-1")
    model = Bundle.model_validate(built)
    assert model.type == "collection"
    urls = [entry["fullUrl"] for entry in built["entry"]]
    assert len(set(urls)) == 3
    for url in urls:
        assert url.startswith("urn:uuid:")
        uuid.UUID(url.removeprefix("urn:uuid:"))
    again = fhir.bundle(fhir.note_resources(samples.cosigned_note(), PDF), "export-1")
    assert json.dumps(again, sort_keys=True) == json.dumps(built, sort_keys=True)


def test_the_note_is_a_loinc_progress_note_about_the_client() -> None:
    resource = _note(samples.final_note())
    assert resource["type"]["coding"] == [
        {"system": "http://loinc.org", "code": "11506-3", "display": "Progress note"}
    ]
    assert resource["subject"]["identifier"] == {
        "system": "urn:therapy-notes:client",
        "value": samples.CLIENT.id,
    }
    assert resource["subject"]["display"] == "Zoë Ñúñez"
    assert resource["date"] == "2026-11-27T13:00:00Z"
    assert resource["author"] == [
        {
            "identifier": {"system": "urn:therapy-notes:user", "value": "alice"},
            "display": "Alice Smith, LMFT",
        }
    ]


@pytest.mark.parametrize(
    ("build", "status"),
    [
        (samples.awaiting_cosign_note, "preliminary"),
        (samples.cosigned_note, "final"),
        (samples.final_note, "final"),
    ],
)
def test_doc_status_is_preliminary_until_the_note_is_final(build: Any, status: str) -> None:
    records = build()
    assert _note(records)["docStatus"] == status
    for addendum in fhir.addendum_document_references(records):
        assert addendum["docStatus"] == status


def test_the_authenticator_is_the_cosigner_once_cosigned_else_the_signer() -> None:
    awaiting = samples.awaiting_cosign_note()
    assert _note(awaiting)["authenticator"]["display"] == "Alice Smith, LMFT"
    cosigned = samples.cosigned_note()
    assert _note(cosigned)["authenticator"]["display"] == "Carol Jones, LCSW"
    for addendum in fhir.addendum_document_references(cosigned):
        assert addendum["authenticator"]["identifier"]["value"] == "carol"


def test_the_pdf_attachment_decodes_to_exactly_the_pdf_given() -> None:
    records = samples.cosigned_note()
    pdf = render_pdf(records)
    attachment = _attachment(_note(records, pdf), "application/pdf")
    assert base64.b64decode(attachment["data"], validate=True) == pdf
    assert attachment["size"] == len(pdf)
    # FHIR R4 Attachment.hash: the SHA-1 of the data, base64.
    assert attachment["hash"] == base64.b64encode(hashlib.sha1(pdf).digest()).decode()  # noqa: S324
    assert attachment["creation"] == "2026-11-29T13:00:00Z"


def test_the_text_attachment_is_the_signed_record_text() -> None:
    records = samples.final_note()
    attachment = _attachment(_note(records), "text/plain; charset=utf-8")
    decoded = base64.b64decode(attachment["data"], validate=True)
    assert decoded.decode("utf-8") == records.note.text
    assert attachment["hash"] == base64.b64encode(hashlib.sha1(decoded).digest()).decode()  # noqa: S324


def test_identifiers_carry_the_sha256_of_each_signed_record() -> None:
    records = samples.cosigned_note()
    note_hash = sha256_hex(canonical_json(records.note.document))
    note = _note(records)
    assert _sha256_identifiers(note) == [note_hash]
    assert note["masterIdentifier"] == {"system": fhir.SHA256_SYSTEM, "value": note_hash}
    assert {"system": fhir.NOTE_SYSTEM, "value": records.note_id} in note["identifier"]
    addenda = fhir.addendum_document_references(records)
    for addendum, record in zip(addenda, records.addenda, strict=True):
        assert _sha256_identifiers(addendum) == [sha256_hex(canonical_json(record.document))]


def test_each_addendum_appends_the_note_and_carries_its_own_text_only() -> None:
    records = samples.cosigned_note()
    resources = fhir.note_resources(records, PDF)
    note_url = fhir.bundle(resources, "b")["entry"][0]["fullUrl"]
    addenda = resources[1:]
    assert [a["id"] for a in addenda] == [
        f"note-{records.note_id}-addendum-1",
        f"note-{records.note_id}-addendum-2",
    ]
    for addendum, record in zip(addenda, records.addenda, strict=True):
        (relation,) = addendum["relatesTo"]
        assert relation["code"] == "appends"
        assert relation["target"]["reference"] == note_url
        assert relation["target"]["identifier"]["value"] == records.note.sha256
        assert [c["attachment"]["contentType"] for c in addendum["content"]] == [
            "text/plain; charset=utf-8"
        ]
        text = base64.b64decode(addendum["content"][0]["attachment"]["data"]).decode("utf-8")
        assert text == record.text
        assert addendum["date"] == record.document["signed_at"]


def test_a_base_id_names_the_note_and_its_addenda_consistently() -> None:
    records = samples.cosigned_note()
    resources = fhir.note_resources(records, PDF, base_id="clinic-42")
    assert [r["id"] for r in resources] == [
        "clinic-42",
        "clinic-42-addendum-1",
        "clinic-42-addendum-2",
    ]
    note_url = fhir.full_url(resources[0])
    assert all(a["relatesTo"][0]["target"]["reference"] == note_url for a in resources[1:])
    with pytest.raises(ValueError, match="FHIR resource id"):
        _note(records, base_id="not/an id")


def test_the_session_period_has_times_only_when_the_practice_zone_is_known() -> None:
    records = samples.final_note()
    assert _note(records)["context"]["period"] == {"start": "2026-11-24", "end": "2026-11-24"}
    zoned = _note(records, zone=ZoneInfo("America/New_York"))
    assert zoned["context"]["period"] == {
        "start": "2026-11-24T14:30:00-05:00",
        "end": "2026-11-24T15:20:00-05:00",
    }
    DocumentReference.model_validate(zoned)


def test_the_same_records_give_the_same_json() -> None:
    first = json.dumps(fhir.note_resources(samples.cosigned_note(), PDF), ensure_ascii=False)
    second = json.dumps(fhir.note_resources(samples.cosigned_note(), PDF), ensure_ascii=False)
    assert first == second
