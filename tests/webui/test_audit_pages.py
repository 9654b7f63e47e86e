from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable

import pytest
from sqlmodel import select

from appliance.audit.record import INVALID_OBJECT_ID, Outcome, record_event
from appliance.identity.accounts import actor_for
from appliance.identity.emergency_access import grant_access
from appliance.models import AuditEvent
from appliance.runtime import Appliance
from tests.conftest import Browser, People


def test_the_auditor_lands_on_the_audit_log(signed_in: Callable[[str], Browser]) -> None:
    erin = signed_in("erin")
    response = erin.get("/", follow_redirects=False)
    assert response.headers["location"] == "/audit"
    page = erin.get("/audit").text
    assert "auth.login" in page and "Export CSV" in page


def test_filters_narrow_the_events(
    signed_in: Callable[[str], Browser], browser: Callable[[], Browser]
) -> None:
    browser().sign_in("alice", "wrong-password-xyz")
    browser().sign_in("bob")
    erin = signed_in("erin")
    failed = erin.get("/audit?outcome=failed&action=auth.login").text
    rows = re.findall(r"<tr class=\"(\w+)", failed)
    assert rows and set(rows) == {"failed"}
    by_bob = erin.get("/audit?user=bob&action=auth.").text
    assert "bob" in by_bob and ">alice <" not in by_bob


def test_a_bad_date_is_explained(signed_in: Callable[[str], Browser]) -> None:
    response = signed_in("erin").get("/audit?from=yesterday")
    assert response.status_code == 400 and "From: use the form YYYY-MM-DD." in response.text


def test_the_log_is_paginated(signed_in: Callable[[str], Browser], appliance: Appliance) -> None:
    for n in range(60):
        record_event("test.filler", Outcome.ALLOWED, object_type="thing", object_id=n)
    erin = signed_in("erin")
    first = erin.get("/audit").text
    assert "Page 1 of" in first and "Older" in first
    second = erin.get("/audit?page=2").text
    assert "Page 2 of" in second and "Newer" in second


@pytest.mark.parametrize(
    "page", ["²", "9" * 5000, "-1", "x"], ids=["superscript", "huge", "neg", "x"]
)
def test_a_page_number_that_is_not_one_shows_the_first_page(
    signed_in: Callable[[str], Browser], page: str
) -> None:
    # "²".isdigit() is true but int("²") fails, as does int() of over 4300 digits.
    response = signed_in("erin").get("/audit", params={"page": page})
    assert response.status_code == 200 and "Page 1 of" in response.text


def test_the_csv_export_is_a_file_and_is_itself_audited(
    signed_in: Callable[[str], Browser],
) -> None:
    erin = signed_in("erin")
    response = erin.get("/audit/export.csv?action=auth.")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0][:5] == ["seq", "at", "actor", "actor_role", "action"]
    assert all(row[4].startswith("auth.") for row in rows[1:])
    assert "audit.export" in erin.get("/audit?action=audit.export").text


@pytest.mark.parametrize("lead", ["\t", "\r"], ids=["tab", "carriage-return"])
def test_the_csv_export_defuses_formulas_behind_a_tab_or_carriage_return(
    signed_in: Callable[[str], Browser], lead: str
) -> None:
    # Spreadsheets skip a leading tab or CR and then run the formula after it.
    record_event("test.formula", Outcome.FAILED, reason=f"{lead}=HYPERLINK(1)")
    rows = list(csv.DictReader(io.StringIO(signed_in("erin").get("/audit/export.csv").text)))
    by_action = {row["action"]: row for row in rows}
    assert by_action["test.formula"]["reason"] == f"'{lead}=HYPERLINK(1)"


def test_the_csv_export_leaves_empty_cells_empty_and_defuses_formulas(
    signed_in: Callable[[str], Browser],
) -> None:
    record_event("test.formula", Outcome.FAILED, reason="=HYPERLINK(1)")
    record_event("test.empty", Outcome.ALLOWED)
    rows = list(csv.DictReader(io.StringIO(signed_in("erin").get("/audit/export.csv").text)))
    by_action = {row["action"]: row for row in rows}
    assert by_action["test.formula"]["reason"] == "'=HYPERLINK(1)"
    assert by_action["test.empty"]["reason"] == "" and by_action["test.empty"]["object_id"] == ""


