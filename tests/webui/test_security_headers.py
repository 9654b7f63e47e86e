"""Security headers on every response, and pages the Content-Security-Policy can serve whole.

The CSP allows scripts and styles from 'self' only, so an inline script, an inline event
handler, a `style=` attribute or a `<style>` element would be blocked in the browser (a broken
page) or, if the CSP were ever loosened to let them run, an injection foothold. Every GET page
is checked, as each visitor allowed to see it, for every sample path: the pages come from the
app's route table and tests/webui/test_route_matrix.py's ACCESS, so a new page is covered
without being listed here.
"""

from __future__ import annotations

from collections.abc import Callable
from html.parser import HTMLParser
from typing import Any

import pytest

from appliance.roles import Role
from tests.conftest import Browser
from tests.webui.route_samples import RouteSamples
from tests.webui.sampled_appliance import appliance, people, sampled_state, samples
from tests.webui.test_route_matrix import (
    PERSONA_OF_ROLE,
    ROUTES,
    SIGNED_OUT,
    allowed_visitors,
    request_as,
    visitor,
)

# Fixtures, shared with test_route_matrix.
__all__ = ["appliance", "people", "sampled_state", "samples", "visitor"]

# GET routes that answer with something other than a page (JSON, CSV, metrics, a redirect).
NOT_PAGES = {
    "/healthz",
    "/metrics",
    "/",  # sends each role to its landing page
    "/dictations/{dictation_id}/status",
    "/dictations/{dictation_id}/live",
    "/exports/{export_id}/status",
    "/audit/export.csv",
    # A signed note's copies are downloads (PDF, text, FHIR JSON), never pages.
    "/notes/{note_id}.pdf",
    "/notes/{note_id}.txt",
    "/notes/{note_id}/fhir.json",
}
GETS = [path for method, path in ROUTES if method == "GET"]


@pytest.mark.parametrize("path", ["/login", "/account", "/clients", "/no-such-page"])
def test_every_page_has_strict_security_headers(
    signed_in: Callable[[str], Browser], path: str
) -> None:
    response = signed_in("alice").get(path)
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["strict-transport-security"].startswith("max-age=")


def test_static_assets_may_be_cached(browser: Callable[[], Browser]) -> None:
    response = browser().get("/static/app.css")
    assert response.status_code == 200
    assert response.headers["cache-control"].startswith("public")


class _InlineFinder(HTMLParser):
    """What a strict CSP (script-src/style-src 'self', no 'unsafe-inline') would block."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name for name, _ in attrs}
        where = f"<{tag} {' '.join(sorted(names))}>".replace(" >", ">")
        if tag == "script" and "src" not in names:
            self.problems.append(f"inline script {where}")
        if tag == "style":
            self.problems.append("<style> element")
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"event handler attribute {name} on {where}")
            if name == "style":
                self.problems.append(f"style attribute on {where}")
            if (value or "").strip().lower().startswith("javascript:"):
                self.problems.append(f"javascript: URL in {name} on {where}")

    handle_startendtag = handle_starttag


def inline_problems(html: str) -> list[str]:
    finder = _InlineFinder()
    finder.feed(html)
    finder.close()
    return finder.problems


def _is_html(response: Any) -> bool:
    return str(response.headers.get("content-type", "")).startswith("text/html")


@pytest.mark.parametrize("path", GETS)
def test_pages_have_no_inline_script(
    path: str, samples: RouteSamples, visitor: Callable[[str], Browser]
) -> None:
    """No inline script, event handler, `style=` or `<style>` on the page, for every visitor
    allowed to see it and every sample path (dictations waiting, drafting and drafted)."""
    pages = 0
    for who in allowed_visitors("GET", path):
        browser = visitor(who)
        for url in samples.every(path):
            response = browser.get(url, follow_redirects=False)
            if not _is_html(response):
                continue
            problems = inline_problems(response.text)
            assert not problems, f"GET {url} as {who}: {problems}"
            pages += response.status_code == 200
    if path in NOT_PAGES:
        assert pages == 0, f"{path} renders a page: take it out of NOT_PAGES"
    else:
        assert pages > 0, f"{path} rendered no page for anyone allowed: is it in NOT_PAGES?"


def test_error_pages_have_no_inline_script_or_style(
    samples: RouteSamples, visitor: Callable[[str], Browser]
) -> None:
    clinician, auditor = PERSONA_OF_ROLE[Role.CLINICIAN], PERSONA_OF_ROLE[Role.AUDITOR]
    pages = {
        "not found": visitor(clinician).get("/no-such-page"),
        "not allowed": visitor(auditor).get(samples.first("/clients/{client_id}")),
        "form expired": request_as(
            visitor(clinician), clinician, "POST", "/clients", with_csrf=False
        ),
        "link not valid": visitor(SIGNED_OUT).get("/setup/no-such-token"),
    }
    assert [r.status_code for r in pages.values()] == [404, 403, 403, 404]
    for name, response in pages.items():
        assert _is_html(response), name
        problems = inline_problems(response.text)
        assert not problems, f"{name}: {problems}"
