"""A GET changes nothing: every GET route, as everyone allowed to use it, leaves every table as
it found it; and whatever changes state is reached by POST only.

Only the audit trail (which records reads of PHI on purpose) and a session's idle timer
(`user_sessions.last_seen_at`, touched by any signed-in request) may move. The tables are read
from the database itself, so a table added later is covered without touching this file.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import MetaData, select
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel
from starlette.routing import Route

from appliance.runtime import Appliance
from tests.conftest import Browser
from tests.webui.route_samples import RouteSamples
from tests.webui.sampled_appliance import appliance, people, sampled_state, samples
from tests.webui.test_route_matrix import ROUTES, allowed_visitors, visitor
from webui.app import routes

# Fixtures, shared with test_route_matrix.
__all__ = ["appliance", "people", "sampled_state", "samples", "visitor"]

IGNORED_TABLES = {"audit_events", "audit_head"}
IGNORED_COLUMNS = {"user_sessions": {"last_seen_at"}}
GETS = [path for method, path in ROUTES if method == "GET"]

Snapshot = dict[str, list[tuple[Any, ...]]]


def _tables(engine: Engine) -> MetaData:
    found = MetaData()
    found.reflect(bind=engine)
    declared = {table.name for table in SQLModel.metadata.sorted_tables}
    assert declared <= set(found.tables), "a model's table is missing from the database"
    return found


def snapshot(engine: Engine, tables: MetaData) -> Snapshot:
    rows: Snapshot = {}
    with engine.connect() as connection:
        for table in tables.sorted_tables:
            if table.name in IGNORED_TABLES:
                continue
            ignored = IGNORED_COLUMNS.get(table.name, set())
            columns = [c for c in table.columns if c.name not in ignored]
            found = connection.execute(select(*columns)).all()
            rows[table.name] = sorted((tuple(row) for row in found), key=repr)
    return rows


def _changes(before: Snapshot, after: Snapshot) -> dict[str, dict[str, list[Any]]]:
    return {
        name: {
            "gone": [row for row in before[name] if row not in after[name]],
            "new": [row for row in after[name] if row not in before[name]],
        }
        for name in before
        if before[name] != after[name]
    }


@pytest.mark.parametrize("path", GETS)
def test_a_get_changes_no_row(
    path: str,
    appliance: Appliance,
    samples: RouteSamples,
    visitor: Callable[[str], Browser],
) -> None:
    tables = _tables(appliance.engine)
    for who in allowed_visitors("GET", path):
        browser = visitor(who)
        for url in samples.every(path):
            before = snapshot(appliance.engine, tables)
            response = browser.get(url, follow_redirects=False)
            assert response.status_code < 500, f"GET {url} as {who}"
            after = snapshot(appliance.engine, tables)
            assert after == before, f"GET {url} as {who} changed: {_changes(before, after)}"


def test_every_route_that_can_change_state_is_post_only() -> None:
    """The app's own routes offer GET (with HEAD) or POST, never both and nothing else, and no
    handler serves both: with the test above, every state change goes through a POST, which the
    route guard checks for a CSRF token (test_route_matrix)."""
    by_method: dict[str, set[Callable[..., Any]]] = {"GET": set(), "POST": set()}
    for route in routes():
        if not isinstance(route, Route):
            continue  # the static files mount
        methods = (route.methods or set()) - {"HEAD"}
        assert methods in ({"GET"}, {"POST"}), f"{route.path} offers {sorted(methods)}"
        by_method[methods.pop()].add(route.endpoint)
    both = by_method["GET"] & by_method["POST"]
    assert not both, f"handlers reached by GET and by POST: {[e.__name__ for e in both]}"
