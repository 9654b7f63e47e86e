"""Suggested corrections on the review page over HTTP: one form per suggestion (no script
needed), accepted by its clinician only, the statement still citing its dictation."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from appliance.runtime import Appliance
from tests.appliance.notes.misheard_note import MISHEARD, misheard_note
from tests.conftest import Browser, People

FORM = re.compile(
    r'<form method="post" action="(/notes/\w+/suggestions)" id="([\w-]+)"(.*?)</form>', re.S
)
FIELD = re.compile(r'name="(\w+)" value="([^"]*)"')


def _suggestion_forms(page: str) -> dict[str, dict[str, str]]:
    """Each suggestion's form by the words it replaces, its fields as the browser posts them."""
    forms = {}
    for action, form_id, inner in FORM.findall(page):
        fields = {name: html.unescape(value) for name, value in FIELD.findall(inner)}
        forms[fields["heard"]] = {"action": action, "id": form_id, **fields}
    return forms


def _post(browser: Browser, form: dict[str, str]) -> object:
    fields = {k: v for k, v in form.items() if k not in {"action", "id"}}
    return browser.post(form["action"], data=fields, follow_redirects=False)


def test_the_page_offers_each_suggestion_as_a_button_that_says_what_it_does(
    appliance: Appliance, people: People, signed_in: Callable[[str], Browser]
) -> None:
    note_id = misheard_note(appliance, people)
    page = signed_in("alice").get(f"/notes/{note_id}").text
    forms = _suggestion_forms(page)
    assert set(forms) == {MISHEARD, "certraline"}
    button = re.search(
        rf'<button type="submit" form="{forms[MISHEARD]["id"]}"[^>]*>([^<]*)</button>', page
    )
    assert button and html.unescape(button.group(1)) == (
        "Replace “bilateral I movements” with “bilateral eye movements”"
    )
    assert '<script src="/static/suggestions.js" defer></script>' in page


def test_accepting_replaces_the_words_and_the_statement_still_cites_its_source(
    appliance: Appliance, people: People, signed_in: Callable[[str], Browser]
) -> None:
    note_id = misheard_note(appliance, people)
    alice = signed_in("alice")
    form = _suggestion_forms(alice.get(f"/notes/{note_id}").text)[MISHEARD]
    accepted = _post(alice, form)
    assert accepted.status_code == 303  # type: ignore[attr-defined]
    assert accepted.headers["location"] == (  # type: ignore[attr-defined]
        f"/notes/{note_id}?done=note_saved#st-{form['statement']}"
    )
    page = alice.get(f"/notes/{note_id}").text
    assert "We completed 18 sets of bilateral eye movements.</textarea>" in page
    assert "Corrected from “bilateral I movements” to “bilateral eye movements”" in page
    # The transcript still holds the words as dictated, marked as this statement's source.
    assert (
        f'<span class="source" id="source-{form["statement"]}">'
        "We completed 18 sets of bilateral I movements.</span>"
    ) in page
    assert MISHEARD not in _suggestion_forms(page)


def test_a_stale_suggestion_is_refused_with_the_reason_and_nothing_changes(
    appliance: Appliance, people: People, signed_in: Callable[[str], Browser]
) -> None:
    note_id = misheard_note(appliance, people)
    alice = signed_in("alice")
    form = _suggestion_forms(alice.get(f"/notes/{note_id}").text)[MISHEARD]
    assert _post(alice, form).status_code == 303  # type: ignore[attr-defined]
    again = _post(alice, form)  # the same button, from a page shown before the first click
    assert again.status_code == 400  # type: ignore[attr-defined]
    assert "no longer fits the statement" in again.text  # type: ignore[attr-defined]
    assert again.text.count("bilateral eye movements.</textarea>") == 1  # type: ignore[attr-defined]


def test_only_the_notes_clinician_is_offered_suggestions_or_may_accept_one(
    appliance: Appliance, people: People, signed_in: Callable[[str], Browser]
) -> None:
    note_id = misheard_note(appliance, people)
    form = _suggestion_forms(signed_in("alice").get(f"/notes/{note_id}").text)[MISHEARD]
    carol = signed_in("carol")  # alice's supervisor reads the note
    page = carol.get(f"/notes/{note_id}")
    assert page.status_code == 200 and _suggestion_forms(page.text) == {}
    assert (
        _post(carol, {**form, "csrf_token": carol.form_token(f"/notes/{note_id}")}).status_code
        == 403
    )  # type: ignore[attr-defined]
    bob = signed_in("bob")
    bob_form = {**form, "csrf_token": bob.form_token("/clients")}
    assert _post(bob, bob_form).status_code == 404  # type: ignore[attr-defined]
    assert MISHEARD in _suggestion_forms(signed_in("alice").get(f"/notes/{note_id}").text)


def test_a_post_without_the_forms_token_is_refused(
    appliance: Appliance, people: People, signed_in: Callable[[str], Browser]
) -> None:
    note_id = misheard_note(appliance, people)
    alice = signed_in("alice")
    form = _suggestion_forms(alice.get(f"/notes/{note_id}").text)[MISHEARD]
    assert _post(alice, {**form, "csrf_token": "forged"}).status_code == 403  # type: ignore[attr-defined]


def test_offsets_that_are_not_numbers_are_refused_cleanly(
    appliance: Appliance, people: People, signed_in: Callable[[str], Browser]
) -> None:
    note_id = misheard_note(appliance, people)
    alice = signed_in("alice")
    form = _suggestion_forms(alice.get(f"/notes/{note_id}").text)[MISHEARD]
    refused = _post(alice, {**form, "start": "²"})
    assert refused.status_code == 400  # type: ignore[attr-defined]
    assert "reload" in refused.text  # type: ignore[attr-defined]
