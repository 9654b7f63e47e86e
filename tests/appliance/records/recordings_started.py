"""A streamed recording of alice's, started through the service layer, for the recording tests."""

from __future__ import annotations

from appliance.identity.accounts import actor_for
from appliance.records.clients import create_client
from appliance.records.pcm_stream import STREAM_FORMAT
from appliance.records.recordings import start_recording
from appliance.runtime import Appliance
from tests.conftest import People, form_details


def start_alices_recording(
    appliance: Appliance,
    people: People,
    *,
    stream_format: str = STREAM_FORMAT,
    submission_key: str | None = None,
    client_id: str | None = None,
) -> str:
    """The new recording's dictation id; for a new client of alice's unless `client_id`."""
    alice = actor_for(people.alice)
    with appliance.unit_of_work() as db:
        if client_id is None:
            client_id = create_client(db, appliance.keys, alice, display_name="Ann A").id
        return start_recording(
            db,
            appliance.keys,
            appliance.settings,
            alice,
            client_id,
            form_details(),
            stream_format=stream_format,
            submission_key=submission_key,
        )
