"""Privileged access changes are counted from the audit trail and listed for auditors."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry

from appliance.access import AccessDenied
from appliance.identity.access_change_metrics import AccessChangeCollector
from appliance.identity.access_changes import list_access_changes
from appliance.identity.accounts import actor_for, assign_supervisor, create_user
from appliance.identity.emergency_access import grant_access
from appliance.identity.mfa import reset_mfa
from appliance.identity.setup_links import issue_user_setup_link, reissue_setup_link
from appliance.models import User
from appliance.roles import Role
from appliance.runtime import Appliance
from tests.conftest import People


def _counts(appliance: Appliance) -> dict[str, float]:
    registry = CollectorRegistry()
    registry.register(AccessChangeCollector(appliance.engine))
    return {
        sample.labels["change"]: sample.value
        for family in registry.collect()
        for sample in family.samples
        if sample.name == "appliance_access_changes_total"
    }


def test_each_kind_of_access_change_is_counted_whoever_makes_it(
    appliance: Appliance, people: People
) -> None:
    before = _counts(appliance)
    dave = actor_for(people.dave)
    with appliance.unit_of_work() as db:
        sam = create_user(db, "sam", Role.SUPERVISOR, by=dave)
        issue_user_setup_link(db, appliance.settings, sam, by=dave)  # a new account's first link
        bob = db.get(User, people.bob.id)
        alice = db.get(User, people.alice.id)
        assert bob is not None and alice is not None
        assign_supervisor(db, bob, sam, by=dave)
        reset_mfa(db, alice, by=dave)
        reissue_setup_link(db, appliance.settings, alice, by=None)  # at the shell
        grant_access(
            db, appliance.keys, dave, grantee=bob, owner=alice, reason="cover for leave", hours=1
        )
    after = _counts(appliance)
    grown = {change: after[change] - before.get(change, 0.0) for change in after}
    assert grown == {
        "account_created": 1,
        "supervisor_assigned": 1,
        "mfa_reset": 1,
        "setup_link_reissued": 1,
        "emergency_access_granted": 1,
    }


def test_the_auditor_sees_who_changed_whose_access(appliance: Appliance, people: People) -> None:
    dave = actor_for(people.dave)
    with appliance.unit_of_work() as db:
        alice = db.get(User, people.alice.id)
        assert alice is not None
        reissue_setup_link(db, appliance.settings, alice, by=dave)
    with appliance.unit_of_work() as db:
        page = list_access_changes(db, actor_for(people.erin))
    newest = page.rows[0]
    assert (newest.description, newest.actor, newest.target) == (
        "Setup link re-issued",
        "dave",
        "alice (clinician)",
    )
    # The personas' own creation and carol's assignment (at the shell) are listed too.
    assert {row.actor for row in page.rows} == {"dave", "operator at the shell"}


@pytest.mark.parametrize("who", ["dave", "alice", "carol"])
def test_only_auditors_read_the_access_changes(
    appliance: Appliance, people: People, who: str
) -> None:
    with appliance.unit_of_work() as db, pytest.raises(AccessDenied):
        list_access_changes(db, actor_for(getattr(people, who)))
