from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.conftest import Browser


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


def test_pages_have_no_inline_script(signed_in: Callable[[str], Browser]) -> None:
    import re

    for path in ("/login", "/account", "/clients", "/clients/new"):
        html = signed_in("alice").get(path).text
        for tag in re.findall(r"<script[^>]*>", html):
            assert "src=" in tag, f"inline script on {path}"
        assert not re.search(r"\son[a-z]+=", html), f"inline event handler on {path}"


def test_static_assets_may_be_cached(browser: Callable[[], Browser]) -> None:
    response = browser().get("/static/app.css")
    assert response.status_code == 200
    assert response.headers["cache-control"].startswith("public")


def test_no_state_changes_on_get(browser: Callable[[], Browser]) -> None:
    from webui.app import routes

    for route in routes():
        methods = getattr(route, "methods", None) or set()
        path = getattr(route, "path", "")
        if "GET" in methods:
            assert not any(word in path for word in ("logout", "disable", "delete", "end-")), path
