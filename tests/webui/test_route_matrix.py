"""Every route in the app's route table, checked for every role against the product's rules.

ACCESS below says who may use each (method, path): written from the product's rules, never read
from the routes' own decorators, so a route opened to the wrong role by mistake fails here. A
route without an entry fails too, and so does an entry without a route.

The rules: clinicians own clients and dictations; a supervisor reads their supervisees' clients
and dictations and writes nothing; admins manage users, settings, service codes, note templates,
emergency grants, the approvals of access changes and system status, and never see PHI;
auditors read the audit log, its CSV export, the access changes and the emergency-grant review,
and never see PHI; everyone signed in has the landing
page, their account (password, two-factor enrolment), sign-out and the idle-timer keepalive.
Before the second factor, a signed-in person reaches the second-factor prompt, sign-out and the
keepalive only.

Each route is visited by a signed-out visitor, one persona per role and a password-only sign-in.
Allowed: neither 403 nor a redirect to sign in (or to the second factor). Refused: the route
guard's own 403, which it audits (`http.route`, denied, reason role). Signed out: a GET is sent
to /login, anything else gets 401.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from starlette.routing import Mount, Route

from appliance.audit.chain import EventData
from appliance.audit.record import Outcome
from appliance.roles import Role
from appliance.runtime import Appliance
from tests.conftest import Browser
from tests.webui.route_samples import RouteSamples
from tests.webui.sampled_appliance import appliance, people, sampled_state, samples
from webui.app import create_app, routes

# Fixtures: the appliance, its personas and samples, copied into each test (sampled_appliance).
__all__ = ["appliance", "people", "sampled_state", "samples"]

PUBLIC = "public"  # no sign-in at all
EVERYONE = frozenset(Role)
CLINICIAN = frozenset({Role.CLINICIAN})
READERS = frozenset({Role.CLINICIAN, Role.SUPERVISOR})  # PHI: the owner, and their supervisor
ADMIN = frozenset({Role.ADMIN})
AUDITOR = frozenset({Role.AUDITOR})
SUPERVISOR = frozenset({Role.SUPERVISOR})

ACCESS: dict[tuple[str, str], frozenset[Role] | str] = {
    ("GET", "/healthz"): PUBLIC,
    # No session, but its own rule: loopback or bearer token (tests/webui/test_metrics.py).
    ("GET", "/metrics"): PUBLIC,
    ("GET", "/login"): PUBLIC,
    ("POST", "/login"): PUBLIC,
    ("GET", "/setup/{token}"): PUBLIC,
    ("POST", "/setup/{token}"): PUBLIC,
    # Any signed-in role, before the second factor too (see BEFORE_SECOND_FACTOR).
    ("GET", "/login/mfa"): EVERYONE,
    ("POST", "/login/mfa"): EVERYONE,
    ("POST", "/logout"): EVERYONE,
    ("POST", "/session/keepalive"): EVERYONE,
    ("GET", "/"): EVERYONE,
    ("GET", "/account"): EVERYONE,
    ("POST", "/account/password"): EVERYONE,
    ("POST", "/account/signature-line"): READERS,
    ("GET", "/account/mfa"): EVERYONE,
    ("POST", "/account/mfa/start"): EVERYONE,
    ("POST", "/account/mfa/confirm"): EVERYONE,
    # Clients and dictations: PHI. Reading for clinicians and supervisors, writing (and the
    # forms that only serve a write) for clinicians.
    ("GET", "/clients"): READERS,
    ("POST", "/clients"): CLINICIAN,
    ("GET", "/clients/new"): CLINICIAN,
    ("GET", "/clients/{client_id}"): READERS,
    ("GET", "/clients/{client_id}/dictations/new"): CLINICIAN,
    ("POST", "/clients/{client_id}/dictations"): CLINICIAN,
    ("GET", "/dictations/{dictation_id}"): READERS,
    ("GET", "/dictations/{dictation_id}/status"): READERS,
    ("POST", "/dictations/{dictation_id}/retry"): CLINICIAN,
    # A recording streamed from the browser: started, fed and stopped by its clinician only.
    ("POST", "/clients/{client_id}/recordings"): CLINICIAN,
    ("POST", "/dictations/{dictation_id}/chunks"): CLINICIAN,
    ("POST", "/dictations/{dictation_id}/stop"): CLINICIAN,
    ("GET", "/dictations/{dictation_id}/live"): CLINICIAN,
    ("POST", "/dictations/{dictation_id}/review"): CLINICIAN,
    # Notes: the owner reviews, edits and signs; the supervisor reads and co-signs.
    ("GET", "/notes/to-sign"): CLINICIAN,
    ("GET", "/notes/{note_id}"): READERS,
    ("POST", "/notes/{note_id}"): CLINICIAN,
    ("POST", "/notes/{note_id}/flags/{flag_id}/ack"): CLINICIAN,
    ("POST", "/notes/{note_id}/suggestions"): CLINICIAN,
    ("POST", "/notes/{note_id}/sign"): CLINICIAN,
    ("POST", "/notes/{note_id}/addenda"): CLINICIAN,
    ("GET", "/notes/{note_id}.pdf"): READERS,
    ("GET", "/notes/{note_id}.txt"): READERS,
    ("GET", "/notes/{note_id}/fhir.json"): READERS,
    ("POST", "/notes/{note_id}/copied"): READERS,
    ("POST", "/notes/{note_id}/cosign"): SUPERVISOR,
    ("POST", "/notes/{note_id}/return"): SUPERVISOR,
    ("GET", "/cosign"): SUPERVISOR,
    ("POST", "/notes/{note_id}/process-note"): CLINICIAN,
    ("POST", "/notes/{note_id}/process-note/release"): CLINICIAN,
    # Export and delete: the client's own clinician only.
    ("POST", "/clients/{client_id}/export"): CLINICIAN,
    ("GET", "/exports/{export_id}"): CLINICIAN,
    ("GET", "/exports/{export_id}/status"): CLINICIAN,
    ("POST", "/exports/{export_id}/download"): CLINICIAN,
    ("GET", "/clients/{client_id}/delete"): CLINICIAN,
    ("POST", "/clients/{client_id}/delete"): CLINICIAN,
    # Administration: no PHI.
    ("GET", "/admin/users"): ADMIN,
    ("POST", "/admin/users"): ADMIN,
    ("GET", "/admin/users/new"): ADMIN,
    ("GET", "/admin/users/{user_id}"): ADMIN,
    ("POST", "/admin/users/{user_id}/disable"): ADMIN,
    ("POST", "/admin/users/{user_id}/enable"): ADMIN,
    ("POST", "/admin/users/{user_id}/end-sessions"): ADMIN,
    ("POST", "/admin/users/{user_id}/unlock"): ADMIN,
    ("POST", "/admin/users/{user_id}/reset-mfa"): ADMIN,
    ("POST", "/admin/users/{user_id}/setup-link"): ADMIN,
    ("POST", "/admin/users/{user_id}/supervisor"): ADMIN,
    ("POST", "/admin/users/{user_id}/cosign"): ADMIN,
    ("GET", "/admin/settings"): ADMIN,
    ("POST", "/admin/settings"): ADMIN,
    ("POST", "/admin/settings/service-codes"): ADMIN,
    ("GET", "/admin/status"): ADMIN,
    ("GET", "/admin/templates"): ADMIN,
    ("POST", "/admin/templates"): ADMIN,
    ("GET", "/admin/templates/new"): ADMIN,
    ("GET", "/admin/templates/{template_id}"): ADMIN,
    ("POST", "/admin/templates/{template_id}"): ADMIN,
    ("POST", "/admin/templates/{template_id}/retire"): ADMIN,
    ("GET", "/admin/emergency"): ADMIN,
    ("POST", "/admin/emergency"): ADMIN,
    ("POST", "/admin/emergency/{grant_id}/revoke"): ADMIN,
    # Audit: no PHI.
    ("GET", "/audit"): AUDITOR,
    ("GET", "/audit/export.csv"): AUDITOR,
    ("GET", "/audit/emergency"): AUDITOR,
    ("GET", "/audit/access-changes"): AUDITOR,
    ("GET", "/admin/approvals"): ADMIN,
    ("POST", "/admin/approvals/{request_id}/approve"): ADMIN,
    ("POST", "/admin/approvals/{request_id}/reject"): ADMIN,
    ("POST", "/admin/approvals/{request_id}/withdraw"): ADMIN,
}
# What a password alone (second factor still to come) reaches, besides the public routes.
BEFORE_SECOND_FACTOR = {
    ("GET", "/login/mfa"),
    ("POST", "/login/mfa"),
    ("POST", "/logout"),
    ("POST", "/session/keepalive"),
}

PERSONA_OF_ROLE = {
    Role.CLINICIAN: "alice",
    Role.SUPERVISOR: "carol",
    Role.ADMIN: "dave",
    Role.AUDITOR: "erin",
}
SIGNED_OUT = "signed-out visitor"
# bob, a clinician with two-factor sign-in on, after his password only (route_samples).
PASSWORD_ONLY = "bob"
VISITORS = [SIGNED_OUT, *PERSONA_OF_ROLE.values(), PASSWORD_ONLY]


def _route_methods() -> list[tuple[str, str]]:
    found = []
    for route in routes():
        if isinstance(route, Mount):
            assert route.path == "/static", f"unexpected mount {route.path}"
            continue
        assert isinstance(route, Route)
        for method in sorted((route.methods or set()) - {"HEAD"}):
            found.append((method, route.path))
    return found


ROUTES = _route_methods()


def allowed_visitors(method: str, path: str) -> list[str]:
    """Who may use the route by ACCESS: the signed-out visitor, personas, PASSWORD_ONLY."""
    rule = ACCESS[(method, path)]
    if rule == PUBLIC:
        return list(VISITORS)
    allowed = [persona for role, persona in PERSONA_OF_ROLE.items() if role in rule]
    if (method, path) in BEFORE_SECOND_FACTOR:
        allowed.append(PASSWORD_ONLY)
    return allowed


@pytest.fixture
def visitor(appliance: Appliance, samples: RouteSamples) -> Callable[[str], Browser]:
    """A browser for one of VISITORS, signed in as far as that visitor gets.

    From a loopback address, so that /metrics answers by the session rules alone (its own
    address/token rule is tested in test_metrics.py).
    """
    app = create_app(appliance)

    def open_browser(who: str) -> Browser:
        browser = Browser(app, base_url="https://testserver", client=("127.0.0.1", 50000))
        if who != SIGNED_OUT:
            response = browser.sign_in(who)
            expected = "/login/mfa" if who == PASSWORD_ONLY else "/"
            assert response.headers.get("location") == expected, f"{who} could not sign in"
        return browser

    return open_browser


def _form_page(who: str) -> str:
    return {SIGNED_OUT: "/login", PASSWORD_ONLY: "/login/mfa"}.get(who, "/account")


def request_as(browser: Browser, who: str, method: str, path: str, with_csrf: bool = True) -> Any:
    if method == "GET":
        return browser.get(path, follow_redirects=False)
    data = {"csrf_token": browser.form_token(_form_page(who))} if with_csrf else {}
    return browser.request(method, path, data=data, follow_redirects=False)


def _refused_by_the_route(events: list[EventData]) -> bool:
    """The route guard's own refusal (by role), audited before the handler runs."""
    return any(
        e.action == "http.route" and e.outcome == Outcome.DENIED and e.reason == "role"
        for e in events
    )


