"""A client of alice's with six weekly sessions whose notes carry PHQ-9, GAD-7 and SUD, built
through the service functions as a clinician would (typed notes drafted without a model,
signed with re-authentication): the first four signed, the last two drafts. The third note's
PHQ-9 is off the scale (a misheard 31, acknowledged at signing) and the fourth has no GAD-7."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from appliance import clock
from appliance.identity import accounts
from appliance.records.dictations import create_dictation
from appliance.roles import Actor
from appliance.runtime import Appliance
from tests.appliance.client_history import draft_now, new_client, sign
from tests.conftest import form_details

SIGNATURE = "Alice Smith, LMFT"
RISK = " She denied suicidal ideation."


def measured_session(
    appliance: Appliance,
    actor: Actor,
    client_id: str,
    text: str,
    day: str,
    modality: str = "cbt",
) -> str:
    """A typed dictation of that day, drafted without a model; its note's id."""
    with appliance.unit_of_work() as db:
        dictation_id = create_dictation(
            db,
            appliance.keys,
            appliance.settings,
            actor,
            client_id,
            form_details(session_date=day, modality=modality),
            typed_text=text,
        )
    return draft_now(appliance, dictation_id)


# (text, modality, signed): oldest first, a week apart.
SESSIONS = (
    ("PHQ-9 was 19. GAD-7 was 16. The SUD went from 8 to 5 in exposure.", "cbt", True),
    ("PHQ-9 was 17. GAD-7 was 14. The SUD went from 7 to 4 in exposure.", "cbt", True),
    ("PHQ-9 score was 31 today. GAD-7 was 12. The SUD went from 7 to 3.", "cbt", True),
    ("PHQ-9 was 13. The SUD went from 6 to 3 in exposure.", "cbt", True),
    ("PHQ-9 was 11. GAD-7 was 9. The SUD went from 5 to 2 in exposure.", "cbt", False),
    (
        "Phase 4 desensitization. Starting SUD was 4. After 12 sets the SUD dropped to 1. "
        "PHQ-9 was 9. GAD-7 was 8.",
        "emdr",
        False,
    ),
)
PLOTTED = 22  # 5 PHQ-9 (the 31 left out), 5 GAD-7, 6 SUD starts and 6 ends
PLOTTED_SIGNED = 14


@dataclass(frozen=True)
class MeasuredClient:
    client_id: str
    notes: tuple[str, ...]
    days: tuple[date, ...]


def six_sessions(appliance: Appliance, alice: Actor, name: str = "Ann A") -> MeasuredClient:
    with appliance.unit_of_work() as db:
        accounts.set_signature_line(db, alice, SIGNATURE)
    client_id = new_client(appliance, alice, name)
    today = clock.utcnow().date()
    days = tuple(today - timedelta(days=7 * (len(SESSIONS) - i)) for i in range(len(SESSIONS)))
    notes = []
    for (text, modality, signed), day in zip(SESSIONS, days, strict=True):
        note_id = measured_session(
            appliance, alice, client_id, text + RISK, day.isoformat(), modality
        )
        if signed:
            sign(appliance, alice, note_id)
        notes.append(note_id)
    return MeasuredClient(client_id, tuple(notes), days)
