"""`appliance serve` as a real process on loopback: what `make run` starts."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.served_app import LoopbackBrowser, Served, serve_appliance

CLIENT_NAME = "Ophelia Marchbanks"
PASSWORD = "quiet-harbour-lantern-47"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    with serve_appliance(tmp_path) as running:
        yield running


@pytest.fixture
def open_browser(served: Served) -> Iterator[Callable[[], LoopbackBrowser]]:
    opened: list[LoopbackBrowser] = []

    def make() -> LoopbackBrowser:
        opened.append(LoopbackBrowser(served.base))
        return opened[-1]

    yield make
    for browser in opened:
        browser.http.close()


def test_a_new_user_sets_up_the_appliance_end_to_end(
    served: Served, open_browser: Callable[[], LoopbackBrowser]
) -> None:
    admin = open_browser()
    response = admin.post(
        served.setup_path,
        {"username": "root", "password": PASSWORD, "password_again": PASSWORD},
        page=served.setup_path,
    )
    assert response.headers["location"] == "/login?done=setup_done"
    assert (
        admin.post("/login", {"username": "root", "password": PASSWORD}, "/login").status_code
        == 303
    )
    created = admin.post(
        "/admin/users", {"username": "alice", "role": "clinician"}, "/admin/users/new"
    )
    link = re.search(r"http://127\.0\.0\.1:\d+(/setup/[\w-]+)", created.text)
    assert link

    alice = open_browser()
    alice.post(
        link.group(1), {"password": PASSWORD + "x", "password_again": PASSWORD + "x"}, link.group(1)
    )
    assert (
        alice.post(
            "/login", {"username": "alice", "password": PASSWORD + "x"}, "/login"
        ).status_code
        == 303
    )
    added = alice.post(
        "/clients",
        {"display_name": CLIENT_NAME, "external_id": "MRN-5521", "date_of_birth": "1970-01-02"},
        "/clients/new",
    )
    assert added.status_code == 303
    assert CLIENT_NAME in alice.get("/clients").text

    metrics = alice.get("/metrics").text  # the test client is on loopback
    assert re.search(r"^appliance_audit_chain_ok 1\.0$", metrics, re.M), "startup verification"

    served.process.terminate()
    served.process.wait(timeout=10)
    log = served.log.read_text()
    audit_lines = [
        json.loads(line.split("appliance.audit ", 1)[1])
        for line in log.splitlines()
        if " appliance.audit {" in line
    ]
    actions = {event["action"] for event in audit_lines}
    assert {"auth.login", "user.create", "client.create", "audit.verify"} <= actions
    assert "appliance ready: http://127.0.0.1:" in log
    assert "GET /clients/{client_id}" in log or "POST /clients" in log
    for secret in (
        CLIENT_NAME,
        "MRN-5521",
        "1970-01-02",
        PASSWORD,
        served.setup_path,
        link.group(1),
    ):
        assert secret not in log, f"{secret!r} leaked into the server log"
