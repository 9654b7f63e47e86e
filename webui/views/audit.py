"""Auditor pages: the audit log (filtered, paginated, CSV) and emergency access grants."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from appliance.audit.queries import AuditFilter, FilterError, export_csv, search_events
from appliance.identity.access_changes import ACCESS_CHANGES, DESCRIPTIONS, list_access_changes
from appliance.identity.emergency_access import list_grants
from appliance.numbers import whole_number
from appliance.roles import Role
from webui.auth import allow, current_actor
from webui.pages import render
from webui.views.app_state import appliance_of


def _filter_of(request: Request) -> AuditFilter:
    q = request.query_params
    return AuditFilter(
        username=q.get("user", "")[:64],
        action=q.get("action", "")[:48],
        outcome=q.get("outcome", "")[:8],
        date_from=q.get("from", "")[:10],
        date_to=q.get("to", "")[:10],
    )


def _page_number(request: Request) -> int:
    # The queries clamp to the last page anyway.
    return whole_number(request.query_params.get("page", "1")) or 1


def _query_string(spec: AuditFilter, **extra: str | int) -> str:
    names = {"username": "user", "date_from": "from", "date_to": "to"}
    values = {names.get(k, k): v for k, v in spec.as_query().items()}
    values.update({k: str(v) for k, v in extra.items()})
    return urlencode(values)


@allow(Role.AUDITOR)
def audit_log(request: Request) -> Response:
    spec = _filter_of(request)
    page = _page_number(request)
    actor = current_actor(request)
    try:
        with appliance_of(request).unit_of_work() as db:
            events = search_events(db, actor, spec, page)
            active = [g for g in list_grants(db, appliance_of(request).keys, actor) if g.active]
    except FilterError as error:
        return render(
            request, "audit/log.html", {"filter": spec, "error": str(error)}, status_code=400
        )
    return render(
        request,
        "audit/log.html",
        {
            "filter": spec,
            "events": events,
            "active_grants": active,
            "export_query": _query_string(spec),
            "prev_query": _query_string(spec, page=events.page - 1),
            "next_query": _query_string(spec, page=events.page + 1),
        },
    )


@allow(Role.AUDITOR)
def audit_export(request: Request) -> Response:
    spec = _filter_of(request)
    try:
        with appliance_of(request).unit_of_work() as db:
            body = export_csv(db, current_actor(request), spec)
    except FilterError as error:
        return render(
            request, "audit/log.html", {"filter": spec, "error": str(error)}, status_code=400
        )
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": 'attachment; filename="audit-log.csv"'},
    )


@allow(Role.AUDITOR)
def emergency_grants(request: Request) -> Response:
    with appliance_of(request).unit_of_work() as db:
        grants = list_grants(db, appliance_of(request).keys, current_actor(request))
    return render(request, "audit/emergency.html", {"grants": grants})


@allow(Role.AUDITOR)
def access_changes(request: Request) -> Response:
    with appliance_of(request).unit_of_work() as db:
        changes = list_access_changes(db, current_actor(request), _page_number(request))
    legend = [DESCRIPTIONS[action] for action in ACCESS_CHANGES]
    return render(request, "audit/access_changes.html", {"changes": changes, "legend": legend})
