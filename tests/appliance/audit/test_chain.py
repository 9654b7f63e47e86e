from __future__ import annotations

import threading

import pytest
from sqlalchemy import text
from sqlmodel import col, select

from appliance.access import AccessDenied
from appliance.audit.chain import head_mac, verify_chain
from appliance.audit.record import INVALID_OBJECT_ID, Outcome, record_event
from appliance.identity import accounts
from appliance.models import AuditEvent, AuditHead
from appliance.roles import Role
from appliance.runtime import Appliance
from tests.conftest import People


def _record(appliance: Appliance, count: int) -> None:
    for n in range(count):
        record_event("test.event", Outcome.ALLOWED, actor_id=n, object_type="thing", object_id=n)


def _verify(appliance: Appliance) -> tuple[bool, int, int | None]:
    report = verify_chain(appliance.engine, appliance.keys.audit)
    return report.ok, report.count, report.first_bad_seq


def _sql(appliance: Appliance, statement: str, **params: object) -> None:
    with appliance.engine.begin() as connection:
        connection.execute(text(statement), params)


def test_events_form_an_intact_chain(appliance: Appliance) -> None:
    _record(appliance, 10)
    assert _verify(appliance) == (True, 10, None)


def test_a_changed_event_is_named(appliance: Appliance) -> None:
    _record(appliance, 10)
    _sql(appliance, "UPDATE audit_events SET outcome = 'denied' WHERE seq = 4")
    assert _verify(appliance) == (False, 3, 4)


def test_a_deleted_event_is_named(appliance: Appliance) -> None:
    _record(appliance, 10)
    _sql(appliance, "DELETE FROM audit_events WHERE seq = 6")
    assert _verify(appliance) == (False, 5, 7)


def test_an_inserted_event_is_named(appliance: Appliance) -> None:
    _record(appliance, 10)
    # Make room after event 3 and insert a forged one there, copying a real event's MAC.
    _sql(appliance, "UPDATE audit_events SET seq = seq + 1000 WHERE seq > 3")
    _sql(appliance, "UPDATE audit_events SET seq = seq - 999 WHERE seq > 1000")
    _sql(
        appliance,
        "INSERT INTO audit_events (seq, at, action, outcome, mac) "
        "SELECT 4, at, 'user.create', 'allowed', mac FROM audit_events WHERE seq = 3",
    )
    assert _verify(appliance) == (False, 3, 4)


def test_reordered_events_are_named(appliance: Appliance) -> None:
    _record(appliance, 10)
    _sql(appliance, "UPDATE audit_events SET seq = -1 WHERE seq = 7")
    _sql(appliance, "UPDATE audit_events SET seq = 7 WHERE seq = 8")
    _sql(appliance, "UPDATE audit_events SET seq = 8 WHERE seq = -1")
    assert _verify(appliance) == (False, 6, 7)


def test_events_cut_from_the_end_are_noticed(appliance: Appliance) -> None:
    _record(appliance, 10)
    _sql(appliance, "DELETE FROM audit_events WHERE seq > 8")
    assert _verify(appliance) == (False, 8, 9)


def test_events_cut_from_the_end_with_the_head_rewound_are_noticed(appliance: Appliance) -> None:
    _record(appliance, 10)
    # Without the audit key: drop the newest events and point the head at event 7, whose MAC
    # anyone with the database can read.
    _sql(appliance, "DELETE FROM audit_events WHERE seq > 7")
    _sql(
        appliance,
        "UPDATE audit_head SET last_seq = 7, "
        "last_mac = (SELECT mac FROM audit_events WHERE seq = 7)",
    )
    report = verify_chain(appliance.engine, appliance.keys.audit)
    assert (report.ok, report.count, report.first_bad_seq) == (False, 7, 8)
    assert report.problem is not None and "head" in report.problem


def test_a_rewound_head_stays_broken_after_new_events(appliance: Appliance) -> None:
    """The next append must not re-seal a head it cannot vouch for: that would launder the cut."""
    _record(appliance, 10)
    _sql(appliance, "DELETE FROM audit_events WHERE seq > 7")
    _sql(
        appliance,
        "UPDATE audit_head SET last_seq = 7, "
        "last_mac = (SELECT mac FROM audit_events WHERE seq = 7)",
    )
    _record(appliance, 3)  # events 8-10 again, written by the appliance as usual
    report = verify_chain(appliance.engine, appliance.keys.audit)
    # Named by the first event appended on top of the rewound head: the first one reused.
    assert (report.ok, report.count, report.first_bad_seq) == (False, 10, 8)