def outcome(response: Any, events: list[EventData]) -> str:
    """How the app answered, as far as access goes; `events`: what the request audited.

    A 403 from deeper in (the records layer refusing the role) is told apart from the route's
    own refusal: a route opened to a role by mistake fails even where another layer catches it.
    """
    location = response.headers.get("location", "")
    if response.status_code == 303 and location.startswith("/login?next="):
        return "sign in first"
    if response.status_code == 401 and response.headers.get("content-type", "").startswith(
        "application/json"
    ):
        assert response.json() == {"error": "signed out"}
        return "sign in first"
    if response.status_code == 303 and location == "/login/mfa":
        return "second factor first"
    if response.status_code == 403:
        return "refused" if _refused_by_the_route(events) else "refused past the route"
    assert response.status_code < 500, response.text[:2000]
    return "allowed"


def expected_outcome(method: str, path: str, who: str) -> str:
    if who in allowed_visitors(method, path):
        return "allowed"
    if who == SIGNED_OUT:
        return "sign in first"
    if who == PASSWORD_ONLY:
        return "second factor first"
    return "refused"


def test_every_route_has_an_entry_and_every_entry_is_a_route() -> None:
    listed, served = set(ACCESS), set(ROUTES)
    assert served - listed == set(), "routes missing from ACCESS: add who may use them"
    assert listed - served == set(), "ACCESS lists routes the app does not have"
    assert listed >= BEFORE_SECOND_FACTOR
    assert all(ACCESS[route] == EVERYONE for route in BEFORE_SECOND_FACTOR)
    for rule in ACCESS.values():
        assert rule == PUBLIC or (isinstance(rule, frozenset) and rule and rule <= EVERYONE)


