"""Co-signature: a supervisee's note is final only when the supervisor co-signs; a returned
note comes back through an addendum."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from appliance import clock
from appliance.access import AccessDenied, NotFound
from appliance.audit.chain import EventData
from appliance.identity import accounts
from appliance.notes.cosigning import cosign_note, return_note
from appliance.notes.queues import cosign_queue, notes_to_sign, to_sign_count
from appliance.notes.review import acknowledge_flag, get_note
from appliance.notes.signing import add_addendum, sign_note
from appliance.roles import Actor
from appliance.runtime import Appliance
from tests.appliance.notes.conftest import blocking_flag, note_row, set_signature_line
from tests.conftest import PASSWORD, People


@pytest.fixture
def signed_by_trainee(
    appliance: Appliance, people: People, drafted: Callable[..., str], actors: dict[str, Actor]
) -> str:
    """alice requires co-signature (carol supervises her) and has signed a note."""
    set_signature_line(appliance, people.alice.id or 0, "Alice Smith, AMFT")
    set_signature_line(appliance, people.carol.id or 0, "Carol Jones, LMFT, Supervisor")
    with appliance.unit_of_work() as db:
        alice = accounts.get_user(db, people.alice.id or 0)
        accounts.set_requires_cosign(db, alice, True, by=actors["dave"])
    note_id = drafted()
    flag_id = blocking_flag(appliance, note_id)
    with appliance.unit_of_work() as db:
        acknowledge_flag(db, appliance.keys, actors["alice"], note_id, flag_id)
    version = note_row(appliance, note_id).version
    with appliance.unit_of_work() as db:
        outcome = sign_note(
            db,
            appliance.settings,
            appliance.keys,
            actors["alice"],
            note_id,
            version=version,
            password=PASSWORD,
        )
    assert outcome.signed and outcome.state == "awaiting_cosign"
    return note_id


def test_a_supervisees_signed_note_waits_for_co_signature(
    appliance: Appliance, signed_by_trainee: str, actors: dict[str, Actor]
) -> None:
    with appliance.unit_of_work() as db:
        queue = cosign_queue(db, appliance.keys, actors["carol"])
        assert to_sign_count(db, actors["carol"]) == 1
        records = get_note(db, appliance.keys, actors["carol"], signed_by_trainee).records
    assert [i.note_id for i in queue] == [signed_by_trainee]
    assert records is not None and not records.final and records.cosignature is None
    assert records.note.document["requires_cosign"] is True


def test_co_signing_with_the_password_makes_the_note_final(
    appliance: Appliance,
    signed_by_trainee: str,
    actors: dict[str, Actor],
    audit_events: list[EventData],
) -> None:
    carol = actors["carol"]
    with appliance.unit_of_work() as db:
        wrong = cosign_note(
            db, appliance.settings, appliance.keys, carol, signed_by_trainee, password="nope-nope"
        )
    assert not wrong.signed
    with appliance.unit_of_work() as db:
        done = cosign_note(
            db, appliance.settings, appliance.keys, carol, signed_by_trainee, password=PASSWORD
        )
    assert done.signed and done.state == "final"
    with appliance.unit_of_work() as db:
        records = get_note(db, appliance.keys, carol, signed_by_trainee).records
        assert cosign_queue(db, appliance.keys, carol) == []
    assert records is not None and records.final and records.cosignature is not None
    assert records.cosignature.document["cosigns"] == [records.note.sha256]
    assert [(e.outcome, e.reason) for e in audit_events if e.action == "note.cosign"] == [
        ("failed", "bad_password"),
        ("allowed", None),
    ]


def test_only_the_clinicians_supervisor_co_signs(
    appliance: Appliance, signed_by_trainee: str, actors: dict[str, Actor]
) -> None:
    with pytest.raises(AccessDenied), appliance.unit_of_work() as db:
        cosign_note(
            db,
            appliance.settings,
            appliance.keys,
            actors["alice"],
            signed_by_trainee,
            password=PASSWORD,
        )
    for name in ("bob", "dave"):
        with pytest.raises(NotFound), appliance.unit_of_work() as db:
            cosign_note(
                db,
                appliance.settings,
                appliance.keys,
                actors[name],
                signed_by_trainee,
                password=PASSWORD,
            )
    assert note_row(appliance, signed_by_trainee).state == "awaiting_cosign"


def test_a_returned_note_leaves_the_queue_until_an_addendum_sends_it_back(
    appliance: Appliance, signed_by_trainee: str, actors: dict[str, Actor]
) -> None:
    carol, alice = actors["carol"], actors["alice"]
    with appliance.unit_of_work() as db:
        assert return_note(
            db, appliance.keys, carol, signed_by_trainee, comment="Add the safety plan."
        ).signed
    with appliance.unit_of_work() as db:
        assert to_sign_count(db, carol) == 0
        records = get_note(db, appliance.keys, alice, signed_by_trainee).records
        refused = cosign_note(
            db, appliance.settings, appliance.keys, carol, signed_by_trainee, password=PASSWORD
        )
    assert not refused.signed
    assert records is not None and records.returns[0].document["comment"] == "Add the safety plan."
    with appliance.unit_of_work() as db:
        add_addendum(
            db,
            appliance.settings,
            appliance.keys,
            alice,
            signed_by_trainee,
            text="Safety plan reviewed and on file.",
            password=PASSWORD,
        )
    with appliance.unit_of_work() as db:
        assert [i.note_id for i in cosign_queue(db, appliance.keys, carol)] == [signed_by_trainee]
        done = cosign_note(
            db, appliance.settings, appliance.keys, carol, signed_by_trainee, password=PASSWORD
        )
        records = get_note(db, appliance.keys, carol, signed_by_trainee).records
    assert done.signed and records is not None
    assert records.cosignature is not None
    assert records.cosignature.document["cosigns"] == [
        records.note.sha256,
        records.addenda[0].sha256,
    ]


def test_requiring_co_signature_needs_a_supervisor_and_is_audited(
    appliance: Appliance, people: People, actors: dict[str, Actor], audit_events: list[EventData]
) -> None:
    with appliance.unit_of_work() as db:
        bob = accounts.get_user(db, people.bob.id or 0)
        with pytest.raises(accounts.AccountError, match="supervisor"):
            accounts.set_requires_cosign(db, bob, True, by=actors["dave"])
    with appliance.unit_of_work() as db:
        alice = accounts.get_user(db, people.alice.id or 0)
        accounts.set_requires_cosign(db, alice, True, by=actors["dave"])
    assert ("user.requires_cosign", "allowed") in [(e.action, e.outcome) for e in audit_events]


def test_the_to_sign_list_holds_a_clinicians_drafts_oldest_first(
    appliance: Appliance, drafted: Callable[..., str], actors: dict[str, Actor]
) -> None:
    today = clock.utcnow().date()
    recent = drafted(session_date=today.isoformat())
    old = drafted(session_date=(today - timedelta(days=5)).isoformat())
    with appliance.unit_of_work() as db:
        items = notes_to_sign(db, appliance.keys, actors["alice"])
        assert to_sign_count(db, actors["alice"]) == 2
        assert notes_to_sign(db, appliance.keys, actors["bob"]) == []
    assert [(i.note_id, i.days_waiting, i.overdue) for i in items] == [
        (old, 5, True),
        (recent, 0, False),
    ]
    assert {i.client_name for i in items} == {"Ann A"}