def test_a_new_chain_seals_its_head_from_the_first_event(appliance: Appliance) -> None:
    assert _verify(appliance) == (True, 0, None)  # nothing to protect yet: no seal needed
    _record(appliance, 1)
    with appliance.unit_of_work() as db:
        head = db.exec(select(AuditHead)).one()
        assert head.head_mac == head_mac(appliance.keys.audit, 1, head.last_mac)
    assert _verify(appliance) == (True, 1, None)


def test_a_chain_checked_with_another_key_fails(appliance: Appliance) -> None:
    _record(appliance, 3)
    assert not verify_chain(appliance.engine, b"\x00" * 32).ok


def test_concurrent_writers_keep_one_chain(appliance: Appliance) -> None:
    errors: list[BaseException] = []

    def writer(worker: int) -> None:
        try:
            for n in range(25):
                with appliance.unit_of_work() as db:
                    db.exec(select(AuditHead)).one()  # read first, as real requests do
                    record_event("test.concurrent", Outcome.ALLOWED, actor_id=worker, object_id=n)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert _verify(appliance) == (True, 150, None)
    with appliance.unit_of_work() as db:
        seqs = db.exec(select(AuditEvent.seq).order_by(col(AuditEvent.seq))).all()
    assert seqs == list(range(1, 151))


def test_a_denial_is_recorded_even_when_its_transaction_rolls_back(
    appliance: Appliance, people: People
) -> None:
    with pytest.raises(AccessDenied), appliance.unit_of_work() as db:
        accounts.create_user(db, "mallory", Role.ADMIN, by=accounts.actor_for(people.bob))
    with appliance.unit_of_work() as db:
        actions = db.exec(select(AuditEvent.action, AuditEvent.outcome)).all()
    assert ("user.create", "denied") in actions


def test_an_allowed_event_of_undone_work_is_not_recorded(appliance: Appliance) -> None:
    with pytest.raises(RuntimeError), appliance.unit_of_work():
        record_event("test.undone", Outcome.ALLOWED)
        raise RuntimeError("the work failed after the event")
    with appliance.unit_of_work() as db:
        assert db.exec(select(AuditEvent).where(AuditEvent.action == "test.undone")).all() == []
    assert _verify(appliance)[0]


def test_events_carry_the_request_context(appliance: Appliance) -> None:
    from appliance.request_context import RequestInfo, current_request

    token = current_request.set(RequestInfo(request_id="r" * 32, source_ip="192.0.2.7"))
    try:
        record_event("test.context", Outcome.ALLOWED)
    finally:
        current_request.reset(token)
    with appliance.unit_of_work() as db:
        row = db.exec(select(AuditEvent).where(AuditEvent.action == "test.context")).one()
    assert (row.request_id, row.source_ip) == ("r" * 32, "192.0.2.7")


def test_verifying_does_not_hold_up_writers(appliance: Appliance) -> None:
    import time

    from appliance.db import read_only

    _record(appliance, 3)
    with read_only(appliance.engine) as reader:
        reader.exec(select(AuditEvent)).all()  # a long verification is mid-way
        started = time.monotonic()
        record_event("test.while_verifying", Outcome.ALLOWED)
        # 8 s, not 2: one write on busy cores; a blocked writer waits out busy_timeout's 10 s.
        assert time.monotonic() - started < 8, "a writer waited for the verifier's lock"
    assert _verify(appliance) == (True, 4, None)


@pytest.mark.parametrize(
    "raw",
    ["a" * 70, "../../etc/passwd", "id with spaces", "é", "x\ny", ""],
    ids=["70-chars", "path", "spaces", "non-ascii", "newline", "empty"],
)
def test_an_object_id_that_is_not_an_id_is_recorded_as_invalid_and_keeps_its_outcome(
    appliance: Appliance, raw: str
) -> None:
    # Ids come from URLs: anything may arrive. The column is VARCHAR(64) (PostgreSQL refuses a
    # longer INSERT, losing the denial) and an auditor's CSV must not receive arbitrary text.
    record_event("test.denied", Outcome.DENIED, object_type="client", object_id=raw)
    with appliance.unit_of_work() as db:
        row = db.exec(select(AuditEvent).where(AuditEvent.action == "test.denied")).one()
    assert (row.object_id, row.outcome) == (INVALID_OBJECT_ID, "denied")
    assert _verify(appliance)[0]


@pytest.mark.parametrize("good", ["0123456789abcdef0123456789abcdef", "require_mfa", "42", "a-b"])
def test_a_real_object_id_is_recorded_as_it_is(appliance: Appliance, good: str) -> None:
    record_event("test.kept", Outcome.ALLOWED, object_type="thing", object_id=good)
    with appliance.unit_of_work() as db:
        row = db.exec(select(AuditEvent).where(AuditEvent.action == "test.kept")).one()
    assert row.object_id == good
