from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
from starlette.testclient import TestClient

from appliance.runtime import Appliance
from tests.conftest import Browser
from webui.app import create_app


def test_an_unknown_page_is_a_plain_404(signed_in: Callable[[str], Browser]) -> None:
    response = signed_in("alice").get("/no/such/page")
    assert response.status_code == 404 and "Not found" in response.text


def test_a_crash_shows_no_detail_and_logs_no_phi(
    appliance: Appliance,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def explode(*_args: object) -> None:
        raise RuntimeError("client Ophelia Marchbanks, DOB 1970-01-02")

    monkeypatch.setattr("webui.views.health._database_ok", explode)
    client = TestClient(
        create_app(appliance), base_url="https://testserver", raise_server_exceptions=False
    )
    with caplog.at_level(logging.DEBUG):
        response = client.get("/healthz")
    assert response.status_code == 500
    assert "Something went wrong" in response.text
    assert "Ophelia" not in response.text
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-frame-options"] == "DENY"
    assert "Ophelia" not in caplog.text and "RuntimeError" in caplog.text
    reference = response.headers["x-request-id"]
    assert reference in response.text and reference in caplog.text
