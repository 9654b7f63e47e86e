"""The job workers through a database outage (tests.box_faults.py: the driver's own error,
SQLite or PostgreSQL): they live through it, and once the database answers again every job
finishes, none drafted twice, and the audit chain verifies."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select

from appliance.audit.chain import verify_chain
from appliance.db import unit_of_work
from appliance.drafting import pipeline
from appliance.jobs.dictation_stages import DICTATION_JOBS
from appliance.jobs.queue import JobType, Workers, work_while_claimed
from appliance.models import AuditEvent, Dictation, Note
from appliance.records.dictations import State
from appliance.runtime import Appliance
from tests.box_faults import database_down
from tests.conftest import People, submit_dictation
from tests.fake_llm import FakeLLM, fake_llm

TYPED = "Client reported sleeping six hours most nights. She denies SI."


@pytest.fixture(scope="module")
def llm() -> Iterator[FakeLLM]:
    with fake_llm() as server:
        yield server


@pytest.fixture
def wired(appliance: Appliance, llm: FakeLLM, monkeypatch: pytest.MonkeyPatch) -> Appliance:
    # A one-second lease: a claim left by the work the outage interrupted goes stale quickly.
    update = {"llm_url": llm.base_url, "job_lease_seconds": 1}
    monkeypatch.setattr(appliance, "settings", appliance.settings.model_copy(update=update))
    return appliance


def test_a_unit_whose_rollback_fails_too_leaves_the_thread_usable(
    appliance: Appliance, monkeypatch: pytest.MonkeyPatch
) -> None:
    def lost(_session: Session) -> None:
        raise OperationalError("ROLLBACK", {}, Exception("server closed the connection"))

    monkeypatch.setattr(Session, "rollback", lost)
    with pytest.raises(OperationalError), unit_of_work(appliance.engine):
        raise RuntimeError("the database went away mid-transaction")
    monkeypatch.undo()
    with unit_of_work(appliance.engine) as db:  # not "units of work do not nest"
        assert db.exec(select(Dictation)).all() == []


def test_a_heartbeat_that_cannot_reach_the_database_beats_again(
    appliance: Appliance, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        appliance, "settings", appliance.settings.model_copy(update={"job_lease_seconds": 0.4})
    )
    beats: list[str] = []

    def renew(_appliance: Appliance, job_id: str) -> None:
        beats.append(job_id)
        if len(beats) <= 2:
            with database_down(appliance.engine), appliance.engine.connect():
                pass

    def work(_appliance: Appliance, _job_id: str) -> None:
        # Until the fourth beat (two failed, two after), or long enough that a heartbeat that
        # stopped at the outage cannot pass: a fixed 0.6 s (six beats of 0.1 s) was too short
        # once on a loaded 2-core machine, where the first failed connect took most of it.
        deadline = time.monotonic() + 10
        while len(beats) < 4 and time.monotonic() < deadline:
            time.sleep(0.05)

    work_while_claimed(appliance, JobType("slow", lambda _a: None, work, renew), "j1")
    assert len(beats) >= 4, "the heartbeat stopped at the outage"


def _dictations(appliance: Appliance) -> list[Dictation]:
    with appliance.unit_of_work() as db:
        return list(db.exec(select(Dictation)).all())


def test_workers_wait_out_an_outage_and_draft_every_dictation_once(
    wired: Appliance, people: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = [submit_dictation(wired, people, typed_text=TYPED) for _ in range(3)]
    real_draft = pipeline.draft
    outage_over = threading.Event()
    drafts_written: list[int] = []

    one_outage = threading.Lock()

    def draft_then_lose_the_database(*args: Any, **kwargs: Any) -> Any:
        draft = real_draft(*args, **kwargs)
        drafts_written.append(1)
        # Checked and set under a lock: both workers may finish a draft at once (the first
        # drafts wait together for the placement classifier to train), and two outages would
        # outlast the one the test waits out.
        with one_outage:
            first = not hasattr(draft_then_lose_the_database, "down")
            if first:
                draft_then_lose_the_database.down = True  # type: ignore[attr-defined]
        if first:
            # The first draft is written, then the database goes before it can be stored.
            outage = database_down(wired.engine)
            outage.__enter__()

            def come_back() -> None:
                outage.__exit__(None, None, None)
                outage_over.set()

            threading.Timer(1.5, come_back).start()
        return draft

    monkeypatch.setattr(pipeline, "draft", draft_then_lose_the_database)
    workers = Workers(wired, [DICTATION_JOBS], count=2, idle_seconds=0.05)
    workers.start()
    try:
        assert outage_over.wait(30), "no draft was written"
        assert all(t.is_alive() for t in workers.threads), "a worker died in the outage"
        deadline = time.monotonic() + 30
        while {d.state for d in _dictations(wired)} != {State.READY.value}:
            assert time.monotonic() < deadline, [d.state for d in _dictations(wired)]
            time.sleep(0.1)
    finally:
        workers.stop()
    with wired.unit_of_work() as db:
        drafted = Counter(
            e.object_id
            for e in db.exec(select(AuditEvent).where(AuditEvent.action == "dictation.draft"))
        )
        notes = Counter(n.dictation_id for n in db.exec(select(Note)))
    assert len(drafts_written) > len(ids), "the outage lost no draft: it tested nothing"
    assert drafted == Counter(ids) and notes == Counter(ids)
    assert verify_chain(wired.engine, wired.keys.audit).ok
