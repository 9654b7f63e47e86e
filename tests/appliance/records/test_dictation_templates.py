"""Dictations submitted with a custom template: drafted from the template as it was submitted."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlmodel import select

from appliance.identity.accounts import actor_for
from appliance.jobs.dictation_stages import claim_next, process
from appliance.models import Dictation
from appliance.practice.note_templates import (
    TemplateView,
    create_template,
    retire_template,
    update_template,
)
from appliance.records.dictations import DictationInputError, DictationView, State, get_dictation
from appliance.runtime import Appliance
from tests.conftest import People, form_details, submit_dictation
from tests.fake_llm import FakeLLM, fake_llm

TYPED = (
    "Client reported poor sleep since last session. We practiced paced breathing. "
    "Homework is a daily breathing log. She denied suicidal ideation."
)
SECTIONS = [
    ("Check-in", "What the client reported about the week."),
    ("Interventions", "What the clinician did."),
    ("Homework", "What the client will practise."),
]


@pytest.fixture(scope="module")
def llm() -> Iterator[FakeLLM]:
    with fake_llm() as server:
        yield server


@pytest.fixture
def wired(appliance: Appliance, llm: FakeLLM, monkeypatch: pytest.MonkeyPatch) -> Appliance:
    update = {"llm_url": llm.base_url}
    monkeypatch.setattr(appliance, "settings", appliance.settings.model_copy(update=update))
    return appliance


def _template(appliance: Appliance, people: People) -> TemplateView:
    with appliance.unit_of_work() as db:
        return create_template(db, actor_for(people.dave), "Weekly check-in", SECTIONS)


def _drafted(appliance: Appliance, people: People, dictation_id: str) -> DictationView:
    assert claim_next(appliance) == dictation_id
    process(appliance, dictation_id)
    with appliance.unit_of_work() as db:
        view = get_dictation(db, appliance.keys, actor_for(people.alice), dictation_id)
    assert view.state == State.READY and view.draft is not None
    return view


def test_a_dictation_with_a_template_is_drafted_into_its_sections_plus_risk(
    wired: Appliance, people: People, llm: FakeLLM
) -> None:
    template = _template(wired, people)
    dictation_id = submit_dictation(
        wired, people, typed_text=TYPED, note_format=template.format_key
    )
    view = _drafted(wired, people, dictation_id)
    assert view.draft is not None
    sections = view.draft.sections
    assert list(sections) == ["check_in", "interventions", "homework", "risk"]
    assert [s.text for s in sections["interventions"]] == ["We practiced paced breathing."]
    assert [s.text for s in sections["homework"]] == ["Homework is a daily breathing log."]
    assert [s.text for s in sections["risk"]] == ["She denied suicidal ideation."]
    assert view.draft.title_of("check_in") == "Check-in"
    assert view.draft.note_format == template.format_key
    assert view.format_title == "Weekly check-in"
    # The model was offered the template's sections with the admin's guidance.
    offered = llm.requests[-1]["messages"][0]["content"]
    assert "check_in: What the client reported about the week." in offered


def test_editing_the_template_after_submission_does_not_change_the_dictation(
    wired: Appliance, people: People
) -> None:
    template = _template(wired, people)
    dictation_id = submit_dictation(
        wired, people, typed_text=TYPED, note_format=template.format_key
    )
    with wired.unit_of_work() as db:
        update_template(
            db, actor_for(people.dave), template.id, "Renamed", [("Summary", "Everything.")]
        )
    view = _drafted(wired, people, dictation_id)  # drafted after the edit
    assert view.draft is not None
    assert list(view.draft.sections) == ["check_in", "interventions", "homework", "risk"]
    assert view.draft.title_of("homework") == "Homework"
    assert view.format_title == "Weekly check-in"


def test_a_retired_template_is_not_offered_but_its_dictations_are_still_drafted(
    wired: Appliance, people: People
) -> None:
    template = _template(wired, people)
    dictation_id = submit_dictation(
        wired, people, typed_text=TYPED, note_format=template.format_key
    )
    with wired.unit_of_work() as db:
        retire_template(db, actor_for(people.dave), template.id)
    with pytest.raises(DictationInputError, match="no longer offered"):
        submit_dictation(wired, people, typed_text=TYPED, note_format=template.format_key)
    view = _drafted(wired, people, dictation_id)
    assert view.draft is not None and "homework" in view.draft.sections


def test_an_unknown_template_cannot_be_chosen(appliance: Appliance, people: People) -> None:
    with pytest.raises(DictationInputError, match="Note format"):
        submit_dictation(appliance, people, typed_text=TYPED, note_format="custom:" + "0" * 32)
    with pytest.raises(DictationInputError, match="Note format"):
        form_details(note_format="custom:../../etc")
    with appliance.unit_of_work() as db:
        assert db.exec(select(Dictation)).all() == [], "nothing stored"


def test_a_builtin_format_keeps_no_template_copy(wired: Appliance, people: People) -> None:
    dictation_id = submit_dictation(wired, people, typed_text=TYPED)
    view = _drafted(wired, people, dictation_id)
    with wired.unit_of_work() as db:
        row = db.get(Dictation, dictation_id)
    assert row is not None and row.template_snapshot is None
    assert view.draft is not None
    assert list(view.draft.sections) == ["subjective", "objective", "assessment", "plan", "risk"]
    assert view.format_title == "SOAP"
