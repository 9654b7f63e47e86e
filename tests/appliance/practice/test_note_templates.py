"""Custom note templates in the service layer: who may manage them, what is checked, the audit."""

from __future__ import annotations

from dataclasses import asdict

import pytest
from sqlalchemy.exc import IntegrityError

from appliance import clock
from appliance.access import AccessDenied, NotFound
from appliance.audit.chain import EventData
from appliance.identity.accounts import actor_for
from appliance.models import NoteTemplate
from appliance.practice.note_templates import (
    TemplateInputError,
    create_template,
    get_template,
    list_templates,
    retire_template,
    update_template,
    validate,
)
from appliance.runtime import Appliance
from tests.conftest import People

SECTIONS = [
    ("Presenting concerns", "What brought the client in this week."),
    ("Interventions", "What the clinician did."),
    ("Homework", "What the client will practise."),
]


def _create(appliance: Appliance, people: People, title: str = "Intake follow-up") -> str:
    with appliance.unit_of_work() as db:
        return create_template(db, actor_for(people.dave), title, SECTIONS).id


@pytest.mark.parametrize(
    ("title", "rows", "message"),
    [
        ("", SECTIONS, "Title: give the template a name."),
        ("x" * 61, SECTIONS, "Title: at most 60 characters."),
        ("soap", SECTIONS, "Title: soap is a built-in format"),
        ("Brief", [], "Sections: give the template at least one section."),
        ("Brief", [("", ""), ("  ", " ")], "Sections: give the template at least one section."),
        ("Brief", [(f"Part {n}", "") for n in range(13)], "Sections: at most 12."),
        ("Brief", [("Plan", ""), ("", "orphan guidance")], "Section 2 title: give the section"),
        ("Brief", [("y" * 41, "")], "Section 1 title: at most 40 characters."),
        ("Brief", [("Plan", ""), ("PLAN", "")], "Section 2 title: section 1 already has"),
        ("Brief", [("Next step", ""), ("next-step", "")], "Section 2 title: section 1 already"),
        ("Brief", [("Goals", ""), ("Risk", "")], "Section 2 title: every note gets a Risk"),
        ("Brief", [(" risk ", "")], "Section 1 title: every note gets a Risk"),
        ("Brief", [("!!!", "")], "Section 1 title: use letters or digits."),
        ("Brief", [("Plan", "g" * 301)], "Section 1 guidance: at most 300 characters."),
    ],
)
def test_template_input_is_checked_with_a_message_naming_the_field(
    title: str, rows: list[tuple[str, str]], message: str
) -> None:
    with pytest.raises(TemplateInputError) as raised:
        validate(title, rows)
    assert str(raised.value).startswith(message)


def test_section_keys_come_from_titles_and_are_the_same_every_time() -> None:
    rows = [("Presenting concerns", ""), ("  Mood   &  Affect ", "Observed.")]
    title, sections = validate("  Weekly   check-in ", rows)
    assert title == "Weekly check-in"
    assert [(s.key, s.title) for s in sections] == [
        ("presenting_concerns", "Presenting concerns"),
        ("mood_affect", "Mood & Affect"),
    ]
    assert validate(title, rows) == (title, sections)


def test_limits_are_inclusive() -> None:
    rows = [(f"S{n} " + "y" * 36, "g" * 300) for n in range(12)]
    title, sections = validate("t" * 60, rows)
    assert len(title) == 60 and len(sections) == 12


def test_only_an_admin_creates_edits_or_retires(appliance: Appliance, people: People) -> None:
    template_id = _create(appliance, people)
    for persona in (people.alice, people.carol, people.erin):
        actor = actor_for(persona)
        with appliance.unit_of_work() as db:
            with pytest.raises(AccessDenied):
                create_template(db, actor, "Mine", SECTIONS)
            with pytest.raises(AccessDenied):
                update_template(db, actor, template_id, "Mine", SECTIONS)
            with pytest.raises(AccessDenied):
                retire_template(db, actor, template_id)
            with pytest.raises(AccessDenied):
                get_template(db, actor, template_id)
    with appliance.unit_of_work() as db:
        assert get_template(db, actor_for(people.dave), template_id).title == "Intake follow-up"


