from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from tests.appliance.identity.enrolment import totp_code
from tests.conftest import PASSWORD, Browser, People

NEW_PASSWORD = "willow-harbor-kite-5150"


def test_an_admin_adds_a_clinician_who_sets_their_own_password(
    signed_in: Callable[[str], Browser], browser: Callable[[], Browser]
) -> None:
    dave = signed_in("dave")
    page = dave.submit(
        "/admin/users", {"username": "Frank", "role": "clinician"}, "/admin/users/new"
    )
    assert page.status_code == 200 and "One-time setup link" in page.text
    link = re.search(r"https://testserver(/setup/[\w-]+)", page.text)
    assert link
    frank = browser()
    frank.submit(
        link.group(1),
        {"password": NEW_PASSWORD, "password_again": NEW_PASSWORD},
        page=link.group(1),
    )
    assert frank.sign_in("frank", NEW_PASSWORD).status_code == 303
    assert frank.get("/clients").status_code == 200


def test_a_taken_username_is_explained(signed_in: Callable[[str], Browser]) -> None:
    response = signed_in("dave").submit(
        "/admin/users", {"username": "alice", "role": "admin"}, "/admin/users/new"
    )
    assert response.status_code == 400 and "taken" in response.text


def test_the_admin_user_list_shows_no_client_information(
    signed_in: Callable[[str], Browser],
) -> None:
    signed_in("alice").submit(
        "/clients",
        {"display_name": "Quincy Z", "external_id": "", "date_of_birth": ""},
        page="/clients/new",
    )
    dave = signed_in("dave")
    for path in ("/admin/users", "/admin/status", "/admin/settings"):
        assert "Quincy" not in dave.get(path).text


def test_an_admin_assigns_a_supervisor(signed_in: Callable[[str], Browser], people: People) -> None:
    dave = signed_in("dave")
    dave.submit(f"/admin/users/{people.bob.id}/supervisor", {"supervisor": "carol"}, "/admin/users")
    signed_in("bob").submit(
        "/clients",
        {"display_name": "Bob Client", "external_id": "", "date_of_birth": ""},
        page="/clients/new",
    )
    assert "Bob Client" in signed_in("carol").get("/clients").text


def test_requiring_mfa_forces_enrolment_before_anything_else(
    signed_in: Callable[[str], Browser], browser: Callable[[], Browser]
) -> None:
    dave = signed_in("dave")
    dave.submit("/admin/settings", {"require_mfa": "on"}, "/admin/settings")

    alice = browser()
    assert alice.sign_in("alice").headers["location"] == "/"
    assert alice.get("/clients", follow_redirects=False).headers["location"] == "/account/mfa"
    alice.submit("/account/mfa/start", page="/account/mfa")
    enrol_page = alice.get("/account/mfa").text
    assert "<svg" in enrol_page
    secret = re.search(r'<code class="secret">([A-Z2-7]+)</code>', enrol_page)
    assert secret
    codes_page = alice.submit(
        "/account/mfa/confirm", {"code": totp_code(secret.group(1), -1)}, page="/account/mfa"
    )
    codes = re.findall(r"<li><code>([0-9A-Z]{4}(?:-[0-9A-Z]{4}){3})</code></li>", codes_page.text)
    assert len(codes) == 10
    assert alice.get("/clients").status_code == 200

    again = browser()
    assert again.sign_in("alice").headers["location"] == "/login/mfa"
    assert again.get("/clients", follow_redirects=False).headers["location"] == "/login/mfa"
    wrong = again.submit("/login/mfa", {"code": "000000"}, page="/login/mfa")
    assert wrong.status_code == 401
    ok = again.submit("/login/mfa", {"code": codes[0]}, page="/login/mfa")
    assert ok.headers["location"] == "/"
    assert again.get("/clients").status_code == 200


def test_without_the_policy_mfa_is_optional(signed_in: Callable[[str], Browser]) -> None:
    assert signed_in("alice").get("/clients").status_code == 200


def test_the_status_page_reports_the_schema(signed_in: Callable[[str], Browser]) -> None:
    text = signed_in("dave").get("/admin/status").text
    assert "(up to date)" in text


def test_healthz_answers_json_without_signing_in(browser: Callable[[], Browser]) -> None:
    response = browser().get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_a_fresh_sign_in_carries_no_stale_password(signed_in: Callable[[str], Browser]) -> None:
    assert PASSWORD not in signed_in("alice").get("/account").text


def test_an_admin_sets_transcript_retention_and_clinicians_see_it(
    signed_in: Callable[[str], Browser],
) -> None:
    dave = signed_in("dave")
    bad = dave.submit(
        "/admin/settings", {"retention": "days", "retention_days": "x"}, "/admin/settings"
    )
    assert bad.status_code == 400 and "number of days" in bad.text
    dave.submit("/admin/settings", {"retention": "days", "retention_days": "30"}, "/admin/settings")
    assert 'value="30"' in dave.get("/admin/settings").text
    alice = signed_in("alice")
    created = alice.submit(
        "/clients", {"display_name": "A", "external_id": "", "date_of_birth": ""}, "/clients/new"
    )
    client_id = created.headers["location"].split("/")[2].split("?")[0]
    token = alice.form_token(f"/clients/{client_id}/dictations/new")
    posted = alice.post(
        f"/clients/{client_id}/dictations",
        data={
            "csrf_token": token,
            "session_date": "2026-11-20",
            "start_time": "",
            "duration_minutes": "50",
            "service_code": "90834",
            "modality": "cbt",
            "note_format": "soap",
            "typed_text": "Notes.",
        },
        files={"file": ("", b"", "application/octet-stream")},
        follow_redirects=False,
    )
    page = alice.get(posted.headers["location"]).text
    assert "practice retention setting" in page


@pytest.mark.parametrize("raw", ["²", "9" * 70, "12a"])
def test_a_numeric_id_that_is_not_a_number_the_database_takes_is_a_404(
    raw: str, signed_in: Callable[[str], Browser]
) -> None:
    dave = signed_in("dave")
    assert dave.get(f"/admin/users/{raw}").status_code == 404
    token = dave.form_token("/admin/emergency")
    revoked = dave.post(f"/admin/emergency/{raw}/revoke", data={"csrf_token": token})
    assert revoked.status_code == 404
