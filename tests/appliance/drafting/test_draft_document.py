"""The typed draft: stable ids, flags that name their statement, and the stored JSON round trip."""

from __future__ import annotations

import json

from appliance.drafting.draft import RISK, Draft, build_draft

TEXT = (
    "Client reported a PHQ-9 of 40 this week. We practiced paced breathing. "
    "Plan is to meet weekly. The client dies suicidal ideation."
)


def test_statements_are_numbered_in_dictation_order_whatever_their_section() -> None:
    draft = build_draft(TEXT, "cbt", "soap")
    by_text = {s.text: s.id for _, s in draft.statements()}
    assert sorted(by_text.values()) == ["s1", "s2", "s3", "s4"]
    assert by_text["Client reported a PHQ-9 of 40 this week."] == "s1"
    assert by_text["The client dies suicidal ideation."] == "s4"


def test_each_flag_has_an_id_and_names_the_statement_it_concerns() -> None:
    draft = build_draft(TEXT, "cbt", "soap")
    flags = {f.code: f for f in draft.flags}
    assert [f.id for f in draft.flags] == [f"f{n}" for n in range(1, len(draft.flags) + 1)]
    assert flags["implausible_score"].statement == "s1"  # PHQ-9 tops out at 27
    assert flags["risk_polarity_unclear"].statement == "s4"
    assert flags["risk_polarity_unclear"].section == RISK


def test_a_flag_about_the_whole_note_names_no_statement() -> None:
    draft = build_draft("We practiced paced breathing.", "cbt", "soap")
    (flag,) = [f for f in draft.flags if f.code == "risk_not_addressed"]
    assert flag.statement is None


def test_a_draft_survives_its_json_unchanged() -> None:
    draft = build_draft(TEXT, "cbt", "birp")
    stored = json.loads(json.dumps(draft.as_json()))
    assert Draft.from_json(stored) == draft


def test_a_stored_draft_without_its_transcript_takes_the_one_given() -> None:
    document = build_draft(TEXT, "cbt", "soap").as_json()
    del document["transcript"]  # as the dictation job stores it
    assert Draft.from_json(document, TEXT).transcript == TEXT


def test_a_draft_stored_before_ids_gets_them_in_page_order() -> None:
    document = build_draft(TEXT, "cbt", "soap").as_json()
    for statements in document["sections"].values():
        for statement in statements:
            del statement["id"]
    for flag in document["flags"]:
        del flag["id"], flag["statement"]
    old = Draft.from_json(document)
    in_page_order = [s.id for _, s in old.statements()]
    assert in_page_order == [f"s{n}" for n in range(1, len(in_page_order) + 1)]
    assert [f.id for f in old.flags] == [f"f{n}" for n in range(1, len(old.flags) + 1)]
    assert all(f.statement is None for f in old.flags)


def test_a_draft_stored_before_titles_takes_the_built_in_formats_titles() -> None:
    document = build_draft(TEXT, "cbt", "girp").as_json()
    del document["section_titles"]
    old = Draft.from_json(document)
    assert old.title_of("goals") == "Goals"
    assert old.title_of(RISK) == "Risk"
    assert old.title_of("an_unknown_key") == "An unknown key"