def test_an_unknown_template_is_not_found(appliance: Appliance, people: People) -> None:
    dave = actor_for(people.dave)
    with appliance.unit_of_work() as db:
        with pytest.raises(NotFound):
            update_template(db, dave, "0" * 32, "Title", SECTIONS)
        with pytest.raises(NotFound):
            retire_template(db, dave, "0" * 32)


def test_clinicians_list_active_templates_and_others_cannot(
    appliance: Appliance, people: People
) -> None:
    kept = _create(appliance, people, "Kept")
    gone = _create(appliance, people, "Gone")
    with appliance.unit_of_work() as db:
        retire_template(db, actor_for(people.dave), gone)
    with appliance.unit_of_work() as db:
        assert [t.id for t in list_templates(db, actor_for(people.alice))] == [kept]
        assert [t.id for t in list_templates(db, actor_for(people.dave))] == [kept, gone]
        for persona in (people.carol, people.erin):
            with pytest.raises(AccessDenied):
                list_templates(db, actor_for(persona))


def test_titles_are_unique_among_active_templates_ignoring_case(
    appliance: Appliance, people: People
) -> None:
    first = _create(appliance, people, "Couples")
    second = _create(appliance, people, "Family")
    dave = actor_for(people.dave)
    with appliance.unit_of_work() as db, pytest.raises(TemplateInputError, match="already called"):
        create_template(db, dave, "COUPLES", SECTIONS)
    with appliance.unit_of_work() as db, pytest.raises(TemplateInputError, match="already called"):
        update_template(db, dave, second, "couples", SECTIONS)
    with appliance.unit_of_work() as db:
        update_template(db, dave, first, "couples", SECTIONS)  # its own title, recased
        retire_template(db, dave, first)
    with appliance.unit_of_work() as db:
        assert create_template(db, dave, "Couples", SECTIONS).title == "Couples"


def test_the_database_refuses_two_active_templates_with_one_title(
    appliance: Appliance, people: People
) -> None:
    """The backstop for two admins saving at the same moment (the service check passed twice)."""
    _create(appliance, people, "Couples")
    now = clock.utcnow()
    duplicate = NoteTemplate(
        id="f" * 32,
        title="COUPLES",
        title_folded="couples",
        sections=[{"key": "plan", "title": "Plan", "guidance": ""}],
        created_by=people.dave.id or 0,
        created_at=now,
        updated_at=now,
    )
    with pytest.raises(IntegrityError), appliance.unit_of_work() as db:
        db.add(duplicate)
        db.flush()


def test_a_retired_template_is_not_edited(appliance: Appliance, people: People) -> None:
    template_id = _create(appliance, people)
    dave = actor_for(people.dave)
    with appliance.unit_of_work() as db:
        retire_template(db, dave, template_id)
    with appliance.unit_of_work() as db, pytest.raises(TemplateInputError, match="retired"):
        update_template(db, dave, template_id, "New name", SECTIONS)


def test_changes_are_audited_by_id_only(
    appliance: Appliance, people: People, audit_events: list[EventData]
) -> None:
    template_id = _create(appliance, people)
    dave = actor_for(people.dave)
    with appliance.unit_of_work() as db:
        update_template(db, dave, template_id, "Renamed", SECTIONS[:1])
    with appliance.unit_of_work() as db:
        retire_template(db, dave, template_id)
        retire_template(db, dave, template_id)  # already retired: nothing more to record
    with appliance.unit_of_work() as db, pytest.raises(AccessDenied):
        create_template(db, actor_for(people.alice), "Mine", SECTIONS)
    mine = [e for e in audit_events if e.action.startswith("template.")]
    assert [(e.action, e.outcome, e.actor_id) for e in mine] == [
        ("template.create", "allowed", people.dave.id),
        ("template.update", "allowed", people.dave.id),
        ("template.retire", "allowed", people.dave.id),
        ("template.create", "denied", people.alice.id),
    ]
    assert all(e.object_id == template_id for e in mine[:3])
    assert {e.object_type for e in mine[:3]} == {"note_template"}
    # Audit events carry ids and codes; what an admin typed stays out of them.
    recorded = " ".join(str(value) for e in mine for value in asdict(e).values())
    for typed in ("Intake", "Renamed", "Presenting", "clinician did"):
        assert typed not in recorded
