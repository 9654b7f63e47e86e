"""Hostile input to every form and upload route, as every kind of visitor (issue 11).

For each POST route of the route table, Hypothesis draws posts (tests/webui/hostile_requests.py)
from a persona the route is for, now and then from one it is not for or from a signed-out
visitor: fields too long, empty, missing or repeated, NUL and control characters, bytes that are
not UTF-8, numbers out of range, ids of 70 characters or of another kind, SQL, markup and
spreadsheet formulas, multipart where none is expected or cut short, random bytes as a
recording. The form token is the visitor's own most of the time, so most posts reach the view.

Each answer is judged by tests/webui/hostile_world.py: never a 5xx; no traceback, exception or
SQL text or file path in the body; the route guard's refusal for a visitor the route is not for;
a refused request changes no row (audit events apart) and no file under the data directory; and
whatever an accepted one made is whole (a dictation has its sealed recording or its notes, a
data key has its record, an account its setup link).

Every input that once broke a route runs first, as an explicit example of it (`regressions`,
and `test_it_answers_the_inputs_that_were_500s_cleanly`).

One appliance serves the whole module; `make fuzz` (bench/hostile_input.py) runs many more
examples per route and prints a table.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings

from appliance.models import User
from tests.conftest import POSTGRES_URL, settings_in, start_appliance
from tests.webui.hostile_requests import (
    CURRENT_VERSION,
    FORM_FIELDS,
    RECORDINGS,
    TOKEN,
    FilePart,
    HostileForm,
    hostile_forms,
    valid_values,
)
from tests.webui.hostile_world import (
    Exchange,
    World,
    incomplete,
    judge,
    leaks,
    open_world,
    post,
    take_census,
)
from tests.webui.test_route_matrix import POSTS

EXAMPLES_PER_ROUTE = 30


@pytest.fixture(scope="module")
def world(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    sqlite_template: Path,
    password_hash: str,
) -> Iterator[World]:
    """The route matrix's world, once for the module (building it per example would be slow)."""
    with pytest.MonkeyPatch.context() as patch:
        # What _isolated_environment does for each test, once for this module's settings.
        for name in list(os.environ):
            if name.startswith("APPLIANCE_") and name != "APPLIANCE_TEST_DATABASE_URL":
                patch.delenv(name)
        settings_ = settings_in(tmp_path_factory.mktemp("hostile") / "data")
    running = start_appliance(request, settings_, sqlite_template)
    yield open_world(running, password_hash)
    if not POSTGRES_URL:
        running.engine.dispose()


def _form(
    who: str, route: str, path: str, encoding: str = "urlencoded", **fields: str | bytes
) -> HostileForm:
    """A post with the visitor's token and `fields` (bytes as sent, text as UTF-8)."""
    sent = [(n, v if isinstance(v, bytes) else v.encode()) for n, v in fields.items()]
    return HostileForm(who, route, path, (("csrf_token", TOKEN), *sent), encoding)


def _dictation(world: World, file: FilePart | None = None, **fields: str | bytes) -> HostileForm:
    """The new-dictation form as the browser posts it, with `fields` changed."""
    route = "/clients/{client_id}/dictations"
    values: dict[str, str | bytes] = {n: valid_values()[n][0] for n in FORM_FIELDS[route]}
    form = _form(
        "alice",
        route,
        f"/clients/{world.samples.values['client_id'][0]}/dictations",
        "multipart",
        **{**values, **fields},
    )
    return replace(form, file=file)


def _note_saved(world: World, first_statement: str) -> HostileForm:
    """The sample note's review form as its page sends it, the first statement edited."""
    return _form(
        "alice",
        "/notes/{note_id}",
        f"/notes/{world.samples.values['note_id'][0]}",
        version=CURRENT_VERSION,
        **{
            "st-1-id": "s1",
            "st-1-section": "subjective",
            "st-1-text": first_statement,
            "st-2-id": "s2",
            "st-2-section": "risk",
            "st-2-text": "She denies SI.",
        },
    )


