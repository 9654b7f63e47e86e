"""The Starlette application: the route table, middleware and error pages."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from prometheus_client import CollectorRegistry
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from appliance.access import AccessDenied, NotFound
from appliance.audit.metrics import AuditChainCollector
from appliance.faults import DatabaseError
from appliance.identity.access_change_metrics import AccessChangeCollector
from appliance.jobs.box_duties import BoxDuties
from appliance.jobs.metrics import JobCollector
from appliance.jobs.queue import Workers
from appliance.logging_setup import configure_logging
from appliance.notes.metrics import NoteCollector
from appliance.runtime import Appliance, open_appliance
from appliance.settings import load_settings
from webui.auth import SessionMiddleware
from webui.fault_pages import fault_response
from webui.pages import error_page, forbidden_page, not_found_page
from webui.request_middleware import SECURITY_HEADERS, RequestMiddleware
from webui.throttle import Throttle
from webui.views import (
    account,
    audit,
    client_deletion,
    clients,
    cosign,
    dictations,
    exports,
    health,
    home,
    login,
    metrics,
    note_copies,
    notes,
    process_notes,
    setup,
)
from webui.views.admin import approvals, emergency, status, templates, users
from webui.views.admin import settings as admin_settings

STATIC_DIR = Path(__file__).parent / "static"
logger = logging.getLogger("webui")


def routes() -> list[BaseRoute]:
    return [
        Route("/healthz", health.healthz, methods=["GET"]),
        Route("/metrics", metrics.metrics, methods=["GET"]),
        Route("/login", login.login_form, methods=["GET"]),
        Route("/login", login.login_submit, methods=["POST"]),
        Route("/login/mfa", login.mfa_form, methods=["GET"]),
        Route("/login/mfa", login.mfa_submit, methods=["POST"]),
        Route("/logout", login.logout, methods=["POST"]),
        Route("/session/keepalive", login.keepalive, methods=["POST"]),
        Route("/setup/{token}", setup.setup_form, methods=["GET"]),
        Route("/setup/{token}", setup.setup_submit, methods=["POST"]),
        Route("/", home.home, methods=["GET"]),
        Route("/account", account.account_page, methods=["GET"]),
        Route("/account/password", account.change_password, methods=["POST"]),
        Route("/account/signature-line", account.change_signature_line, methods=["POST"]),
        Route("/account/mfa", account.mfa_page, methods=["GET"]),
        Route("/account/mfa/start", account.mfa_start, methods=["POST"]),
        Route("/account/mfa/confirm", account.mfa_confirm, methods=["POST"]),
        Route("/clients", clients.client_list, methods=["GET"]),
        Route("/clients", clients.client_create, methods=["POST"]),
        Route("/clients/new", clients.client_new, methods=["GET"]),
        Route("/clients/{client_id}", clients.client_detail, methods=["GET"]),
        Route("/clients/{client_id}/dictations/new", dictations.dictation_new, methods=["GET"]),
        Route("/clients/{client_id}/dictations", dictations.dictation_create, methods=["POST"]),
        Route("/dictations/{dictation_id}", dictations.dictation_detail, methods=["GET"]),
        Route(
            "/dictations/{dictation_id}/status",
            dictations.dictation_status_json,
            methods=["GET"],
        ),
        Route("/dictations/{dictation_id}/retry", dictations.dictation_retry, methods=["POST"]),
        Route("/clients/{client_id}/recordings", dictations.recording_start, methods=["POST"]),
        Route("/dictations/{dictation_id}/chunks", dictations.recording_chunk, methods=["POST"]),
        Route("/dictations/{dictation_id}/stop", dictations.recording_stop, methods=["POST"]),
        Route("/dictations/{dictation_id}/live", dictations.recording_live_json, methods=["GET"]),
        Route("/dictations/{dictation_id}/review", notes.review_begin, methods=["POST"]),
        Route("/notes/to-sign", notes.to_sign, methods=["GET"]),
        # The copies first: "/notes/{note_id}" would otherwise match "abc.pdf" as an id.
        Route("/notes/{note_id}.pdf", note_copies.note_pdf, methods=["GET"]),
        Route("/notes/{note_id}.txt", note_copies.note_text, methods=["GET"]),
        Route("/notes/{note_id}/fhir.json", note_copies.note_fhir, methods=["GET"]),
        Route("/notes/{note_id}/copied", note_copies.note_copied, methods=["POST"]),
        Route("/notes/{note_id}", notes.note_detail, methods=["GET"]),
        Route("/notes/{note_id}", notes.note_save, methods=["POST"]),
        Route("/notes/{note_id}/flags/{flag_id}/ack", notes.flag_acknowledge, methods=["POST"]),
        Route("/notes/{note_id}/suggestions", notes.suggestion_accept, methods=["POST"]),
        Route("/notes/{note_id}/sign", notes.note_sign, methods=["POST"]),
        Route("/notes/{note_id}/addenda", notes.addendum_add, methods=["POST"]),
        Route("/notes/{note_id}/cosign", cosign.note_cosign, methods=["POST"]),
        Route("/notes/{note_id}/return", cosign.note_return, methods=["POST"]),
        Route("/cosign", cosign.cosign_list, methods=["GET"]),
        Route("/notes/{note_id}/process-note", process_notes.process_note_save, methods=["POST"]),
        Route(
            "/notes/{note_id}/process-note/release",
            process_notes.process_note_release,
            methods=["POST"],
        ),
        Route("/clients/{client_id}/export", exports.export_request, methods=["POST"]),
        Route("/exports/{export_id}", exports.export_detail, methods=["GET"]),
        Route("/exports/{export_id}/status", exports.export_status_json, methods=["GET"]),
        Route("/exports/{export_id}/download", exports.export_download, methods=["POST"]),
        Route(
            "/clients/{client_id}/delete", client_deletion.client_delete_confirm, methods=["GET"]
        ),
        Route("/clients/{client_id}/delete", client_deletion.client_delete, methods=["POST"]),
        Route("/admin/users", users.user_list, methods=["GET"]),
        Route("/admin/users", users.user_create, methods=["POST"]),
        Route("/admin/users/new", users.user_new, methods=["GET"]),
        Route("/admin/users/{user_id}", users.user_detail, methods=["GET"]),
        Route("/admin/users/{user_id}/disable", users.user_disable, methods=["POST"]),
        Route("/admin/users/{user_id}/enable", users.user_enable, methods=["POST"]),
        Route("/admin/users/{user_id}/end-sessions", users.user_end_sessions, methods=["POST"]),
        Route("/admin/users/{user_id}/unlock", users.user_unlock, methods=["POST"]),
        Route("/admin/users/{user_id}/reset-mfa", users.user_reset_mfa, methods=["POST"]),
        Route("/admin/users/{user_id}/setup-link", users.user_setup_link, methods=["POST"]),
        Route("/admin/users/{user_id}/supervisor", users.user_set_supervisor, methods=["POST"]),
        Route("/admin/users/{user_id}/cosign", users.user_set_cosign, methods=["POST"]),
        Route("/admin/settings", admin_settings.settings_page, methods=["GET"]),
        Route("/admin/settings", admin_settings.settings_save, methods=["POST"]),
        Route("/admin/settings/service-codes", admin_settings.service_codes_save, methods=["POST"]),
        Route("/admin/status", status.status_page, methods=["GET"]),
        Route("/admin/templates", templates.template_list, methods=["GET"]),
        Route("/admin/templates", templates.template_create, methods=["POST"]),
        Route("/admin/templates/new", templates.template_new, methods=["GET"]),
        Route("/admin/templates/{template_id}", templates.template_edit, methods=["GET"]),
        Route("/admin/templates/{template_id}", templates.template_update, methods=["POST"]),
        Route(
            "/admin/templates/{template_id}/retire",
            templates.template_retire,
            methods=["POST"],
        ),
        Route("/admin/emergency", emergency.emergency_page, methods=["GET"]),
        Route("/admin/emergency", emergency.emergency_grant, methods=["POST"]),
        Route("/admin/emergency/{grant_id}/revoke", emergency.emergency_revoke, methods=["POST"]),
        Route("/audit", audit.audit_log, methods=["GET"]),
        Route("/audit/export.csv", audit.audit_export, methods=["GET"]),
        Route("/audit/emergency", audit.emergency_grants, methods=["GET"]),
        Route("/audit/access-changes", audit.access_changes, methods=["GET"]),
        Route("/admin/approvals", approvals.approvals_page, methods=["GET"]),
        Route("/admin/approvals/{request_id}/approve", approvals.approve, methods=["POST"]),
        Route("/admin/approvals/{request_id}/reject", approvals.reject, methods=["POST"]),
        Route("/admin/approvals/{request_id}/withdraw", approvals.withdraw, methods=["POST"]),
        Mount("/static", app=StaticFiles(directory=STATIC_DIR), name="static"),
    ]


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return not_found_page(request)
    return PlainTextResponse(exc.detail, status_code=exc.status_code)


# The service layer's two refusals, wherever a view lets them through. A view catches one
# itself only where its answer differs: the dictation status poll (JSON) and a dictation sent
# for a read-only client (404, not 403), both in views/dictations.py.
async def _not_found(request: Request, exc: Exception) -> Response:
    return not_found_page(request)


async def _forbidden(request: Request, exc: Exception) -> Response:
    return forbidden_page(request)


async def _database_error(request: Request, exc: Exception) -> Response:
    # The database out of reach or full is the box's fault, said as such (503 / 507); any
    # other database error is a bug, for the 500 page.
    response = fault_response(request, exc)
    if response is None:
        raise exc
    return response


async def _server_error(request: Request, exc: Exception) -> Response:
    # The exception text may hold PHI from a failed query: log its type only, show a reference.
    request_id = getattr(request.state, "request_id", "unknown")
    logger.error("unhandled %s id=%s", type(exc).__name__, request_id)
    response = error_page(
        request,
        "Something went wrong",
        "The appliance could not finish this request. Nothing you entered was shared. "
        f"Try again; if it keeps happening, give your administrator this reference: {request_id}.",
        500,
    )
    # This handler answers outside RequestMiddleware, so it adds the same headers itself.
    response.headers.update(SECURITY_HEADERS)
    response.headers["cache-control"] = "no-store"
    response.headers["x-request-id"] = request_id
    return response


def create_app(
    appliance: Appliance, *, background_tasks: bool = False, processes: int = 1
) -> Starlette:
    """`background_tasks` starts the periodic tasks and the job workers (on for `appliance
    serve`, off for tests that drive the app directly). `processes`: how many web processes
    serve this database (`appliance serve --workers N`); with several, the background tasks run
    in one of them (appliance.jobs.box_duties) and the throttle keeps this one's share."""

    @asynccontextmanager
    async def lifespan(started_app: Starlette) -> AsyncIterator[None]:
        if not background_tasks:
            yield
            return

        def workers_started(workers: Workers) -> None:
            started_app.state.workers = workers

        duties = BoxDuties(appliance, elect=processes > 1, on_start=workers_started)
        duties.start()
        yield
        await duties.stop()

    app = Starlette(
        routes=routes(),
        middleware=[Middleware(RequestMiddleware), Middleware(SessionMiddleware)],
        # Run inside the middleware (unlike the 500 handler), so the security headers apply.
        exception_handlers={
            HTTPException: _http_error,
            NotFound: _not_found,
            AccessDenied: _forbidden,
            DatabaseError: _database_error,
            500: _server_error,
        },
        lifespan=lifespan,
    )
    app.state.appliance = appliance
    app.state.workers = None
    app.state.throttle = Throttle(
        appliance.settings.lockout_threshold, appliance.settings.lockout_minutes, processes
    )
    app.state.chain_registry = CollectorRegistry(auto_describe=True)
    app.state.chain_registry.register(AuditChainCollector(appliance.engine))
    app.state.chain_registry.register(JobCollector(appliance.engine))
    app.state.chain_registry.register(NoteCollector(appliance.engine, appliance.keys))
    app.state.chain_registry.register(AccessChangeCollector(appliance.engine))
    return app


def create_app_from_settings() -> Starlette:
    """The app of one of several `appliance serve --workers N` processes: uvicorn calls this
    factory in each process it starts. The settings come from the environment the parent left
    (which carries --workers as APPLIANCE_WEB_WORKERS); the parent has already migrated the
    database and checked the key files, so each process only opens them."""
    settings = load_settings()
    configure_logging(settings.log_level)
    appliance = open_appliance(settings, migrate=False)
    return create_app(appliance, background_tasks=True, processes=settings.web_workers)