def test_active_emergency_access_is_shown_prominently(
    appliance: Appliance, people: People, signed_in: Callable[[str], Browser]
) -> None:
    with appliance.unit_of_work() as db:
        grant_access(
            db,
            appliance.keys,
            actor_for(people.dave),
            grantee=people.bob,
            owner=people.alice,
            reason="covering unplanned leave",
            hours=4,
        )
    erin = signed_in("erin")
    page = erin.get("/audit").text
    assert "Emergency access in effect" in page and "covering unplanned leave" in page
    assert "covering unplanned leave" in erin.get("/audit/emergency").text


def test_an_admin_grants_emergency_access_through_the_page(
    signed_in: Callable[[str], Browser],
) -> None:
    alice = signed_in("alice")
    created = alice.submit(
        "/clients",
        {"display_name": "Ann A", "external_id": "", "date_of_birth": ""},
        "/clients/new",
    )
    client_path = created.headers["location"].split("?")[0]
    dave = signed_in("dave")
    response = dave.submit(
        "/admin/emergency",
        {"grantee": "bob", "owner": "alice", "hours": "2", "reason": "covering unplanned leave"},
        "/admin/emergency",
    )
    assert response.headers["location"] == "/admin/emergency?done=emergency_granted"
    page = signed_in("bob").get(client_path).text
    assert "Emergency access (grant" in page and "Ann A" in page
    assert "Ann A" not in dave.get("/admin/emergency").text


def test_a_grant_without_a_reason_keeps_the_form(signed_in: Callable[[str], Browser]) -> None:
    response = signed_in("dave").submit(
        "/admin/emergency",
        {"grantee": "bob", "owner": "alice", "hours": "2", "reason": "x"},
        "/admin/emergency",
    )
    assert response.status_code == 400 and "reason" in response.text
    assert '<option value="bob" selected>' in response.text


TOO_LONG_ID = "a" * 70  # audit_events.object_id is VARCHAR(64); ids are 32 hex characters


def _denials(appliance: Appliance) -> list[AuditEvent]:
    with appliance.unit_of_work() as db:
        return list(db.exec(select(AuditEvent).where(AuditEvent.outcome == "denied")).all())


@pytest.mark.parametrize(
    ("path", "action"),
    [
        (f"/clients/{TOO_LONG_ID}", "client.view"),
        (f"/clients/{TOO_LONG_ID}/dictations/new", "client.view"),
        (f"/notes/{TOO_LONG_ID}", "note.view"),
        (f"/notes/{TOO_LONG_ID}.pdf", "note.download"),
        (f"/dictations/{TOO_LONG_ID}", "dictation.view"),
        (f"/dictations/{TOO_LONG_ID}/status", "dictation.view"),
        (f"/exports/{TOO_LONG_ID}", "client.export_view"),
    ],
)
def test_an_over_long_id_in_a_url_is_a_404_and_its_denial_is_audited_without_it(
    signed_in: Callable[[str], Browser], appliance: Appliance, path: str, action: str
) -> None:
    alice = signed_in("alice")
    before = len(_denials(appliance))
    assert alice.get(path).status_code == 404
    new = _denials(appliance)[before:]
    assert [e.action for e in new] == [action]
    assert new[0].object_id in (None, INVALID_OBJECT_ID)


def test_a_non_ascii_csrf_token_is_a_bad_request_and_is_audited(
    signed_in: Callable[[str], Browser], appliance: Appliance
) -> None:
    dave = signed_in("dave")
    form = {"grantee": "bob", "owner": "alice", "hours": "2", "reason": "covering leave"}
    by_field = dave.post("/admin/emergency", data={"csrf_token": "é", **form})
    assert by_field.status_code == 400
    by_header = dave.post("/admin/emergency", data=form, headers={"x-csrf-token": "é".encode()})
    assert by_header.status_code == 400
    refused = [e for e in _denials(appliance) if e.action == "http.csrf"]
    assert len(refused) == 2
