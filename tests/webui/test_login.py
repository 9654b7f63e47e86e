from __future__ import annotations

import re
from collections.abc import Callable

from appliance.identity.tokens import token_digest
from appliance.runtime import Appliance
from tests.conftest import PASSWORD, Browser, Clock, People
from webui.app import create_app
from webui.auth import SESSION_COOKIE


def test_the_login_form_posts_username_password_and_csrf_token(
    browser: Callable[[], Browser],
) -> None:
    page = browser().get("/login").text
    assert re.search(r'<form method="post" action="/login">', page)
    for field in ("username", "password", "csrf_token"):
        assert f'name="{field}"' in page


def test_signing_in_sets_a_host_prefixed_strict_cookie(
    browser: Callable[[], Browser], people: People
) -> None:
    response = browser().sign_in("alice")
    assert response.status_code == 303 and response.headers["location"] == "/"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    for attribute in ("HttpOnly", "Secure", "SameSite=strict", "Path=/"):
        assert attribute.lower() in cookie.lower()
    assert "domain" not in cookie.lower()


def test_the_cookie_token_is_not_what_the_database_stores(
    browser: Callable[[], Browser], people: People, appliance: Appliance
) -> None:
    b = browser()
    b.sign_in("alice")
    token = b.cookies[SESSION_COOKIE]
    with appliance.engine.connect() as connection:
        stored = connection.exec_driver_sql("SELECT token_hash FROM user_sessions").scalar()
    assert stored == token_digest(token)


def test_a_failed_sign_in_never_says_whether_the_user_exists(
    browser: Callable[[], Browser], people: People
) -> None:
    wrong_password = browser().sign_in("alice", "not-the-password-1")
    unknown_user = browser().sign_in("zed", "not-the-password-1")
    assert wrong_password.status_code == unknown_user.status_code == 401

    def message(html: str) -> str:
        found = re.search(r'<p class="error" role="alert">(.*?)</p>', html, re.S)
        assert found
        return found.group(1)

    assert message(wrong_password.text) == message(unknown_user.text)


def test_a_locked_account_shows_the_same_message(
    appliance: Appliance, people: People, frozen_clock: Clock
) -> None:
    # From two addresses: one address alone is throttled before it can lock an account
    # (tests/webui/test_throttling.py).
    app = create_app(appliance)
    b = Browser(app, base_url="https://testserver", client=("203.0.113.1", 50000))
    other = Browser(app, base_url="https://testserver", client=("203.0.113.2", 50000))
    first = b.sign_in("alice", "not-the-password-1").text
    for _ in range(2):
        b.sign_in("alice", "not-the-password-1")
        other.sign_in("alice", "not-the-password-1")
    locked = b.sign_in("alice")
    assert locked.status_code == 401
    assert (
        "Sign-in failed" in locked.text and "locked" not in locked.text.split("Sign-in failed")[0]
    )
    assert re.findall(r'role="alert">(.*?)</p>', first, re.S) == re.findall(
        r'role="alert">(.*?)</p>', locked.text, re.S
    )


def test_the_login_is_refused_without_the_forms_csrf_token(
    browser: Callable[[], Browser], people: People
) -> None:
    b = browser()
    b.get("/login")
    response = b.post(
        "/login", data={"username": "alice", "password": PASSWORD}, follow_redirects=False
    )
    assert response.status_code == 403
    assert SESSION_COOKIE not in b.cookies


def test_a_csrf_token_from_another_browser_is_refused(
    browser: Callable[[], Browser], people: People
) -> None:
    stolen = browser().form_token()
    victim = browser()
    victim.get("/login")
    response = victim.post(
        "/login",
        data={"username": "alice", "password": PASSWORD, "csrf_token": stolen},
        follow_redirects=False,
    )
    assert response.status_code == 403


def test_signing_in_returns_to_the_page_asked_for(
    browser: Callable[[], Browser], people: People
) -> None:
    b = browser()
    redirect = b.get("/clients/new", follow_redirects=False)
    assert redirect.headers["location"] == "/login?next=%2Fclients%2Fnew"
    page = b.get(redirect.headers["location"]).text
    assert 'name="next" value="/clients/new"' in page
    response = b.submit(
        "/login", {"username": "alice", "password": PASSWORD, "next": "/clients/new"}
    )
    assert response.headers["location"] == "/clients/new"


def test_next_never_leaves_the_site(browser: Callable[[], Browser], people: People) -> None:
    response = browser().submit(
        "/login", {"username": "alice", "password": PASSWORD, "next": "//evil.example/x"}
    )
    assert response.headers["location"] == "/"


def test_sign_in_over_plain_http_on_a_lan_address_is_explained(appliance: Appliance) -> None:
    from starlette.testclient import TestClient

    from webui.app import create_app

    page = TestClient(create_app(appliance), base_url="http://10.0.0.5").get("/login").text
    assert "This connection is not encrypted" in page
    local = TestClient(create_app(appliance), base_url="http://127.0.0.1").get("/login").text
    assert "This connection is not encrypted" not in local