def regressions(world: World) -> dict[str, list[HostileForm]]:
    """Posts that once answered 500 (or must always be accepted, whole), as examples of their
    route: each runs before the route's generated ones."""
    note = world.samples.values["note_id"][0]
    client = world.samples.values["client_id"][0]
    wav = FilePart("hello.wav", "audio/wav", RECORDINGS["hello.wav"])
    return {
        "/clients/{client_id}/dictations": [
            # Accepted, whole: typed notes with their transcript, a recording sealed on disk.
            _dictation(world),
            _dictation(world, wav, typed_text=""),
            # "²".isdigit() but int("²") raises, and so does int() past 4300 digits: the
            # duration was a 500.
            _dictation(world, duration_minutes="²"),
            _dictation(world, duration_minutes="9" * 5000),
            # Declared UTF-7, "+2AA-" decodes to a lone surrogate no UTF-8 encoder takes: a
            # 500 when sealing the notes, or showing the form again.
            replace(_dictation(world, typed_text=b"notes +2AA-"), charset="utf-7"),
            replace(_dictation(world, start_time=b"+2AA-"), charset="utf-7"),
        ],
        "/notes/{note_id}": [
            # The review form's version "²", or of 5000 digits: 500s in note_form.version_of.
            _form("alice", "/notes/{note_id}", f"/notes/{note}", version="²", **{"st-1-id": "s1"}),
            _form(
                "alice",
                "/notes/{note_id}",
                f"/notes/{note}",
                version="9" * 5000,
                **{"st-1-id": "s1"},
            ),
            _note_saved(world, "Client reported better sleep."),
        ],
        "/notes/{note_id}/sign": [
            _form("alice", "/notes/{note_id}/sign", f"/notes/{note}/sign", version="²"),
            _form("alice", "/notes/{note_id}/sign", f"/notes/{note}/sign", version="9" * 5000),
        ],
        # PostgreSQL refuses NUL in text: in an id of the address, or in a field, both 500s.
        "/clients/{client_id}/export": [
            _form("alice", "/clients/{client_id}/export", "/clients/%00/export"),
            _form("alice", "/clients/{client_id}/export", f"/clients/{client}/export"),
        ],
        "/account/signature-line": [
            _form(
                "alice", "/account/signature-line", "/account/signature-line", signature_line="A\0B"
            ),
        ],
        "/login": [
            _form("signed-out visitor", "/login", "/login", username="al\0ice", password="x"),
        ],
    }


def test_every_post_route_has_its_fields_listed() -> None:
    routes = {path for _, path in POSTS}
    assert routes - set(FORM_FIELDS) == set(), "list the new route's fields in FORM_FIELDS"
    assert set(FORM_FIELDS) - routes == set(), "FORM_FIELDS lists routes the app does not have"


@pytest.mark.parametrize("path", [p for _, p in POSTS])
def test_it_answers_hostile_posts_cleanly_and_leaves_nothing_half_made(
    world: World, path: str
) -> None:
    @settings(
        max_examples=EXAMPLES_PER_ROUTE,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
            HealthCheck.filter_too_much,
        ],
    )
    @given(hostile_forms(path, world.samples.values, world.seen))
    def answers_cleanly(form: HostileForm) -> None:
        verdict = post(world, form)
        assert not verdict.wrong and not verdict.half_made, verdict.report(form)

    for regression in regressions(world).get(path, []):
        answers_cleanly = example(regression)(answers_cleanly)
    answers_cleanly()


def test_it_accepts_the_forms_filled_in_as_meant(world: World) -> None:
    """The fuzzing's accepted examples are accepted indeed: a judge that only ever saw
    refusals could not catch a half-made dictation."""
    forms = regressions(world)["/clients/{client_id}/dictations"][:2]
    version = world.note_version()
    saving = _note_saved(world, f"Client reported better sleep (version {version}).")
    for form in [*forms, saving]:
        verdict = post(world, form)
        assert verdict.exchange.status == 303, verdict.report(form)
        assert not verdict.wrong and not verdict.half_made, verdict.report(form)
    assert world.note_version() == version + 1


def test_it_stores_nul_in_a_field_as_a_replacement_character(world: World) -> None:
    """PostgreSQL refuses NUL in text (a 500 on every form); SQLite stores it, so the stored
    value shows the fix there too. (Lone surrogates: the UTF-7 dictation regressions.)"""
    form = _form(
        "alice", "/account/signature-line", "/account/signature-line", signature_line="A\0B"
    )
    verdict = post(world, form)
    assert verdict.exchange.status == 303, verdict.report(form)
    with world.appliance.unit_of_work() as db:
        alice = db.get(User, world.people.alice.id)
        assert alice is not None and alice.signature_line == "A\ufffdB"