def test_no_phi_route_is_open_to_an_admin_or_an_auditor() -> None:
    """The table's own PHI rule: a slip in ACCESS that opened a client or dictation route to an
    admin or an auditor fails here, whatever the app does."""
    prefixes = ("/clients", "/dictations", "/notes", "/cosign", "/exports")
    phi = [r for r in ACCESS if r[1].startswith(prefixes)]
    assert phi
    for route in phi:
        assert ACCESS[route] != PUBLIC and not {Role.ADMIN, Role.AUDITOR} & ACCESS[route], route


@pytest.mark.parametrize(("method", "path"), ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
def test_route_has_an_access_rule_that_holds_for_every_role(
    method: str,
    path: str,
    visitor: Callable[[str], Browser],
    samples: RouteSamples,
    audit_events: list[EventData],
) -> None:
    assert (method, path) in ACCESS, f"{method} {path}: add who may use it to ACCESS"
    url = samples.first(path)
    seen = {}
    for who in VISITORS:
        browser = visitor(who)
        start = len(audit_events)
        response = request_as(browser, who, method, url)
        seen[who] = outcome(response, audit_events[start:])
    expected = {who: expected_outcome(method, path, who) for who in VISITORS}
    assert seen == expected, f"{method} {path}"


POSTS = [(m, p) for m, p in ROUTES if m == "POST"]


@pytest.mark.parametrize(("method", "path"), POSTS, ids=[p for _, p in POSTS])
def test_state_changes_without_a_csrf_token_are_refused(
    method: str,
    path: str,
    visitor: Callable[[str], Browser],
    samples: RouteSamples,
) -> None:
    who = allowed_visitors(method, path)[0]
    response = request_as(visitor(who), who, method, samples.first(path), with_csrf=False)
    assert response.status_code == 403
    assert "Form expired" in response.text
