"""Auditor pages: the audit log (filtered, paginated, CSV) and emergency access grants."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from appliance.audit.queries import AuditFilter, EventPage, FilterError, export_csv, search_events
from appliance.identity.emergency_access import GrantView, list_grants
from appliance.roles import Actor, Role
from appliance.runtime import Appliance
from webui.auth import allow, current_actor
from webui.pages import render


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


def _search(
    appliance: Appliance, actor: Actor, spec: AuditFilter, page: int
) -> tuple[EventPage, list[GrantView]]:
    with appliance.unit_of_work() as db:
        events = search_events(db, actor, spec, page)
        active = [g for g in list_grants(db, actor) if g.active]
        return events, active


@allow(Role.AUDITOR)
async def audit_log(request: Request) -> Response:
    spec = _filter_of(request)
    page_param = request.query_params.get("page", "1")
    page = int(page_param) if page_param.isdigit() else 1
    try:
        events, active = await run_in_threadpool(
            _search, request.app.state.appliance, current_actor(request), spec, page
        )
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


def _export(appliance: Appliance, actor: Actor, spec: AuditFilter) -> str:
    with appliance.unit_of_work() as db:
        return export_csv(db, actor, spec)


@allow(Role.AUDITOR)
async def audit_export(request: Request) -> Response:
    spec = _filter_of(request)
    try:
        body = await run_in_threadpool(
            _export, request.app.state.appliance, current_actor(request), spec
        )
    except FilterError as error:
        return render(
            request, "audit/log.html", {"filter": spec, "error": str(error)}, status_code=400
        )
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": 'attachment; filename="audit-log.csv"'},
    )


def _grants(appliance: Appliance, actor: Actor) -> list[GrantView]:
    with appliance.unit_of_work() as db:
        return list_grants(db, actor)


@allow(Role.AUDITOR)
async def emergency_grants(request: Request) -> Response:
    grants = await run_in_threadpool(_grants, request.app.state.appliance, current_actor(request))
    return render(request, "audit/emergency.html", {"grants": grants})
