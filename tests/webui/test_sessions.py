from __future__ import annotations

import re
from collections.abc import Callable

from tests.conftest import PASSWORD, Browser, Clock, People
from webui.auth import SESSION_COOKIE

NEW_PASSWORD = "copper-meadow-signal-88"


def _signed_out(b: Browser) -> bool:
    response = b.get("/account", follow_redirects=False)
    return response.status_code == 303 and response.headers["location"].startswith("/login")


def test_an_idle_session_is_signed_out_after_fifteen_minutes(
    signed_in: Callable[[str], Browser], frozen_clock: Clock
) -> None:
    alice = signed_in("alice")
    frozen_clock.advance(minutes=14)
    assert alice.get("/account").status_code == 200
    frozen_clock.advance(minutes=15, seconds=1)
    assert _signed_out(alice)


def test_a_session_ends_after_twelve_hours_however_active(
    signed_in: Callable[[str], Browser], frozen_clock: Clock
) -> None:
    alice = signed_in("alice")
    for _ in range(71):
        frozen_clock.advance(minutes=10)
        assert alice.get("/account").status_code == 200
    frozen_clock.advance(minutes=10)
    assert _signed_out(alice)


def test_pages_carry_the_idle_countdown(signed_in: Callable[[str], Browser]) -> None:
    page = signed_in("alice").get("/account").text
    found = re.search(r'id="idle-warning"[^>]*data-seconds-left="(\d+)"', page, re.S)
    assert found and 880 <= int(found.group(1)) <= 900
    assert '<script src="/static/session-timer.js"' in page


def test_keepalive_reports_the_time_left(
    signed_in: Callable[[str], Browser], frozen_clock: Clock
) -> None:
    alice = signed_in("alice")
    frozen_clock.advance(minutes=10)
    token = alice.form_token("/account")
    response = alice.post("/session/keepalive", headers={"X-CSRF-Token": token})
    assert response.status_code == 200 and response.json()["seconds_left"] == 900


def test_sign_out_ends_every_session_of_that_person(signed_in: Callable[[str], Browser]) -> None:
    front_desk, alice, bob = signed_in("alice"), signed_in("alice"), signed_in("bob")
    alice.submit("/logout", page="/account")
    assert _signed_out(front_desk)
    assert not _signed_out(bob)


def test_sign_out_ends_the_session_on_the_server(signed_in: Callable[[str], Browser]) -> None:
    alice = signed_in("alice")
    token = alice.cookies[SESSION_COOKIE]
    response = alice.submit("/logout", page="/account")
    assert response.headers["location"] == "/login?done=signed_out"
    replay = signed_in("bob")
    replay.cookies.set(SESSION_COOKIE, token, domain="testserver.local")
    assert _signed_out(replay)


def test_changing_the_password_ends_all_sessions(
    signed_in: Callable[[str], Browser], browser: Callable[[], Browser]
) -> None:
    phone, laptop = signed_in("alice"), signed_in("alice")
    response = laptop.submit(
        "/account/password",
        {
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "new_password_again": NEW_PASSWORD,
        },
        page="/account",
    )
    assert response.headers["location"] == "/login?done=password_changed"
    assert _signed_out(phone) and _signed_out(laptop)
    assert browser().sign_in("alice", NEW_PASSWORD).status_code == 303
    assert browser().sign_in("alice", PASSWORD).status_code == 401


def test_a_password_change_needs_the_current_password(signed_in: Callable[[str], Browser]) -> None:
    alice = signed_in("alice")
    response = alice.submit(
        "/account/password",
        {
            "current_password": "wrong-current-one",
            "new_password": NEW_PASSWORD,
            "new_password_again": NEW_PASSWORD,
        },
        page="/account",
    )
    assert response.status_code == 400 and "current password was not right" in response.text
    assert alice.get("/account").status_code == 200


def test_a_common_new_password_is_refused_with_reasons(signed_in: Callable[[str], Browser]) -> None:
    response = signed_in("alice").submit(
        "/account/password",
        {
            "current_password": PASSWORD,
            "new_password": "password1234",
            "new_password_again": "password1234",
        },
        page="/account",
    )
    assert response.status_code == 400 and "very common password" in response.text


def test_an_admin_ends_someone_elses_sessions(
    signed_in: Callable[[str], Browser], people: People
) -> None:
    alice, dave = signed_in("alice"), signed_in("dave")
    response = dave.submit(f"/admin/users/{people.alice.id}/end-sessions", page="/admin/users")
    assert response.status_code == 303
    assert _signed_out(alice)
    assert dave.get("/admin/users").status_code == 200


def test_disabling_an_account_signs_it_out(
    signed_in: Callable[[str], Browser], people: People, browser: Callable[[], Browser]
) -> None:
    bob, dave = signed_in("bob"), signed_in("dave")
    dave.submit(f"/admin/users/{people.bob.id}/disable", page="/admin/users")
    assert _signed_out(bob)
    assert browser().sign_in("bob").status_code == 401


def test_background_polls_do_not_keep_a_session_alive(
    signed_in: Callable[[str], Browser], frozen_clock: Clock
) -> None:
    alice = signed_in("alice")
    for _ in range(20):
        frozen_clock.advance(minutes=1)
        alice.get("/healthz", headers={"X-Background-Poll": "1"})
    assert _signed_out(alice)
