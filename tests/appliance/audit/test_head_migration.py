"""Migration 0008 seals the head of a chain written before the head had a seal."""

from __future__ import annotations

import pytest
from alembic import command

from appliance.audit.chain import verify_chain
from appliance.audit.record import Outcome, record_event
from appliance.migrate import alembic_config, upgrade_to_head
from appliance.runtime import Appliance
from tests.conftest import POSTGRES_URL

pytestmark = pytest.mark.skipif(
    bool(POSTGRES_URL), reason="moves its own SQLite copy down and up; PostgreSQL is shared"
)


def _back_to_unsealed_heads(appliance: Appliance) -> None:
    config = alembic_config()
    with appliance.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0007")


def test_upgrading_seals_the_existing_head_so_the_chain_still_verifies(
    appliance: Appliance,
) -> None:
    for n in range(3):
        record_event("test.event", Outcome.ALLOWED, object_type="thing", object_id=n)
    _back_to_unsealed_heads(appliance)
    upgrade_to_head(appliance.engine, appliance.keys)
    report = verify_chain(appliance.engine, appliance.keys.audit)
    assert (report.ok, report.count) == (True, 3)


def test_upgrading_a_used_chain_without_the_audit_key_is_refused(appliance: Appliance) -> None:
    record_event("test.event", Outcome.ALLOWED)
    _back_to_unsealed_heads(appliance)
    with pytest.raises(RuntimeError, match="audit key"):
        upgrade_to_head(appliance.engine)
