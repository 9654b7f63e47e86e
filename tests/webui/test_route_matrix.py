"""Every route in the app's route table, checked for every role.

A route must be listed here as public or carry an access rule (`allow(...)`); the rule is then
proven for each persona and for a signed-out visitor. Adding a route without a rule fails here.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from starlette.routing import Mount, Route

from appliance.identity.accounts import actor_for, create_user
from appliance.identity.emergency_access import grant_access
from appliance.practice.note_templates import create_template
from appliance.records.clients import create_client
from appliance.records.dictations import create_dictation
from appliance.roles import Role
from appliance.runtime import Appliance
from tests.conftest import Browser, People, form_details
from webui.app import routes
from webui.auth import AccessRule

PUBLIC_ROUTES = {
    ("GET", "/healthz"),
    # No session, but its own rule: loopback or bearer token (tests/webui/test_metrics.py).
    ("GET", "/metrics"),
    ("GET", "/login"),
    ("POST", "/login"),
    ("GET", "/setup/{token}"),
    ("POST", "/setup/{token}"),
}
PERSONA_OF_ROLE = {
    Role.CLINICIAN: "alice",
    Role.SUPERVISOR: "carol",
    Role.ADMIN: "dave",
    Role.AUDITOR: "erin",
}


def _route_methods() -> list[tuple[str, str, Callable[..., object]]]:
    found = []
    for route in routes():
        if isinstance(route, Mount):
            assert route.path == "/static", f"unexpected mount {route.path}"
            continue
        assert isinstance(route, Route)
        for method in sorted((route.methods or set()) - {"HEAD"}):
            found.append((method, route.path, route.endpoint))
    return found


ROUTES = _route_methods()


def _rule(endpoint: Callable[..., object]) -> AccessRule:
    rule = getattr(endpoint, "access_rule", None)
    assert isinstance(rule, AccessRule), "route has no access rule: wrap it in public/allow"
    return rule


@pytest.fixture
def sample_path(appliance: Appliance, people: People) -> Callable[[str], str]:
    with appliance.unit_of_work() as db:
        client = create_client(db, appliance.keys, actor_for(people.alice), display_name="Sample")
        target = create_user(db, "frank", Role.CLINICIAN, by=None)
        grant = grant_access(
            db,
            actor_for(people.dave),
            grantee=target,
            owner=people.bob,
            reason="covering an absence",
            hours=1,
        )
        dictation_id = create_dictation(
            db,
            appliance.keys,
            appliance.settings,
            actor_for(people.alice),
            client.id,
            form_details(),
            typed_text="Typed session notes.",
        )
        template = create_template(
            db, actor_for(people.dave), "Sample", [("Progress", "How the week went.")]
        )
    values = {
        "dictation_id": dictation_id,
        "client_id": client.id,
        "user_id": str(target.id),
        "token": "no-such-token",
        "grant_id": str(grant.id),
        "template_id": template.id,
    }

    def fill(template: str) -> str:
        path = template
        for name, value in values.items():
            path = path.replace("{" + name + "}", value)
        assert "{" not in path, f"add a sample value for the parameter in {template}"
        return path

    return fill


def _request(browser: Browser, method: str, path: str, with_csrf: bool = True) -> object:
    if method == "GET":
        return browser.get(path, follow_redirects=False)
    data = (
        {
            "csrf_token": browser.form_token(
                "/account" if browser.cookies.get("__Host-session") else "/login"
            )
        }
        if with_csrf
        else {}
    )
    return browser.request(method, path, data=data, follow_redirects=False)


@pytest.mark.parametrize(
    ("method", "path", "endpoint"), ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES]
)
def test_route_has_an_access_rule_that_holds_for_every_role(
    method: str,
    path: str,
    endpoint: Callable[..., object],
    browser: Callable[[], Browser],
    signed_in: Callable[[str], Browser],
    sample_path: Callable[[str], str],
) -> None:
    rule = _rule(endpoint)
    url = sample_path(path)
    if rule.public:
        assert (method, path) in PUBLIC_ROUTES, f"{method} {path} is public but not listed"
        return
    assert (method, path) not in PUBLIC_ROUTES

    anonymous = _request(browser(), method, url)
    if method == "GET":
        assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    else:
        assert anonymous.status_code == 401

    for role, persona in PERSONA_OF_ROLE.items():
        response = _request(signed_in(persona), method, url)
        if role in rule.roles:
            assert response.status_code != 403, f"{persona} ({role}) refused"
            assert response.status_code < 500
            assert not response.headers.get("location", "").startswith("/login?next="), persona
        else:
            assert response.status_code == 403, f"{persona} ({role}) was let in"


POSTS = [(m, p, e) for m, p, e in ROUTES if m == "POST"]


@pytest.mark.parametrize(("method", "path", "endpoint"), POSTS, ids=[p for _, p, _ in POSTS])
def test_state_changes_without_a_csrf_token_are_refused(
    method: str,
    path: str,
    endpoint: Callable[..., object],
    browser: Callable[[], Browser],
    signed_in: Callable[[str], Browser],
    sample_path: Callable[[str], str],
) -> None:
    rule = _rule(endpoint)
    persona = "dave" if rule.public else PERSONA_OF_ROLE[sorted(rule.roles)[0]]
    client = browser() if rule.public else signed_in(persona)
    response = _request(client, method, sample_path(path), with_csrf=False)
    assert response.status_code == 403
    assert "Form expired" in response.text
