from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from httpx2 import Response  # what Starlette's TestClient returns
from starlette.testclient import TestClient

from appliance.audit.verification import verify_and_record
from appliance.runtime import Appliance
from tests.conftest import Browser, People
from webui.app import create_app


def _scrape(appliance: Appliance, client: tuple[str, int], token: str = "") -> Response:
    app = create_app(appliance)
    headers = {"authorization": f"Bearer {token}"} if token else {}
    with TestClient(app, base_url="https://testserver", client=client) as http:
        return http.get("/metrics", headers=headers)


def test_metrics_answer_on_loopback(appliance: Appliance) -> None:
    response = _scrape(appliance, ("127.0.0.1", 40000))
    assert response.status_code == 200
    assert "appliance_login_failures_total" in response.text


def test_metrics_refuse_other_hosts_without_the_token(appliance: Appliance) -> None:
    assert _scrape(appliance, ("192.0.2.10", 40000)).status_code == 403


def test_metrics_accept_the_configured_bearer_token(
    appliance: Appliance, monkeypatch: pytest.MonkeyPatch
) -> None:
    guarded = appliance.settings.model_copy(update={"metrics_token": "s3cret-scrape-token"})
    monkeypatch.setattr(appliance, "settings", guarded)
    remote = ("192.0.2.10", 40000)
    assert _scrape(appliance, remote, "s3cret-scrape-token").status_code == 200
    assert _scrape(appliance, remote, "wrong").status_code == 403


def test_chain_health_comes_from_the_newest_verification(appliance: Appliance) -> None:
    loopback = ("127.0.0.1", 40000)
    never = _scrape(appliance, loopback).text
    assert re.search(r"^appliance_audit_chain_ok 0\.0$", never, re.M)
    assert re.search(r"^appliance_audit_last_verified_timestamp_seconds 0\.0$", never, re.M)
    verify_and_record(appliance.engine, appliance.keys.audit)
    after = _scrape(appliance, loopback).text
    assert re.search(r"^appliance_audit_chain_ok 1\.0$", after, re.M)
    stamp = re.search(r"^appliance_audit_last_verified_timestamp_seconds (\S+)$", after, re.M)
    assert stamp and float(stamp.group(1)) > 1.7e9
    with appliance.engine.begin() as connection:
        connection.exec_driver_sql("UPDATE audit_events SET actor_id = 99 WHERE seq = 1")
    verify_and_record(appliance.engine, appliance.keys.audit)
    broken = _scrape(appliance, loopback).text
    assert re.search(r"^appliance_audit_chain_ok 0\.0$", broken, re.M)


def test_labels_carry_route_templates_and_no_names(
    appliance: Appliance, signed_in: Callable[[str], Browser], people: People
) -> None:
    alice = signed_in("alice")
    response = alice.submit(
        "/clients",
        {"display_name": "Zed Q", "external_id": "", "date_of_birth": ""},
        "/clients/new",
    )
    alice.get(response.headers["location"])
    text = _scrape(appliance, ("127.0.0.1", 40000)).text
    assert 'route="/clients/{client_id}"' in text
    assert "Zed" not in text and "alice" not in text
    client_id = response.headers["location"].split("/")[2].split("?")[0]
    assert client_id not in text
    assert re.search(
        r'appliance_audit_events_total\{action="client.view",outcome="allowed"\}', text
    )


def test_job_metrics_report_queue_depth_and_age(
    appliance: Appliance, people: People, frozen_clock: object
) -> None:
    from tests.conftest import submit_dictation

    wav = (Path(__file__).resolve().parents[1] / "fixtures/audio/hello.wav").read_bytes()
    submit_dictation(appliance, people, audio=wav)
    frozen_clock.advance(seconds=90)  # type: ignore[attr-defined]
    text = _scrape(appliance, ("127.0.0.1", 40000)).text
    assert re.search(r'^appliance_jobs\{state="queued"\} 1\.0$', text, re.M)
    assert re.search(r"^appliance_job_queue_depth 1\.0$", text, re.M)
    age = re.search(r"^appliance_job_oldest_queued_age_seconds (\S+)$", text, re.M)
    assert age and 89 <= float(age.group(1)) <= 95


def test_note_metrics_count_states_and_overdue_drafts(appliance: Appliance, people: People) -> None:
    from tests.appliance.notes.conftest import draft_note

    draft_note(appliance, people, session_date="2026-11-01")
    draft_note(appliance, people)
    body = _scrape(appliance, ("127.0.0.1", 5000)).text
    assert 'appliance_notes{state="draft"} 2.0' in body
    assert 'appliance_notes{state="final"} 0.0' in body
    assert "appliance_notes_overdue 1.0" in body
