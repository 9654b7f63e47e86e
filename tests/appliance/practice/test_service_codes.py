"""The practice's service codes: the defaults, what an admin may store, who may, and the audit."""

from __future__ import annotations

from dataclasses import asdict

import pytest

from appliance.access import AccessDenied
from appliance.audit.chain import EventData
from appliance.identity.accounts import actor_for
from appliance.practice.preferences import service_codes, set_service_codes
from appliance.practice.service_codes import (
    DEFAULT_SERVICE_CODES,
    MAX_CODES,
    MAX_LABEL,
    ServiceCodesInvalid,
    parse_service_codes,
)
from appliance.records.dictations import DictationInputError, parse_details
from appliance.runtime import Appliance
from tests.conftest import People

CRISIS = ("90839", "Psychotherapy for crisis, first 60 min")
SIX = [
    ("90832", "Psychotherapy, 30 min"),
    ("90834", "Psychotherapy, 45 min"),
    ("90837", "Psychotherapy, 60 min"),
    ("90846", "Family psychotherapy without the client"),
    ("90847", "Family psychotherapy with the client"),
    ("90853", "Group psychotherapy"),
]


def test_the_default_list_is_the_six_cpt_psychotherapy_codes(appliance: Appliance) -> None:
    with appliance.unit_of_work() as db:
        assert list(service_codes(db).items()) == SIX
    assert list(DEFAULT_SERVICE_CODES.items()) == SIX


def test_an_admins_list_is_stored_in_their_order_with_codes_upper_cased(
    appliance: Appliance, people: People
) -> None:
    rows = [CRISIS, (" h0004 ", " Behavioral health counseling, 15 min "), ("", ""), SIX[0]]
    with appliance.unit_of_work() as db:
        set_service_codes(db, rows, by=actor_for(people.dave))
    with appliance.unit_of_work() as db:
        assert list(service_codes(db).items()) == [
            CRISIS,
            ("H0004", "Behavioral health counseling, 15 min"),
            SIX[0],
        ]


def test_the_longest_list_allowed_fits_in_the_database(
    appliance: Appliance, people: People
) -> None:
    # 30 codes with 60-character labels: several kilobytes of JSON (the column was 255 wide).
    rows = [(f"L{n:07d}", "é" * MAX_LABEL) for n in range(MAX_CODES)]
    with appliance.unit_of_work() as db:
        set_service_codes(db, rows, by=actor_for(people.dave))
    with appliance.unit_of_work() as db:
        assert list(service_codes(db).items()) == rows


@pytest.mark.parametrize(
    ("rows", "field", "message"),
    [
        ([SIX[0], ("90832", "Again")], "code_2", "90832 is already in row 1"),
        ([SIX[0], ("90832 ", "Again")], "code_2", "already in row 1"),  # spaces do not hide it
        ([SIX[0], ("h0004", "HCPCS"), ("H0004", "Again")], "code_3", "already in row 2"),
        ([("908-34", "Psychotherapy")], "code_1", "letters or digits"),
        ([("908", "Psychotherapy")], "code_1", "4 to 8"),
        ([("123456789", "Psychotherapy")], "code_1", "4 to 8"),
        ([SIX[0], ("90834", "  ")], "label_2", "Row 2: give a label"),
        ([("", "A label without its code")], "code_1", "give the code"),
        ([("90834", "x" * (MAX_LABEL + 1))], "label_1", f"at most {MAX_LABEL}"),
        ([("90834", "Two\nlines")], "label_1", "one line"),
        ([("", ""), ("  ", "")], "list", "at least one"),
        ([(f"C{n:04d}", "Local") for n in range(MAX_CODES + 1)], "list", f"At most {MAX_CODES}"),
    ],
)
def test_bad_rows_are_refused_naming_the_field(
    rows: list[tuple[str, str]], field: str, message: str
) -> None:
    with pytest.raises(ServiceCodesInvalid) as refused:
        parse_service_codes(rows)
    assert message in refused.value.problems[field]


def test_a_refused_list_leaves_the_stored_one_unchanged(
    appliance: Appliance, people: People
) -> None:
    with appliance.unit_of_work() as db, pytest.raises(ServiceCodesInvalid):
        set_service_codes(db, [CRISIS, ("9083!", "Bad")], by=actor_for(people.dave))
    with appliance.unit_of_work() as db:
        assert list(service_codes(db).items()) == SIX


@pytest.mark.parametrize("persona", ["alice", "carol", "erin"])
def test_only_an_admin_changes_the_list(appliance: Appliance, people: People, persona: str) -> None:
    with appliance.unit_of_work() as db, pytest.raises(AccessDenied):
        set_service_codes(db, [CRISIS], by=actor_for(getattr(people, persona)))
    with appliance.unit_of_work() as db:
        assert list(service_codes(db).items()) == SIX


def test_a_change_is_audited_without_the_codes_or_labels(
    appliance: Appliance, people: People, audit_events: list[EventData]
) -> None:
    with appliance.unit_of_work() as db:
        set_service_codes(db, [*SIX, CRISIS], by=actor_for(people.dave))
    with appliance.unit_of_work() as db, pytest.raises(AccessDenied):
        set_service_codes(db, [CRISIS], by=actor_for(people.alice))
    mine = [e for e in audit_events if e.action == "settings.change"]
    assert [(e.outcome, e.actor_id, e.object_id) for e in mine] == [
        ("allowed", people.dave.id, "service_codes"),
        ("denied", people.alice.id, None),
    ]
    recorded = " ".join(str(value) for e in mine for value in asdict(e).values())
    assert "90839" not in recorded and "crisis" not in recorded


def test_a_dictation_is_checked_against_the_list_it_is_given() -> None:
    practice = dict([CRISIS])
    details = parse_details("2026-11-20", "", "50", "90839", "cbt", "soap", service_codes=practice)
    assert details.service_code == "90839"
    with pytest.raises(DictationInputError, match="not on the practice's list"):
        parse_details("2026-11-20", "", "50", "90834", "cbt", "soap", service_codes=practice)
