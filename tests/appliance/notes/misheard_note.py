"""A typed EMDR note with two words Whisper could have misheard, drafted without a model as
the drafting job stores it: the sample for the suggested-correction tests."""

from __future__ import annotations

from appliance.runtime import Appliance
from tests.appliance.client_history import draft_now
from tests.conftest import People, submit_dictation

TYPED = (
    "EMDR session 6, phase 4. "
    "We completed 18 sets of bilateral I movements. "
    "The client takes certraline 100 milligrams daily. "
    "The client denied suicidal ideation."
)
MISHEARD = "bilateral I movements"
CORRECTED = "We completed 18 sets of bilateral eye movements."


def misheard_note(appliance: Appliance, people: People) -> str:
    """alice's note of that dictation; its id."""
    dictation_id = submit_dictation(appliance, people, typed_text=TYPED, modality="emdr")
    return draft_now(appliance, dictation_id)
