"""Signed notes for tests: NoteRecords built the way signing builds them, with true hashes.

The note is a CBT SOAP dictation of 19 sentences drafted by appliance.drafting.draft.build_draft
(pure: no database, no model), then reviewed as a clinician would: one statement edited, one
moved, one added, one flag acknowledged. Every record's document comes from
appliance.notes.canonical, its SHA-256 from the canonical JSON and its text from the canonical
text helpers, so a test can check any copy (page, PDF, FHIR) against them. The people are the
test suite's: alice (clinician) and carol (her supervisor).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from appliance.drafting.draft import build_draft
from appliance.notes.body import ADDED, NoteBody, NoteFlag, NoteStatement, body_from_draft
from appliance.notes.canonical import (
    ClientFacts,
    SessionFacts,
    Signer,
    addendum_document,
    addendum_text,
    canonical_json,
    cosign_document,
    cosign_text,
    note_document,
    note_text,
    return_document,
    return_text,
    sha256_hex,
)
from appliance.notes.signed import NoteRecords, SignedRecord

NOTE_ID = "5d1c0a9e7b3f4e21a8c6d2f0b9e4a713"
ALICE = Signer(2, "alice", "Alice Smith, LMFT")
CAROL = Signer(4, "carol", "Carol Jones, LCSW")
CLIENT = ClientFacts(
    id="c7e2b19f04a34d5b9e61f8a2d3c4b5a6",
    name="Zoë Ñúñez",
    record_number="R-1042",
    date_of_birth=date(1990, 3, 14),
)
SESSION = SessionFacts(
    date=date(2026, 11, 24),
    start_time="14:30",
    duration_minutes=50,
    service_code="90834",
    service_label="Psychotherapy, 45 min",
    modality="cbt",
    modality_label="CBT",
    note_format="soap",
    format_title="SOAP",
)
PRODUCED_BY = {
    "appliance": "0.1.0",
    "speech_model": "whisper-base",
    "llm_model": "SmolLM2-135M-Instruct",
    "llm_class": "router",
}

DICTATION = (
    "Session 7 of cognitive behavioral therapy for depression and social anxiety. "
    "Zoë reported that her mood has been low most mornings this week. "
    "She said she slept about six hours a night and skipped breakfast on most days. "
    "She described a tense meeting at work where she felt everyone was judging her. "
    "Her PHQ-9 score today was 14, down from 17 a month ago. "
    "Her GAD-7 score was 11. "
    "She appeared tired but was well groomed and made good eye contact. "
    "Her affect was constricted and brightened when she talked about her sister. "
    "We reviewed the thought record she completed after the meeting. "
    "The main cognitive distortions were mind reading and catastrophizing. "
    "We used Socratic questioning to weigh the evidence for and against the thought that she "
    "would be fired. "
    "Her belief in that thought fell from 80 percent to 40 percent. "
    "We practiced cognitive restructuring and wrote a balanced alternative thought together. "
    "She continues sertraline 50 milligrams daily and reports no side effects. "
    "She denied suicidal ideation. "
    "She is making steady progress toward her goal of speaking up in meetings. "
    "She engaged well and was able to generate the alternative thought on her own by the end. "
    "Homework is to complete three thought records and schedule two pleasant activities. "
    "We will introduce behavioral activation next session."
)
# s14, as the clinician corrected it (still citing its sentence).
EDITED_STATEMENT = "Zoë continues sertraline 50 mg daily and reports no side effects."
# The clinician's own words, added to the plan: markup characters and quotes on purpose.
ADDED_STATEMENT = (
    'Next session in one week; she asked to "keep the PHQ-9 < 10 as the goal" & to bring her '
    "journal."
)
ADDENDA = (
    "Zoë called on 2026-11-28 to say she completed two thought records; no change in risk. "
    "She denied suicidal ideation again.",
    'Per supervision: PHQ-9 item 9 was answered 0 ("not at all"); added for the record.',
)
RETURN_COMMENT = "Please record the PHQ-9 item 9 answer in an addendum."

NOTE_SIGNED_AT = datetime(2026, 11, 27, 13, 0, tzinfo=UTC)


def reviewed_body(*, added_statement: str = ADDED_STATEMENT) -> NoteBody:
    """The drafted note as signed: s14 edited, s12 moved to the assessment, one statement added
    to the plan, a flag on s1 ("placement unsure") acknowledged. 20 statements in all. Found by
    id wherever the drafting placed them, so that the sample does not depend on the placement
    (and the flag is raised here for the same reason)."""
    body = body_from_draft(build_draft(DICTATION, "cbt", "soap"))
    moved = next(s for _, s in body.statements() if s.id == "s12")
    sections = {
        key: tuple(
            replace(s, text=EDITED_STATEMENT, edited=True) if s.id == "s14" else s
            for s in statements
            if s.id != "s12"
        )
        for key, statements in body.sections.items()
    }
    sections["assessment"] = (*sections["assessment"], moved)
    added = NoteStatement(f"s{body.next_statement}", added_statement, (), origin=ADDED)
    sections["plan"] = (*sections["plan"], added)
    unsure = NoteFlag(
        f"f{body.next_flag}",
        "unplaced",
        "Check where this sentence belongs; it was placed by default.",
        next(key for key, s in body.statements() if s.id == "s1"),
        "s1",
        acknowledged_at="2026-11-27T12:58:10Z",
        acknowledged_by=ALICE.id,
    )
    flags = (*(f for f in body.flags if f.statement not in {"s1", "s12"}), unsure)
    return replace(
        body,
        sections=sections,
        flags=flags,
        next_statement=body.next_statement + 1,
        next_flag=body.next_flag + 1,
    )


def signed(kind: str, document: dict[str, Any], text: str, signer: Signer) -> SignedRecord:
    """One record as signing stores it: the document, its hash, its text."""
    return SignedRecord(
        kind=kind,
        document=document,
        text=text,
        sha256=sha256_hex(canonical_json(document)),
        signature_line=signer.signature_line,
        signed_at=datetime.strptime(document["signed_at"], "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=UTC
        ),
    )


def note_records(
    *,
    addenda: Sequence[str] = (),
    requires_cosign: bool = False,
    cosigned: bool = False,
    returned: bool = False,
    late_entry: bool = False,
    added_statement: str = ADDED_STATEMENT,
    body: NoteBody | None = None,
    note_id: str = NOTE_ID,
) -> NoteRecords:
    """alice's signed note on Zoë's session, with what followed it.

    `addenda`: their texts, signed by alice a day later, an hour apart. `requires_cosign`:
    alice is supervised; then `returned` adds carol's return (before the addenda) and
    `cosigned` carol's co-signature of the note and every addendum, which makes it final.
    `body`: another working copy to sign instead of reviewed_body(added_statement).
    """
    if (cosigned or returned) and not requires_cosign:
        raise ValueError("only a note that requires a co-signature is returned or co-signed")
    document = note_document(
        note_id=note_id,
        body=body if body is not None else reviewed_body(added_statement=added_statement),
        client=CLIENT,
        session=SESSION,
        signer=ALICE,
        signed_at=NOTE_SIGNED_AT,
        late_entry=late_entry,
        requires_cosign=requires_cosign,
        produced_by=PRODUCED_BY,
    )
    note = signed("note", document, note_text(document), ALICE)
    later = NOTE_SIGNED_AT + timedelta(hours=20)
    returns: tuple[SignedRecord, ...] = ()
    if returned:
        back = return_document(
            note_id=note_id,
            returns=[note.sha256],
            comment=RETURN_COMMENT,
            signer=CAROL,
            signed_at=later,
        )
        returns = (signed("return", back, return_text(back), CAROL),)
    records = []
    for sequence, text in enumerate(addenda, start=1):
        appended = addendum_document(
            note_id=note_id,
            appends=note.sha256,
            sequence=sequence,
            text=text,
            client=document["client"],
            session=document["session"],
            signer=ALICE,
            signed_at=later + timedelta(hours=sequence),
        )
        records.append(signed("addendum", appended, addendum_text(appended), ALICE))
    cosignature = None
    if cosigned:
        covers = [note.sha256, *(a.sha256 for a in records)]
        document_cosign = cosign_document(
            note_id=note_id,
            cosigns=covers,
            signer=CAROL,
            signed_at=NOTE_SIGNED_AT + timedelta(days=2),
        )
        cosignature = signed("cosign", document_cosign, cosign_text(document_cosign), CAROL)
    final = cosigned or not requires_cosign
    return NoteRecords(
        note_id=note_id,
        state="final" if final else "awaiting_cosign",
        note=note,
        addenda=tuple(records),
        cosignature=cosignature,
        returns=returns,
    )


def final_note() -> NoteRecords:
    """Signed by a licensed clinician: final at once, no addendum."""
    return note_records()


def awaiting_cosign_note() -> NoteRecords:
    """A supervised clinician's note, returned once, with both addenda, not yet co-signed."""
    return note_records(addenda=ADDENDA, requires_cosign=True, returned=True)


def cosigned_note() -> NoteRecords:
    """The same, co-signed by carol (note and both addenda): final."""
    return note_records(addenda=ADDENDA, requires_cosign=True, returned=True, cosigned=True)