def _inputs_that_were_500s(world: World) -> dict[str, HostileForm]:
    note = world.samples.values["note_id"][0]
    return {
        "emergency hours": _form(
            "dave",
            "/admin/emergency",
            "/admin/emergency",
            grantee="frank",
            owner="alice",
            reason="covering an absence",
            hours="²",
        ),
        "retention days": _form(
            "dave",
            "/admin/settings",
            "/admin/settings",
            retention="days",
            retention_days="9" * 4301,
            note_due_days="3",
        ),
        "note due days (the int() error shown)": _form(
            "dave", "/admin/settings", "/admin/settings", retention="signed", note_due_days="²"
        ),
        "enrolment code": _form(
            "erin", "/account/mfa/confirm", "/account/mfa/confirm", code="²" * 6
        ),
        "second-factor code": _form("bob", "/login/mfa", "/login/mfa", code="٣" * 6),
        "sign-in password": _form(
            "signed-out visitor", "/login", "/login", username="alice", password="x" * 4097
        ),
        "signing password": _form(
            "alice",
            "/notes/{note_id}/sign",
            f"/notes/{note}/sign",
            password="ﷺ" * 228,  # 228 characters, 4104 once NFKC has expanded them
        ),
    }


WERE_500S = [
    "emergency hours",
    "retention days",
    "note due days (the int() error shown)",
    "enrolment code",
    "second-factor code",
    "sign-in password",
    "signing password",
]


@pytest.mark.parametrize("case", WERE_500S)
def test_it_answers_the_inputs_that_were_500s_cleanly(world: World, case: str) -> None:
    """Found by this fuzzing in appliance/identity/ and webui/views/admin/: passlib's
    PasswordSizeError past 4,096 characters, hmac.compare_digest on a non-ASCII code, int() on
    "²" or on more than 4,300 digits, and int()'s own message shown on the settings page."""
    sent = _inputs_that_were_500s(world)[case]
    verdict = post(world, sent)
    assert not verdict.wrong, verdict.report(sent)


# The judge itself: each of its checks sees what it is for (a judge that cannot fail would make
# the fuzzing above pass whatever the app did).


def test_the_judge_notices_leaked_exception_text_unless_a_request_sent_it(world: World) -> None:
    page = "<p>Traceback (most recent call last): sqlalchemy.exc.DataError</p>"
    leaked = Exchange("alice", True, b"display_name=Ann", 400, "text/html", page, "")
    assert leaks(leaked, world.data_dir)
    echoed = replace(leaked, sent=b"display_name=Traceback sqlalchemy Exception DataError")
    assert leaks(echoed, world.data_dir) == []
    # Stored by an earlier request, and shown on every page after.
    stored = replace(leaked, body="<p>Alice, 1 UNION SELECT password_hash FROM users</p>")
    assert leaks(stored, world.data_dir) == []
    assert leaks(replace(stored, body="<p>SELECT id FROM users</p>"), world.data_dir)


def test_the_judge_notices_a_refusal_that_changed_rows_or_files(world: World) -> None:
    before = take_census(world.appliance)
    after = replace(
        before,
        rows={**before.rows, "clients": before.rows["clients"] + 1, "audit_events": 0},
        files=before.files | {"audio/stray.sealed"},
    )
    refused = Exchange("alice", True, b"", 400, "text/html", "", "")
    wrong, half_made = judge(refused, before, after, world.appliance)
    assert wrong == []
    assert any(h.startswith("clients:") for h in half_made)
    assert any("stray.sealed" in h for h in half_made)
    assert not any(h.startswith("audit_events") for h in half_made)


def test_the_judge_notices_a_recording_without_its_sealed_file(world: World) -> None:
    recording = regressions(world)["/clients/{client_id}/dictations"][1]
    before = take_census(world.appliance)
    assert post(world, recording).exchange.status == 303
    after = take_census(world.appliance)
    (new,) = after.ids["dictations"] - before.ids["dictations"]
    (world.data_dir / "audio" / f"{new}.sealed").unlink()
    assert f"recorded dictation {new} has no sealed audio" in incomplete(
        world.appliance, before, after
    )
