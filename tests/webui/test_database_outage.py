"""The database out of reach (tests.box_faults.py: the driver's own error, SQLite or
PostgreSQL): /healthz says 503, every page for a person is a clear 503 page, never a traceback
or a 500, and everything works again once the database is back."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable

import pytest
from sqlalchemy.exc import IntegrityError, OperationalError

from appliance.runtime import Appliance
from tests.box_faults import database_down
from tests.conftest import Browser
from webui.fault_pages import DATABASE_UNREACHABLE, NOT_SENT

PAGES = ["/", "/clients", "/notes/to-sign", "/account", "/login"]


def test_it_answers_healthz_503_while_the_database_is_down(
    appliance: Appliance, browser: Callable[[], Browser]
) -> None:
    anonymous = browser()
    with database_down(appliance.engine):
        down = anonymous.get("/healthz")
    assert down.status_code == 503 and down.json()["database"] == "unreachable"
    assert anonymous.get("/healthz").status_code == 200


@pytest.mark.parametrize("page", PAGES)
def test_it_shows_a_signed_in_person_a_clear_503_page(
    appliance: Appliance,
    signed_in: Callable[[str], Browser],
    page: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    alice = signed_in("alice")
    with caplog.at_level(logging.DEBUG), database_down(appliance.engine):
        response = alice.get(page)
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("text/html")
    assert DATABASE_UNREACHABLE in response.text and "Traceback" not in response.text
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["cache-control"] == "no-store"
    assert "Traceback" not in caplog.text


def test_the_outage_page_does_not_sign_anyone_out(
    appliance: Appliance, signed_in: Callable[[str], Browser]
) -> None:
    alice = signed_in("alice")
    with database_down(appliance.engine):
        response = alice.get("/clients")
    assert "set-cookie" not in response.headers
    again = alice.get("/clients", follow_redirects=False)
    assert again.status_code == 200 and "Clients" in again.text


def test_a_form_sent_during_the_outage_is_answered_by_the_503_page(
    appliance: Appliance, signed_in: Callable[[str], Browser]
) -> None:
    alice = signed_in("alice")
    client_id = alice.add_client()
    token = alice.form_token(f"/clients/{client_id}/dictations/new")
    with database_down(appliance.engine):
        response = alice.post(
            f"/clients/{client_id}/dictations",
            data={"csrf_token": token, "typed_text": "Worked on sleep hygiene."},
            files={"file": ("", b"", "application/octet-stream")},
        )
    assert response.status_code == 503
    assert DATABASE_UNREACHABLE in response.text and NOT_SENT in response.text


def test_a_script_is_told_in_json(
    appliance: Appliance, signed_in: Callable[[str], Browser]
) -> None:
    alice = signed_in("alice")
    with database_down(appliance.engine):
        response = alice.get("/clients", headers={"accept": "application/json"})
    assert response.status_code == 503 and response.json() == {"error": DATABASE_UNREACHABLE}


def test_the_database_lost_in_the_middle_of_a_page_is_a_503_too(
    appliance: Appliance, signed_in: Callable[[str], Browser], monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = signed_in("alice")

    def gone(*_args: object, **_kwargs: object) -> None:
        with database_down(appliance.engine), appliance.engine.connect():
            pass

    monkeypatch.setattr("webui.views.clients.list_clients", gone)
    response = alice.get("/clients")
    assert response.status_code == 503 and DATABASE_UNREACHABLE in response.text


def test_any_other_database_error_is_still_the_500_page(
    appliance: Appliance, signed_in: Callable[[str], Browser], monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = signed_in("alice")

    def broken(*_args: object, **_kwargs: object) -> None:
        raise IntegrityError("INSERT", {}, sqlite3.IntegrityError("UNIQUE constraint failed"))

    monkeypatch.setattr("webui.views.clients.list_clients", broken)
    with pytest.raises(IntegrityError):
        alice.get("/clients")


def test_an_operational_error_that_is_no_outage_is_not_called_one(
    appliance: Appliance, signed_in: Callable[[str], Browser], monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = signed_in("alice")
    syntax = sqlite3.OperationalError('near "SELEC": syntax error')
    syntax.sqlite_errorcode = sqlite3.SQLITE_ERROR

    def broken(*_args: object, **_kwargs: object) -> None:
        raise OperationalError("SELEC 1", {}, syntax)

    monkeypatch.setattr("webui.views.clients.list_clients", broken)
    with pytest.raises(OperationalError):
        alice.get("/clients")
