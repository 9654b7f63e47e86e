"""Rendering: every page goes through `render`, which supplies the CSRF token and session timer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from appliance.db import read_only
from appliance.notes.queues import to_sign_count
from appliance.roles import Actor, Role
from webui.csrf import csrf_token, ensure_presession

TEMPLATES_DIR = Path(__file__).parent / "templates"

_environment = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)

# Fixed notices for redirects (?done=...); the query string never carries text to display.
NOTICES = {
    "password_changed": "Your password was changed. Sign in again with the new one.",
    "signed_out": "You are signed out.",
    "idle_timeout": "You were signed out after a period of inactivity.",
    "setup_done": "Your password is set. Sign in to continue.",
    "mfa_on": "Two-factor sign-in is on.",
    "client_created": "Client added.",
    "user_updated": "Account updated.",
    "settings_saved": "Settings saved.",
    "service_codes_saved": (
        "Service codes saved. New dictations offer this list; earlier ones keep their code."
    ),
    "template_saved": "Template saved. Clinicians can choose it for new dictations.",
    "template_retired": "Template retired. Dictations already submitted with it keep it.",
    "emergency_granted": "Emergency access granted. It is audited and ends on its own.",
    "emergency_revoked": "Emergency access revoked.",
    "signature_saved": "Signature line saved.",
    "note_saved": "Note saved.",
    "flag_acknowledged": "Flag acknowledged. It stays on the signed record as acknowledged.",
    "note_signed": "Note signed. The signed record can no longer change; correct it by addendum.",
    "addendum_signed": "Addendum signed and added to the record.",
    "note_cosigned": "Note co-signed: it is final.",
    "note_returned": "Note returned to the clinician with your comment.",
    "process_note_saved": "Psychotherapy notes saved (private to you).",
    "process_note_released": "Psychotherapy notes of this session released to your supervisor.",
    "process_note_withdrawn": "Release withdrawn: only you read these psychotherapy notes.",
    "client_deleted": "The client and all their records were deleted; their keys are shredded.",
    "approval_requested": (
        "Sent for approval: nothing changes until a second administrator approves it under "
        "Approvals."
    ),
    "request_approved": "Request approved: the change is made.",
    "request_rejected": "Request rejected: nothing changed.",
    "request_withdrawn": "Request withdrawn.",
}


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    status_code: int = 200,
    *,
    nav_counts: bool = True,
) -> HTMLResponse:
    """`nav_counts=False`: no database read for the navigation (pages about a database fault)."""
    signed_in = getattr(request.state, "signed_in", None)
    if not hasattr(request.state, "session_token"):
        # Errors raised before the session middleware ran: render without a session.
        request.state.session_token = None
        request.state.new_presession = None
    ensure_presession(request)
    values: dict[str, Any] = {
        "request": request,
        "csrf_token": csrf_token(request),
        "signed_in": signed_in,
        "actor": signed_in.actor if signed_in else None,
        "notice": NOTICES.get(request.query_params.get("done", "")),
        "idle_seconds": signed_in.live.seconds_left if signed_in else None,
        "idle_total_seconds": request.app.state.appliance.settings.idle_timeout_minutes * 60,
    }
    if nav_counts and signed_in and not signed_in.second_factor_pending:
        values["waiting_notes"] = _waiting_notes(request, signed_in.actor)
    values.update(context or {})
    body = _environment.get_template(template).render(values)
    return HTMLResponse(body, status_code=status_code)


def _waiting_notes(request: Request, actor: Actor) -> int:
    """The navigation's count: notes to sign (clinician) or to co-sign (supervisor)."""
    if actor.role not in (Role.CLINICIAN, Role.SUPERVISOR):
        return 0
    # Read-only: no write lock, and fine inside a view's own unit of work.
    with read_only(request.app.state.appliance.engine) as db:
        return to_sign_count(db, actor)


def error_page(request: Request, title: str, message: str, status_code: int) -> HTMLResponse:
    return render(request, "error.html", {"title": title, "message": message}, status_code)


def forbidden_page(request: Request) -> HTMLResponse:
    return error_page(request, "Not allowed", "Your role does not give access to this page.", 403)


def not_found_page(request: Request) -> HTMLResponse:
    return error_page(
        request, "Not found", "There is nothing here, or it is not yours to see.", 404
    )


def form_expired_page(request: Request) -> HTMLResponse:
    return error_page(
        request,
        "Form expired",
        "This form was stale or did not come from this appliance. "
        "Go back, reload the page and try again; nothing was changed.",
        403,
    )
