"""The admin's note template pages, and templates in the clinician's dictation pages."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlmodel import func, select

from appliance.drafting.draft import Draft
from appliance.jobs.dictation_stages import claim_next, process
from appliance.models import NoteTemplate
from appliance.runtime import Appliance
from tests.conftest import Browser
from tests.fake_llm import FakeLLM, fake_llm
from webui.views.dictations import RISK_LABEL, _section_titles

FORM = {
    "title": "Weekly check-in",
    "section_1_title": "Check-in",
    "section_1_guidance": "What the client reported about the week.",
    "section_2_title": "Homework",
    "section_2_guidance": "What the client will practise.",
}
TYPED = "Client reported poor sleep. Homework is a daily breathing log."


@pytest.fixture(scope="module")
def llm() -> Iterator[FakeLLM]:
    with fake_llm() as server:
        yield server


def _create(dave: Browser, **fields: str) -> str:
    response = dave.submit("/admin/templates", {**FORM, **fields}, "/admin/templates/new")
    assert response.status_code == 303, response.text
    listing = dave.get("/admin/templates").text
    ids = re.findall(r'href="/admin/templates/([0-9a-f]{32})"', listing)
    assert ids
    return ids[-1]


def _template_count(appliance: Appliance) -> int:
    with appliance.unit_of_work() as db:
        return int(db.exec(select(func.count()).select_from(NoteTemplate)).one())


def _submit(alice: Browser, client_id: str, note_format: str) -> Any:
    return alice.send_dictation(client_id, note_format=note_format, typed_text=TYPED)


def test_an_admin_adds_a_template_that_clinicians_can_choose(
    signed_in: Callable[[str], Browser],
) -> None:
    dave = signed_in("dave")
    listing = dave.get("/admin/templates").text
    assert 'href="/admin/templates"' in listing  # in the admin navigation
    assert "SOAP" in listing and "What the client reported, in their words." in listing
    template_id = _create(dave)
    listing = dave.get("/admin/templates?done=template_saved").text
    assert "Template saved." in listing
    assert "Weekly check-in" in listing and "What the client will practise." in listing
    alice = signed_in("alice")
    form = alice.get(f"/clients/{alice.add_client()}/dictations/new").text
    assert f'<option value="custom:{template_id}" >Weekly check-in</option>' in form
    assert form.index('value="girp"') < form.index(f'value="custom:{template_id}"')


def test_a_mistake_is_explained_and_what_was_typed_is_kept(
    signed_in: Callable[[str], Browser], appliance: Appliance
) -> None:
    dave = signed_in("dave")
    response = dave.submit(
        "/admin/templates",
        {**FORM, "section_3_title": "Risk", "section_3_guidance": "SI/HI"},
        "/admin/templates/new",
    )
    assert response.status_code == 400
    assert "Section 3 title: every note gets a Risk section" in response.text
    assert 'value="Weekly check-in"' in response.text
    assert 'value="Check-in"' in response.text
    assert ">What the client will practise.</textarea>" in response.text
    assert _template_count(appliance) == 0, "nothing half-saved"


def test_an_admin_edits_a_template(signed_in: Callable[[str], Browser]) -> None:
    dave = signed_in("dave")
    template_id = _create(dave)
    page = f"/admin/templates/{template_id}"
    form = dave.get(page).text
    assert 'value="Check-in"' in form and 'name="section_12_title"' in form
    response = dave.submit(page, {**FORM, "title": "Weekly review", "section_2_title": ""}, page)
    assert response.status_code == 400 and "Section 2 title: give the section" in response.text
    assert "Weekly check-in" in dave.get("/admin/templates").text, "unchanged after a mistake"
    response = dave.submit(page, {**FORM, "title": "Weekly review"}, page)
    assert response.status_code == 303
    listing = dave.get("/admin/templates").text
    assert "Weekly review" in listing and "Weekly check-in" not in listing


@pytest.mark.parametrize("persona", ["alice", "carol", "erin"])
def test_only_an_admin_manages_templates(
    persona: str, signed_in: Callable[[str], Browser], appliance: Appliance
) -> None:
    template_id = _create(signed_in("dave"))
    someone = signed_in(persona)
    token = someone.form_token("/account")
    for path in ("/admin/templates", "/admin/templates/new", f"/admin/templates/{template_id}"):
        assert someone.get(path, follow_redirects=False).status_code == 403
    for path in (
        "/admin/templates",
        f"/admin/templates/{template_id}",
        f"/admin/templates/{template_id}/retire",
    ):
        response = someone.post(path, data={"csrf_token": token, **FORM}, follow_redirects=False)
        assert response.status_code == 403
    assert _template_count(appliance) == 1
    assert "Weekly check-in" in signed_in("dave").get("/admin/templates").text


def test_an_unknown_template_is_not_found(signed_in: Callable[[str], Browser]) -> None:
    dave = signed_in("dave")
    missing = "/admin/templates/" + "0" * 32
    assert dave.get(missing).status_code == 404
    assert dave.submit(missing, FORM, "/admin/templates").status_code == 404
    assert dave.submit(f"{missing}/retire", {}, "/admin/templates").status_code == 404


def test_template_text_is_escaped(signed_in: Callable[[str], Browser]) -> None:
    dave = signed_in("dave")
    _create(dave, title="<b>Bold</b>", section_1_guidance='"><script>x()</script>')
    listing = dave.get("/admin/templates").text
    assert "&lt;b&gt;Bold&lt;/b&gt;" in listing and "<b>Bold</b>" not in listing
    assert "<script>x()" not in listing


def test_a_retired_template_leaves_the_form_but_its_dictations_still_render(
    signed_in: Callable[[str], Browser],
    appliance: Appliance,
    llm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    update = {"llm_url": llm.base_url}
    monkeypatch.setattr(appliance, "settings", appliance.settings.model_copy(update=update))
    dave = signed_in("dave")
    template_id = _create(dave)
    alice = signed_in("alice")
    client_id = alice.add_client()
    location = _submit(alice, client_id, f"custom:{template_id}").headers["location"]
    dictation_id = location.rsplit("/", 1)[1]
    assert claim_next(appliance) == dictation_id
    process(appliance, dictation_id)

    listing = dave.get("/admin/templates").text
    assert f'action="/admin/templates/{template_id}/retire"' in listing
    assert "data-confirm=" in listing
    retired = dave.submit(f"/admin/templates/{template_id}/retire", {}, "/admin/templates")
    assert retired.status_code == 303
    assert "Retired templates" in dave.get("/admin/templates").text
    edited = dave.submit(f"/admin/templates/{template_id}", FORM, "/admin/templates")
    assert edited.status_code == 400 and "it can no longer be changed" in edited.text

    form = alice.get(f"/clients/{client_id}/dictations/new").text
    assert template_id not in form and "Weekly check-in" not in form
    refused = _submit(alice, client_id, f"custom:{template_id}")
    assert refused.status_code == 400
    assert "no longer offered" in refused.text

    note = re.search(r'href="(/notes/[0-9a-f]{32})"', alice.get(location).text)
    assert note is not None
    page = alice.get(note.group(1)).text
    assert "Weekly check-in note, session of" in page
    assert "<h3>Check-in</h3>" in page and "<h3>Homework</h3>" in page
    assert f"<h3>{RISK_LABEL}</h3>" in page
    assert "Homework is a daily breathing log." in page
    assert "Weekly check-in" in alice.get(f"/clients/{client_id}").text


def test_drafts_made_before_section_titles_use_the_builtin_titles() -> None:
    old = {"sections": {"behavior": [], "risk": []}, "format": "birp", "modality": "cbt"}
    titles = _section_titles(Draft.from_json(old))
    assert titles["behavior"] == "Behavior" and titles["risk"] == RISK_LABEL
    custom = {**old, "section_titles": {"behavior": "Conduct", "risk": "Risk"}}
    assert _section_titles(Draft.from_json(custom))["behavior"] == "Conduct"
