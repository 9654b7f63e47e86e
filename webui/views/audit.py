"""Auditor pages: the audit log (filtered, paginated, CSV) and emergency access grants."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from appliance.audit.queries import AuditFilter, FilterError, export_csv, search_events
from appliance.identity.emergency_access import list_grants
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


def _query_string(spec: AuditFilter, **extra: str | int) -> str:
    names = {"username": "user", "date_from": "from", "date_to": "to"}
    values = {names.get(k, k): v for k, v in spec.as_query().items()}
    values.update({k: str(v) for k, v in extra.items()})
    return urlencode(values)


@allow(Role.AUDITOR)
def audit_log(request: Request) -> Response:
    spec = _filter_of(request)
    page_param = request.query_params.get("page", "1")
    # ASCII digits only ("²".isdigit() is true, and int() refuses it) and a length int() accepts
    # (it refuses over 4300 digits); search_events clamps to the last page anyway.
    valid = page_param.isascii() and page_param.isdigit() and len(page_param) <= 9
    page = int(page_param) if valid else 1
    actor = current_actor(request)
    try:
        with appliance_of(request).unit_of_work() as db:
            events = search_events(db, actor, spec, page)
            active = [g for g in list_grants(db, actor) if g.active]
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
        grants = list_grants(db, current_actor(request))
    return render(request, "audit/emergency.html", {"grants": grants})
