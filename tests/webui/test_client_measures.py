"""The client page's "Measures over time": the chart and its table for whoever may read the
client, nothing for anyone else, under the page's Content-Security-Policy."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from appliance.audit.chain import EventData
from appliance.identity import accounts
from appliance.notes.measure_history import ACTION
from appliance.runtime import Appliance
from tests.appliance.notes.measured_sessions import (
    PLOTTED,
    PLOTTED_SIGNED,
    MeasuredClient,
    six_sessions,
)
from tests.conftest import Browser, People


@pytest.fixture
def measured(appliance: Appliance, people: People) -> MeasuredClient:
    return six_sessions(appliance, accounts.actor_for(people.alice))


def chart_of(page: str) -> str:
    found = re.search(r"<svg role=\"img\".*?</svg>", page, re.DOTALL)
    assert found, "no chart on the page"
    return found.group(0)


def test_alices_client_page_draws_every_value_signed_filled_and_drafts_hollow(
    signed_in: Callable[[str], Browser], measured: MeasuredClient
) -> None:
    page = signed_in("alice").get(f"/clients/{measured.client_id}")
    assert page.status_code == 200
    chart = chart_of(page.text)
    circles = re.findall(r"<circle class=\"point series-(\w+) (signed|draft)\"", chart)
    assert len(circles) == PLOTTED
    assert sum(state == "signed" for _, state in circles) == PLOTTED_SIGNED
    assert {series for series, _ in circles} == {"phq_9", "gad_7", "sud_start", "sud_end"}
    assert "PHQ-9 19, " + measured.days[0].isoformat() + ", signed" in chart
    assert "SUD at end 1, " + measured.days[5].isoformat() + ", draft, not signed" in chart


def test_the_table_under_the_chart_lists_each_session_and_what_was_left_out(
    signed_in: Callable[[str], Browser], measured: MeasuredClient
) -> None:
    page = signed_in("alice").get(f"/clients/{measured.client_id}").text
    table = re.search(r"<table class=\"measures\">.*?</table>", page, re.DOTALL)
    assert table
    rows = re.findall(r"<tr class=\"(signed|draft)\"><th scope=\"row\">([\d-]+)</th>", table[0])
    assert rows == [
        ("signed" if i < 4 else "draft", day.isoformat()) for i, day in enumerate(measured.days)
    ]
    # The fourth session measured no GAD-7: a gap, not a zero.
    fourth = table[0].split("<tr ")[4]
    assert re.findall(r"<td>(?:<span class=\"hint\">)?([^<]*)", fourth)[:4] == ["13", "—", "6", "3"]
    assert f"{measured.days[2].isoformat()} (signed): PHQ-9 “31”, outside the scale" in page


def test_carol_sees_her_supervisees_clients_chart(
    signed_in: Callable[[str], Browser], measured: MeasuredClient
) -> None:
    page = signed_in("carol").get(f"/clients/{measured.client_id}")
    assert page.status_code == 200
    assert chart_of(page.text).count("<circle") == PLOTTED


def test_bob_gets_404_and_no_measure_is_read_for_him(
    signed_in: Callable[[str], Browser],
    measured: MeasuredClient,
    people: People,
    audit_events: list[EventData],
) -> None:
    bob = signed_in("bob")
    audit_events.clear()
    page = bob.get(f"/clients/{measured.client_id}")
    assert page.status_code == 404
    assert "<svg" not in page.text and "PHQ-9" not in page.text
    assert [e for e in audit_events if e.action == ACTION] == []


def test_each_view_of_the_page_is_one_measures_event(
    signed_in: Callable[[str], Browser], measured: MeasuredClient, audit_events: list[EventData]
) -> None:
    alice = signed_in("alice")
    audit_events.clear()
    alice.get(f"/clients/{measured.client_id}")
    reads = [e for e in audit_events if e.action == ACTION]
    assert [(e.object_id, e.reason) for e in reads] == [(measured.client_id, None)]


def test_the_chart_needs_neither_script_nor_inline_style_under_the_csp(
    signed_in: Callable[[str], Browser], measured: MeasuredClient
) -> None:
    page = signed_in("alice").get(f"/clients/{measured.client_id}")
    policy = page.headers["content-security-policy"]
    assert "style-src 'self'" in policy and "unsafe-inline" not in policy
    section = re.search(
        r"<section class=\"card\" id=\"measures\".*?</section>", page.text, re.DOTALL
    )
    assert section
    assert not re.search(r"<script|style=|\son\w+=|https?://", section[0])
