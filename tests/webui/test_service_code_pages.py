"""The service codes list on the admin settings page, and what clinicians see of it."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from sqlmodel import func, select

from appliance.models import Dictation
from appliance.practice.preferences import service_codes
from appliance.runtime import Appliance
from tests.conftest import Browser

SIX = [
    ("90832", "Psychotherapy, 30 min"),
    ("90834", "Psychotherapy, 45 min"),
    ("90837", "Psychotherapy, 60 min"),
    ("90846", "Family psychotherapy without the client"),
    ("90847", "Family psychotherapy with the client"),
    ("90853", "Group psychotherapy"),
]
CRISIS = ("90839", "Psychotherapy for crisis, first 60 min")
CRISIS_OPTION = re.compile(r'<option value="90839"[^>]*>90839 · Psychotherapy for crisis')


def _save_codes(dave: Browser, rows: list[tuple[str, str]]) -> Any:
    fields = {}
    for n, (code, label) in enumerate(rows, start=1):
        fields[f"code_{n}"], fields[f"label_{n}"] = code, label
    return dave.submit("/admin/settings/service-codes", fields, "/admin/settings")


def _dictate(alice: Browser, client_id: str, service_code: str) -> Any:
    return alice.send_dictation(
        client_id, service_code=service_code, typed_text="Reviewed the week."
    )


def _stored(appliance: Appliance) -> list[tuple[str, str]]:
    with appliance.unit_of_work() as db:
        return list(service_codes(db).items())


def _dictation_count(appliance: Appliance) -> int:
    with appliance.unit_of_work() as db:
        return int(db.exec(select(func.count()).select_from(Dictation)).one())


def test_the_settings_page_and_the_dictation_form_offer_the_six_default_codes(
    signed_in: Callable[[str], Browser],
) -> None:
    settings_page = signed_in("dave").get("/admin/settings").text
    alice = signed_in("alice")
    form = alice.get(f"/clients/{alice.add_client()}/dictations/new").text
    for n, (code, label) in enumerate(SIX, start=1):
        assert f'name="code_{n}" value="{code}"' in settings_page
        assert f'name="label_{n}" value="{label}"' in settings_page
        assert f"{code} · {label}</option>" in form
    assert 'name="code_9" value=""' in settings_page  # spare rows for adding codes
    assert form.count('<option value="9') == len(SIX)


def test_a_code_dave_adds_can_be_chosen_by_alice(
    signed_in: Callable[[str], Browser], appliance: Appliance
) -> None:
    saved = _save_codes(signed_in("dave"), [*SIX, CRISIS])
    assert saved.status_code == 303
    assert "Service codes saved" in signed_in("dave").get(saved.headers["location"]).text
    assert _stored(appliance) == [*SIX, CRISIS]

    alice = signed_in("alice")
    client_id = alice.add_client()
    assert CRISIS_OPTION.search(alice.get(f"/clients/{client_id}/dictations/new").text)
    submitted = _dictate(alice, client_id, "90839")
    assert submitted.status_code == 303
    page = alice.get(submitted.headers["location"]).text
    assert "90839 · Psychotherapy for crisis, first 60 min, 50 min" in page


def test_a_removed_code_is_refused_for_new_dictations_while_old_ones_still_render(
    signed_in: Callable[[str], Browser], appliance: Appliance
) -> None:
    dave = signed_in("dave")
    _save_codes(dave, [*SIX, CRISIS])
    alice = signed_in("alice")
    client_id = alice.add_client()
    earlier = _dictate(alice, client_id, "90839").headers["location"]

    assert _save_codes(dave, SIX).status_code == 303  # the crisis row emptied: removed
    form = alice.get(f"/clients/{client_id}/dictations/new").text
    assert not CRISIS_OPTION.search(form)
    # Alice last used 90839; the form falls back to a code the practice still offers.
    assert '<option value="90834" selected>' in form

    refused = _dictate(alice, client_id, "90839")
    assert refused.status_code == 400
    assert "Service code: that code is not on the practice&#39;s list" in refused.text
    assert _dictation_count(appliance) == 1

    for reader in (alice, signed_in("carol")):
        page = reader.get(earlier)
        assert page.status_code == 200
        assert "<dd>90839, 50 min</dd>" in page.text  # the code, without a label to look up


@pytest.mark.parametrize(
    ("rows", "field", "message", "kept_input"),
    [
        ([*SIX, ("90834", "Psychotherapy again")], "code_7", "90834 is already in row 2", ""),
        ([*SIX, ("9083!", "Crisis")], "code_7", "4 to 8 letters or digits", 'value="9083!"'),
        ([*SIX, ("90839", "")], "label_7", "Row 7: give a label for this code", ""),
        ([("", "")] * 4, None, "Keep at least one service code", ""),
    ],
    ids=["duplicate code", "bad characters", "empty label", "all rows empty"],
)
def test_bad_rows_show_what_is_wrong_and_save_nothing(
    signed_in: Callable[[str], Browser],
    appliance: Appliance,
    rows: list[tuple[str, str]],
    field: str | None,
    message: str,
    kept_input: str,
) -> None:
    response = _save_codes(signed_in("dave"), rows)
    assert response.status_code == 400
    page = response.text
    assert "Nothing was saved." in page and message in page
    if field is not None:
        # The message sits with its field, and the row is as the admin typed it.
        assert f'name="{field}"' in page
        assert re.search(rf'id="{field}-problem">[^<]*{re.escape(message)}', page)
        assert f'aria-describedby="{field}-problem"' in page
        assert 'name="label_7" value="' + rows[6][1] + '"' in page
    assert kept_input in page
    assert _stored(appliance) == SIX


@pytest.mark.parametrize("persona", ["alice", "carol", "erin"])
def test_only_an_admin_can_change_the_list(
    signed_in: Callable[[str], Browser], appliance: Appliance, persona: str
) -> None:
    who = signed_in(persona)
    token = who.form_token("/account")
    response = who.post(
        "/admin/settings/service-codes",
        data={"csrf_token": token, "code_1": "90839", "label_1": "Crisis"},
        follow_redirects=False,
    )
    assert response.status_code == 403
    assert _stored(appliance) == SIX
