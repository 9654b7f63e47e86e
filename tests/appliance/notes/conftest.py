"""A drafted note of alice's, ready for review: typed notes drafted without a model (the
classifier and the cues place every sentence), stored exactly as the drafting job stores them."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from appliance import clock
from appliance.identity import accounts
from appliance.models import Note
from appliance.notes.review import get_note
from appliance.roles import Actor
from appliance.runtime import Appliance
from tests.appliance.client_history import draft_now
from tests.conftest import People, submit_dictation

# Seven sentences; one is out of the PHQ-9's scale (a blocking flag), risk is addressed.
TYPED = (
    "Client reports sleeping better since last session. "
    "She completed the thought record homework twice. "
    "PHQ-9 score was 31 today. "
    "We practiced cognitive restructuring of the thought that she is a failure. "
    "Client appeared calm with full affect. "
    "She denied suicidal ideation. "
    "Plan to continue weekly CBT and assign behavioural activation."
)
NO_RISK = "Client reports sleeping better. We reviewed the thought record. Plan weekly sessions."


def draft_note(
    appliance: Appliance, people: People, text: str = TYPED, session_date: str = ""
) -> str:
    """A note of today's session unless `session_date` says otherwise."""
    day = session_date or clock.utcnow().date().isoformat()
    dictation_id = submit_dictation(appliance, people, typed_text=text, session_date=day)
    return draft_now(appliance, dictation_id)


@pytest.fixture
def drafted(appliance: Appliance, people: People) -> Callable[..., str]:
    def make(text: str = TYPED, session_date: str = "") -> str:
        return draft_note(appliance, people, text, session_date)

    return make


@pytest.fixture
def actors(people: People) -> dict[str, Actor]:
    return {u.username: accounts.actor_for(u) for u in people.all()}


def set_signature_line(appliance: Appliance, user_id: int, line: str) -> None:
    with appliance.unit_of_work() as db:
        user = accounts.get_user(db, user_id)
        user.signature_line = line
        db.add(user)


def note_row(appliance: Appliance, note_id: str) -> Note:
    with appliance.unit_of_work() as db:
        note = db.get(Note, note_id)
        assert note is not None
        db.expunge(note)
        return note


def blocking_flag(appliance: Appliance, note_id: str) -> str:
    """The id of the sample note's one blocking flag (TYPED's PHQ-9 of 31), whatever number the
    drafting gave it: a sentence it is unsure where to place raises a flag of its own first."""
    owner = note_row(appliance, note_id).owner_id
    with appliance.unit_of_work() as db:
        actor = accounts.actor_for(accounts.get_user(db, owner))  # type: ignore[arg-type]
        (flag_id,) = get_note(db, appliance.keys, actor, note_id).blocking
    return flag_id
