"""Migration 0010 seals the session details and emergency reasons already stored in the clear,
and going back opens them again."""

from __future__ import annotations

from datetime import date

import pytest
from alembic import command
from sqlalchemy import text

from appliance.identity.accounts import actor_for
from appliance.identity.emergency_access import grant_access, list_grants
from appliance.migrate import alembic_config, upgrade_to_head
from appliance.models import Dictation
from appliance.records.session_details import session_of
from appliance.runtime import Appliance
from tests.conftest import POSTGRES_URL, People, submit_dictation

pytestmark = pytest.mark.skipif(
    bool(POSTGRES_URL), reason="moves its own SQLite copy down and up; PostgreSQL is shared"
)

REASON = "covering an unplanned absence, ticket 4411"


def _down_to_clear_columns(appliance: Appliance) -> None:
    config = alembic_config()
    config.attributes["keys"] = appliance.keys
    with appliance.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0009")


def test_sessions_and_reasons_stored_in_the_clear_are_sealed_by_the_upgrade(
    appliance: Appliance, people: People
) -> None:
    dictation_id = submit_dictation(
        appliance, people, typed_text="Typed.", session_date="2026-10-02", start_time="09:15"
    )
    with appliance.unit_of_work() as db:
        grant_access(
            db,
            appliance.keys,
            actor_for(people.dave),
            grantee=people.bob,
            owner=people.alice,
            reason=REASON,
            hours=1,
        )
    _down_to_clear_columns(appliance)
    with appliance.engine.connect() as connection:
        clear = connection.execute(
            text("SELECT session_date, start_time, modality FROM dictations WHERE id = :id"),
            {"id": dictation_id},
        ).one()
        reason = connection.execute(text("SELECT reason FROM emergency_access_grants")).scalar()
    assert (str(clear[0]), clear[1], reason) == ("2026-10-02", "09:15", REASON)

    upgrade_to_head(appliance.engine, appliance.keys)
    with appliance.engine.connect() as connection:
        columns = connection.execute(text("SELECT * FROM dictations")).keys()
    assert "session_date" not in columns and "session_sealed" in columns
    with appliance.unit_of_work() as db:
        row = db.get(Dictation, dictation_id)
        assert row is not None
        details = session_of(db, appliance.keys, row)
        grants = list_grants(db, appliance.keys, actor_for(people.erin))
    assert (details.session_date, details.start_time) == (date(2026, 10, 2), "09:15")
    assert [g.reason for g in grants] == [REASON]


def test_upgrading_stored_sessions_without_the_keys_is_refused(
    appliance: Appliance, people: People
) -> None:
    submit_dictation(appliance, people, typed_text="Typed.")
    _down_to_clear_columns(appliance)
    with pytest.raises(RuntimeError, match="appliance migrate"):
        upgrade_to_head(appliance.engine)
