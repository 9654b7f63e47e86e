from __future__ import annotations

import pytest
from sqlmodel import select

from appliance.identity.accounts import actor_for
from appliance.models import DataKey, Dictation
from appliance.practice.preferences import set_transcript_retention_days
from appliance.records.dictations import get_dictation
from appliance.records.retention import enforce_transcript_retention
from appliance.runtime import Appliance
from tests.conftest import Clock, People, submit_dictation


def _typed(appliance: Appliance, people: People) -> str:
    return submit_dictation(appliance, people, typed_text="Reviewed the thought record.")


def _retain(appliance: Appliance, people: People, days: int | None) -> None:
    with appliance.unit_of_work() as db:
        set_transcript_retention_days(db, days, by=actor_for(people.dave))


def test_by_default_transcripts_are_kept_until_signing(
    appliance: Appliance, people: People, frozen_clock: Clock
) -> None:
    dictation_id = _typed(appliance, people)
    frozen_clock.advance(days=400)
    assert enforce_transcript_retention(appliance) == 0
    with appliance.unit_of_work() as db:
        view = get_dictation(db, appliance.keys, actor_for(people.alice), dictation_id)
    assert view.transcript == "Reviewed the thought record."


def test_after_n_days_the_transcript_is_crypto_shredded(
    appliance: Appliance, people: People, frozen_clock: Clock
) -> None:
    dictation_id = _typed(appliance, people)
    _retain(appliance, people, 30)
    frozen_clock.advance(days=29)
    assert enforce_transcript_retention(appliance) == 0
    frozen_clock.advance(days=2)
    assert enforce_transcript_retention(appliance) == 1
    with appliance.unit_of_work() as db:
        row = db.get(Dictation, dictation_id)
        assert row is not None and row.transcript_sealed is None
        assert row.transcript_deleted_at is not None
        key = db.exec(select(DataKey).where(DataKey.id == row.transcript_key_id)).one()
        assert key.wrapped is None
        view = get_dictation(db, appliance.keys, actor_for(people.alice), dictation_id)
    assert view.transcript is None and view.transcript_deleted_at is not None


def test_only_admins_set_retention_and_only_sensible_values(
    appliance: Appliance, people: People
) -> None:
    with appliance.unit_of_work() as db, pytest.raises(Exception, match="may not"):
        set_transcript_retention_days(db, 5, by=actor_for(people.alice))
    with appliance.unit_of_work() as db, pytest.raises(ValueError, match="1 to 3650"):
        set_transcript_retention_days(db, 0, by=actor_for(people.dave))


def test_a_transcript_deleted_before_drafting_ends_the_job_with_a_reason(
    appliance: Appliance, people: People, frozen_clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from appliance.jobs.dictation_stages import claim_next, process
    from appliance.records.dictations import State
    from tests.fake_llm import fake_llm

    dictation_id = _typed(appliance, people)
    _retain(appliance, people, 1)
    frozen_clock.advance(days=2)
    enforce_transcript_retention(appliance)
    with fake_llm() as llm:
        settings = appliance.settings.model_copy(update={"llm_url": llm.base_url})
        monkeypatch.setattr(appliance, "settings", settings)
        assert claim_next(appliance) == dictation_id
        process(appliance, dictation_id)
    with appliance.unit_of_work() as db:
        row = db.get(Dictation, dictation_id)
    assert row is not None and row.state == State.FAILED
    assert row.status_message and "deleted (retention)" in row.status_message
    assert claim_next(appliance) is None
