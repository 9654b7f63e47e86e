"""Suggested corrections on the review page, and the clinician accepting one.

Suggestions (appliance.drafting.suggestions) are worked out afresh from each dictated
statement's text whenever the page is shown, so an unaccepted one is never stored. Accepting
one replaces exactly its characters in the statement, keeps the statement's citation (the
transcript span it came from does not change, so its source still lights up), and records the
correction with the statement: the words Whisper wrote, the term, who accepted it and when.

A suggestion is applied only if the statement, as stored now, still offers it: the page may be
older than the text (another tab saved, the clinician edited it), and then the answer is a
refusal that changes nothing, never a replacement at offsets that no longer mean the same words.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlmodel import Session

from appliance import clock
from appliance.audit.record import Outcome
from appliance.crypto.keyfiles import Keys
from appliance.drafting.suggestions import Suggestion, apply_suggestion, suggest
from appliance.notes.body import ADDED, Correction, NoteBody, NoteStatement
from appliance.notes.checks import recheck
from appliance.notes.editing import NoteInputError
from appliance.notes.review import SaveResult
from appliance.notes.store import NoteState, audit_note, reach_as_owner, read_body, write_body
from appliance.roles import Actor

STALE = (
    "That suggestion no longer fits the statement: its words changed since the page was shown. "
    "Nothing was changed; the page now shows the suggestions for the words as they are."
)


@dataclass(frozen=True)
class Offered:
    """One suggestion as the page offers it: enough to name it again when it is accepted."""

    statement: str
    start: int
    end: int
    heard: str
    term: str
    reason: str


def offers_suggestions(statement: NoteStatement) -> bool:
    """Only words that came from the dictation can have been misheard: a statement the
    clinician added or detached is their own writing."""
    return statement.origin != ADDED and not statement.detached and bool(statement.provenance)


def suggestions_for(body: NoteBody) -> dict[str, list[Offered]]:
    """Statement id -> the suggestions on its text as it now reads (statements with none are
    left out)."""
    offered: dict[str, list[Offered]] = {}
    for _, statement in body.statements():
        if not offers_suggestions(statement):
            continue
        found = [
            Offered(statement.id, s.start, s.end, s.heard, s.term, s.reason)
            for s in suggest(statement.text, body.modality)
        ]
        if found:
            offered[statement.id] = found
    return offered


def _still_offered(body: NoteBody, statement: NoteStatement, wanted: Offered) -> Suggestion | None:
    for suggestion in suggest(statement.text, body.modality):
        same_place = (suggestion.start, suggestion.end) == (wanted.start, wanted.end)
        if same_place and (suggestion.heard, suggestion.term) == (wanted.heard, wanted.term):
            return suggestion
    return None


def accept_suggestion(
    db: Session, keys: Keys, actor: Actor, note_id: str, wanted: Offered
) -> SaveResult:
    """Replace the suggestion's words with its term in the note's working copy. Only the
    note's clinician, only while it is a draft; audited as note.suggestion_accept (the reason
    code only: the words themselves are PHI)."""
    note = reach_as_owner(db, keys, actor, note_id, "note.suggestion_accept").note
    if note.state != NoteState.DRAFT:
        raise NoteInputError("This note is signed and cannot change; add an addendum instead.")
    body = read_body(db, keys, note)
    assert body is not None
    statement = body.statement(wanted.statement)
    suggestion = (
        _still_offered(body, statement, wanted)
        if statement is not None and offers_suggestions(statement)
        else None
    )
    if statement is None or suggestion is None:
        audit_note(
            actor, "note.suggestion_accept", note_id, Outcome.FAILED, reason="stale_suggestion"
        )
        raise NoteInputError(STALE)
    correction = Correction(
        heard=suggestion.heard,
        term=suggestion.term,
        reason=suggestion.reason,
        accepted_by=actor.user_id,
        accepted_at=clock.utcnow().isoformat(),
    )
    # Edited, as any change of a dictated statement's words is (the signed record says so),
    # and still citing the words it came from.
    corrected = replace(
        statement,
        text=apply_suggestion(statement.text, suggestion),
        edited=True,
        corrections=(*statement.corrections, correction),
    )
    sections = {
        key: tuple(corrected if s.id == statement.id else s for s in statements)
        for key, statements in body.sections.items()
    }
    # The statement's flags are found again on its new words (a medication's name that the
    # cited dictation does not contain is still flagged: the clinician vouches for it).
    updated = recheck(replace(body, sections=sections), {statement.id})
    write_body(db, keys, note, updated)
    note.version += 1
    db.add(note)
    audit_note(actor, "note.suggestion_accept", note_id, reason=suggestion.reason)
    return SaveResult(True, note.version, updated, note.updated_at)
