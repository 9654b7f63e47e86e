"""A client with several sessions, built through the service functions as a clinician would:
typed notes drafted without a model (as tests/appliance/notes/conftest.py does), signed with
re-authentication, corrected by addenda."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from appliance import clock
from appliance.drafting.draft import build_draft
from appliance.identity import accounts
from appliance.jobs.dictation_stages import store_draft
from appliance.models import Dictation
from appliance.notes.review import acknowledge_flag, get_note, note_id_of
from appliance.notes.signing import add_addendum, sign_note
from appliance.records.clients import create_client
from appliance.records.dictations import create_dictation, read_transcript
from appliance.records.session_details import session_of
from appliance.roles import Actor
from appliance.runtime import Appliance
from tests.conftest import PASSWORD, form_details


def new_client(appliance: Appliance, actor: Actor, name: str) -> str:
    with appliance.unit_of_work() as db:
        return create_client(db, appliance.keys, actor, display_name=name).id


def typed_dictation(
    appliance: Appliance, actor: Actor, client_id: str, text: str, session_date: str
) -> str:
    """A typed dictation, not drafted yet; its id."""
    with appliance.unit_of_work() as db:
        return create_dictation(
            db,
            appliance.keys,
            appliance.settings,
            actor,
            client_id,
            form_details(session_date=session_date),
            typed_text=text,
        )


def typed_note(
    appliance: Appliance, actor: Actor, client_id: str, text: str, session_date: str
) -> str:
    """A drafted note of this client's; its id."""
    return draft_now(appliance, typed_dictation(appliance, actor, client_id, text, session_date))


def draft_now(appliance: Appliance, dictation_id: str) -> str:
    """Draft a typed dictation without a model (the cues place every sentence), stored exactly
    as the drafting job stores it; its note's id."""
    with appliance.unit_of_work() as db:
        row = db.get(Dictation, dictation_id)
        assert row is not None
        transcript = read_transcript(db, appliance.keys, row)
        assert transcript is not None
        draft = build_draft(
            transcript, session_of(db, appliance.keys, row).modality, row.note_format
        )
        store_draft(db, appliance.keys, appliance.settings, row, draft)
        note_id = note_id_of(db, dictation_id)
    assert note_id is not None
    return note_id


def sign(appliance: Appliance, actor: Actor, note_id: str) -> None:
    """Acknowledge whatever blocks signing, then sign (the signature line must be set)."""
    with appliance.unit_of_work() as db:
        view = get_note(db, appliance.keys, actor, note_id)
        for flag_id in view.blocking:
            acknowledge_flag(db, appliance.keys, actor, note_id, flag_id)
    with appliance.unit_of_work() as db:
        version = get_note(db, appliance.keys, actor, note_id).version
        outcome = sign_note(
            db,
            appliance.settings,
            appliance.keys,
            actor,
            note_id,
            version=version,
            password=PASSWORD,
        )
    assert outcome.signed, outcome.message


def addendum(appliance: Appliance, actor: Actor, note_id: str, text: str) -> None:
    with appliance.unit_of_work() as db:
        outcome = add_addendum(
            db, appliance.settings, appliance.keys, actor, note_id, text=text, password=PASSWORD
        )
    assert outcome.signed, outcome.message


# A client with two sessions: the first signed and corrected by an addendum, the second a draft.
CLIENT_NAME = "Marguerite Okonkwo"
SIGNED_TEXT = (
    "Client reports sleeping better since last session. "
    "She completed the thought record homework twice. "
    "We practiced cognitive restructuring of the thought that she is a failure. "
    "She denied suicidal ideation. "
    "Plan to continue weekly CBT and assign behavioural activation."
)
ADDENDUM = "Correction: the homework was completed three times, not twice."
DRAFT_TEXT = (
    "Client described a quarrel with her landlord about the broken boiler. "
    "She denied suicidal ideation. Plan to review sleep hygiene next week."
)
SIGNATURE_LINE = "Alice Smith, LMFT"


@dataclass(frozen=True)
class TwoSessions:
    client_id: str
    signed_note: str
    draft_note: str
    signed_date: date
    draft_date: date


def two_sessions(appliance: Appliance, alice: Actor) -> TwoSessions:
    """Alice's client with a signed note (and an addendum) two weeks ago and a draft last week;
    alice's signature line is set."""
    with appliance.unit_of_work() as db:
        accounts.set_signature_line(db, alice, SIGNATURE_LINE)
    client_id = new_client(appliance, alice, CLIENT_NAME)
    today = clock.utcnow().date()
    signed_date, draft_date = today - timedelta(days=14), today - timedelta(days=7)
    signed = typed_note(appliance, alice, client_id, SIGNED_TEXT, signed_date.isoformat())
    sign(appliance, alice, signed)
    addendum(appliance, alice, signed, ADDENDUM)
    draft = typed_note(appliance, alice, client_id, DRAFT_TEXT, draft_date.isoformat())
    return TwoSessions(client_id, signed, draft, signed_date, draft_date)
