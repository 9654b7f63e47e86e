"""Access changes through the web: the two-person rule's pages, the auditor's list, the metric."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from starlette.testclient import TestClient

from appliance import clock
from appliance.identity import accounts
from appliance.identity.accounts import supervisor_of
from appliance.roles import Role
from appliance.runtime import Appliance
from tests.conftest import Browser, People
from webui.app import create_app

LINK = re.compile(r"https://testserver/setup/[A-Za-z0-9_-]+")


@pytest.fixture
def two_person(appliance: Appliance, monkeypatch: pytest.MonkeyPatch) -> Appliance:
    monkeypatch.setattr(
        appliance,
        "settings",
        appliance.settings.model_copy(update={"two_person_access_changes": True}),
    )
    return appliance


@pytest.fixture
def dana(appliance: Appliance, people: People, password_hash: str) -> None:
    """A second admin."""
    with appliance.unit_of_work() as db:
        user = accounts.create_user(db, "dana", Role.ADMIN, by=None)
        user.password_hash = password_hash
        user.password_changed_at = clock.utcnow()
        db.add(user)
        accounts.create_user(db, "sam", Role.SUPERVISOR, by=None)


def _bobs_supervisor(appliance: Appliance, people: People) -> str | None:
    assert people.bob.id is not None
    with appliance.unit_of_work() as db:
        supervisor = supervisor_of(db, people.bob.id)
        return supervisor.username if supervisor else None


def test_an_assignment_waits_on_the_approvals_page_for_the_second_admin(
    two_person: Appliance, people: People, dana: None, signed_in: Callable[[str], Browser]
) -> None:
    dave = signed_in("dave")
    page = f"/admin/users/{people.bob.id}"
    asked = dave.submit(f"{page}/supervisor", {"supervisor": "sam"}, page)
    assert asked.headers["location"].endswith("done=approval_requested")
    assert _bobs_supervisor(two_person, people) is None
    assert "Sent for approval" in dave.get(asked.headers["location"]).text
    # dave sees his own request with Withdraw only.
    own = dave.get("/admin/approvals").text
    assert "sam to supervise bob" in own and "/approve" not in own

    second = signed_in("dana")
    listed = second.get("/admin/approvals").text
    request_id = re.search(r"/admin/approvals/(\d+)/approve", listed)
    assert request_id is not None
    done = second.submit(f"/admin/approvals/{request_id[1]}/approve", page="/admin/approvals")
    assert done.status_code == 303
    assert _bobs_supervisor(two_person, people) == "sam"


def test_an_approved_setup_link_is_shown_to_the_approver_only(
    two_person: Appliance, people: People, dana: None, signed_in: Callable[[str], Browser]
) -> None:
    dave = signed_in("dave")
    page = f"/admin/users/{people.alice.id}"
    asked = dave.submit(f"{page}/setup-link", page=page)
    assert asked.status_code == 303
    assert not LINK.search(dave.get(asked.headers["location"]).text)

    second = signed_in("dana")
    request_id = re.search(r"/admin/approvals/(\d+)/approve", second.get("/admin/approvals").text)
    assert request_id is not None
    approved = second.submit(f"/admin/approvals/{request_id[1]}/approve", page="/admin/approvals")
    assert approved.status_code == 200 and LINK.search(approved.text)
    assert not LINK.search(dave.get("/admin/approvals").text)


def test_approving_your_own_request_is_refused_with_a_reason(
    two_person: Appliance, people: People, dana: None, signed_in: Callable[[str], Browser]
) -> None:
    dave = signed_in("dave")
    page = f"/admin/users/{people.bob.id}"
    dave.submit(f"{page}/supervisor", {"supervisor": "sam"}, page)
    refused = dave.submit("/admin/approvals/1/approve", page="/admin/approvals")
    assert refused.status_code == 400
    assert "not the one who asked" in refused.text
    assert _bobs_supervisor(two_person, people) is None


def test_without_the_rule_a_new_setup_link_is_shown_at_once(
    appliance: Appliance, people: People, signed_in: Callable[[str], Browser]
) -> None:
    dave = signed_in("dave")
    page = f"/admin/users/{people.alice.id}"
    response = dave.submit(f"{page}/setup-link", page=page)
    assert response.status_code == 200 and LINK.search(response.text)


def test_the_auditor_lists_access_changes_and_the_metric_counts_them(
    appliance: Appliance, people: People, signed_in: Callable[[str], Browser]
) -> None:
    dave = signed_in("dave")
    page = f"/admin/users/{people.alice.id}"
    dave.submit(f"{page}/setup-link", page=page)
    listed = signed_in("erin").get("/audit/access-changes")
    assert listed.status_code == 200
    assert "Setup link re-issued" in listed.text and "alice (clinician)" in listed.text
    loopback = ("127.0.0.1", 40000)
    with TestClient(create_app(appliance), base_url="https://testserver", client=loopback) as http:
        scraped = http.get("/metrics").text
    assert 'appliance_access_changes_total{change="setup_link_reissued"} 1.0' in scraped
