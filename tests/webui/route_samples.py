"""One of each thing a route's path can name, for the tests that visit every route.

The personas of tests/conftest.py, plus: alice's client with four dictations (a recording
waiting for transcription, typed notes waiting for a draft, typed notes drafted by the fake
LLM, and a recording being streamed, no chunk yet), frank (a clinician with a setup link and
an emergency grant over bob's clients), a note template, bob with two-factor sign-in on (his
password alone leaves the second factor pending) and erin halfway through enrolling (her
enrolment page shows a QR code).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from pathlib import Path

from appliance.identity.accounts import actor_for, create_user, set_signature_line
from appliance.identity.emergency_access import grant_access
from appliance.identity.mfa import begin_enrolment
from appliance.identity.setup_links import issue_user_setup_link
from appliance.jobs.dictation_stages import claim_next, process
from appliance.models import User
from appliance.notes.exports import request_export
from appliance.notes.review import note_id_of
from appliance.practice.note_templates import create_template
from appliance.records.clients import create_client
from appliance.records.dictations import create_dictation, get_dictation
from appliance.records.pcm_stream import STREAM_FORMAT
from appliance.records.recordings import start_recording
from appliance.roles import Role
from appliance.runtime import Appliance
from tests.appliance.client_history import sign
from tests.conftest import People, form_details
from tests.fake_llm import fake_llm

AUDIO = Path(__file__).resolve().parents[1] / "fixtures" / "audio" / "hello.wav"
PARAMETER = re.compile(r"\{(\w+)(?::\w+)?\}")


@dataclass(frozen=True)
class RouteSamples:
    # Path parameter -> the values to try; the first is the one a single visit uses.
    values: dict[str, tuple[str, ...]]

    def _fill(self, template: str, chosen: dict[str, str]) -> str:
        return PARAMETER.sub(lambda m: chosen[m.group(1)], template)

    def _names(self, template: str) -> list[str]:
        names = PARAMETER.findall(template)
        missing = [n for n in names if n not in self.values]
        assert not missing, f"add sample values for {missing} (in {template}) to route_samples"
        return names

    def first(self, template: str) -> str:
        return self._fill(template, {n: self.values[n][0] for n in self._names(template)})

    def every(self, template: str) -> list[str]:
        """The path with every combination of sample values."""
        names = self._names(template)
        return [
            self._fill(template, dict(zip(names, combination, strict=True)))
            for combination in itertools.product(*(self.values[n] for n in names))
        ]


def _draft_one(appliance: Appliance, people: People, client_id: str) -> str:
    """Typed notes taken through the whole pipeline in process, drafted by the fake LLM."""
    settings = appliance.settings
    with fake_llm() as llm:
        appliance.settings = settings.model_copy(update={"llm_url": llm.base_url})
        try:
            with appliance.unit_of_work() as db:
                dictation_id = create_dictation(
                    db,
                    appliance.keys,
                    appliance.settings,
                    actor_for(people.alice),
                    client_id,
                    form_details(),
                    typed_text="Client reported better sleep this week. She denies SI.",
                )
            assert claim_next(appliance) == dictation_id
            process(appliance, dictation_id)
        finally:
            appliance.settings = settings
    with appliance.unit_of_work() as db:
        drafted = get_dictation(db, appliance.keys, actor_for(people.alice), dictation_id)
        assert drafted.state == "ready" and drafted.draft is not None, drafted.state
    return dictation_id


def _signed_one(appliance: Appliance, people: People, dictation_id: str) -> str:
    """The drafted dictation's note, signed by alice; its id."""
    alice = actor_for(people.alice)
    with appliance.unit_of_work() as db:
        set_signature_line(db, alice, "Alice Smith, LMFT")
        note_id = note_id_of(db, dictation_id)
    assert note_id is not None
    sign(appliance, alice, note_id)
    return note_id


def make_route_samples(appliance: Appliance, people: People) -> RouteSamples:
    alice, dave = actor_for(people.alice), actor_for(people.dave)
    with appliance.unit_of_work() as db:
        client = create_client(db, appliance.keys, alice, display_name="Sample")
    # Drafted first: the queue hands out the oldest dictation.
    drafted = _draft_one(appliance, people, client.id)
    signed = _signed_one(appliance, people, _draft_one(appliance, people, client.id))
    with appliance.unit_of_work() as db:
        waiting_for_draft = create_dictation(
            db,
            appliance.keys,
            appliance.settings,
            alice,
            client.id,
            form_details(),
            typed_text="Typed session notes.",
        )
        waiting_for_transcript = create_dictation(
            db,
            appliance.keys,
            appliance.settings,
            alice,
            client.id,
            form_details(),
            audio=AUDIO.read_bytes(),
        )
        # Last of the dictations: the one visit of a route takes the first.
        recording = start_recording(
            db,
            appliance.keys,
            appliance.settings,
            alice,
            client.id,
            form_details(),
            stream_format=STREAM_FORMAT,
        )
        frank = create_user(db, "frank", Role.CLINICIAN, by=None)
        token = issue_user_setup_link(db, appliance.settings, frank, by=dave)
        grant = grant_access(
            db,
            appliance.keys,
            dave,
            grantee=frank,
            owner=people.bob,
            reason="covering an absence",
            hours=1,
        )
        template = create_template(db, dave, "Sample", [("Progress", "How the week went.")])
        bob = db.get(User, people.bob.id)
        erin = db.get(User, people.erin.id)
        assert bob is not None and erin is not None
        begin_enrolment(db, appliance.keys, bob)
        bob.mfa_enabled = True
        db.add(bob)
        begin_enrolment(db, appliance.keys, erin)
        note_id = note_id_of(db, drafted)
        assert note_id is not None
        export_id = request_export(db, appliance.keys, alice, client.id)
    return RouteSamples(
        {
            "client_id": (client.id,),
            "dictation_id": (waiting_for_draft, drafted, waiting_for_transcript, recording),
            "user_id": (str(frank.id),),
            "token": (token, "no-such-token"),
            "grant_id": (str(grant.id),),
            "request_id": ("1", "999"),
            "template_id": (template.id,),
            "note_id": (note_id, signed),
            "flag_id": ("f1",),
            "export_id": (export_id,),
        }
    )
